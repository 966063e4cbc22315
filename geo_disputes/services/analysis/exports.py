"""Export a boundary layer as it stood on a date: GeoJSON built by PostGIS, GeoPackage by ogr2ogr.

PostGIS writes the whole FeatureCollection in one query (no per-object serialising),
in WGS84 with no `crs` member and counter-clockwise outer rings, as RFC 7946 asks. The
GeoPackage is converted from that same GeoJSON, so both formats carry identical data.
Property names are the import field names, so an export can be imported back as is.
Personal data (parcel holders, grid workers) stays out unless asked for, and is audited.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

from geo_disputes.models import PersonalDataAccess
from geo_disputes.services.areas.layers import Layer, UnknownLayer, get_layer

FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}
COORDINATE_DECIMALS = 7  # about 1 cm


@dataclass(frozen=True)
class ExportReport:
    layer: str
    path: str
    format: str
    on: dt.date
    features: int
    personal_data: bool


class AreaExportError(ValueError):
    """The export cannot be written where or how it was asked."""


def layer_geojson(layer: str, on: dt.date | None = None, *, personal_data: bool = False) -> tuple[str, int]:
    """The layer's boundaries in force on `on` (today by default) as GeoJSON text, and their count."""
    spec = _layer(layer)
    on = on or dt.date.today()
    in_force_sql, in_force_params = spec.model.objects.in_force(on).order_by().values("id").query.sql_with_params()
    quote = connection.ops.quote_name
    properties = ", ".join(
        f"'{name}', t.{quote(spec.model._meta.get_field(name).column)}"
        for name in _exported_fields(spec, personal_data)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(
                "SELECT json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg("
                "json_build_object('type', 'Feature', 'id', t.code,"
                " 'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(t.geom), %s)::json,"
                " 'properties', json_build_object({properties})) ORDER BY t.code, t.valid_from), '[]'::json))::text,"
                " count(*) FROM {table} t WHERE t.id IN ({in_force})",
                table=quote(spec.table),
                properties=properties,
                in_force=in_force_sql,
            ),
            [COORDINATE_DECIMALS, *in_force_params],
        )
        text, count = cursor.fetchone()
    return text, count


def export_layer(
    layer: str,
    path: str | Path,
    *,
    on: dt.date | None = None,
    force: bool = False,
    personal_data: bool = False,
) -> ExportReport:
    """Write the layer as of `on` to `path` (.geojson or .gpkg); refuse to overwrite unless `force`."""
    spec = _layer(layer)
    on = on or dt.date.today()
    target = Path(path).expanduser().resolve()
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise AreaExportError(f"{target}: unknown format; name the file .geojson or .gpkg")
    if not target.parent.is_dir():
        raise AreaExportError(f"{target.parent} is not a directory")
    if target.exists() and not force:
        raise AreaExportError(f"{target} exists; pass --force to overwrite it")
    text, count = layer_geojson(spec.name, on, personal_data=personal_data)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as scratch:
        geojson = Path(scratch) / f"{spec.name}.geojson"
        geojson.write_text(text, encoding="utf-8")
        written = geojson if fmt == "GeoJSON" else _geopackage(geojson, Path(scratch) / "out.gpkg", spec, personal_data)
        os.replace(written, target)
    if personal_data:
        PersonalDataAccess.objects.create(purpose=f"export {spec.name} with personal data"[:60])
    return ExportReport(spec.name, str(target), fmt, on, count, personal_data)


def _layer(name: str) -> Layer:
    try:
        return get_layer(name)
    except UnknownLayer as exc:
        raise AreaExportError(str(exc)) from None


def _exported_fields(spec: Layer, personal_data: bool) -> list[str]:
    fields = [f for f in spec.fields if personal_data or f not in spec.personal_fields]
    return [*fields, *spec.derived_fields]


def _geopackage(geojson: Path, out: Path, spec: Layer, personal_data: bool) -> Path:
    """Convert with ogr2ogr: one MultiPolygon layer in EPSG:4326, named like the layer."""
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None:
        raise AreaExportError("ogr2ogr not found; install gdal-bin to write GeoPackages")
    layer_name = spec.name.replace("-", "_")
    # -select keeps only the attributes: GDAL would otherwise add the feature id (the code) as a second column.
    fields = ",".join(_exported_fields(spec, personal_data))
    command = [ogr2ogr, "-f", "GPKG", "-nln", layer_name, "-nlt", "MULTIPOLYGON", "-a_srs", "EPSG:4326"]
    result = subprocess.run(  # noqa: S603 - fixed binary, paths we created, no shell
        [*command, "-select", fields, str(out), str(geojson)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AreaExportError(f"ogr2ogr failed: {result.stderr.strip()}")
    return out


def _sql(template: str, **identifiers: str) -> str:
    """Fill SQL identifiers and Django-generated SQL; values stay parameters."""
    return template.format(**identifiers)
