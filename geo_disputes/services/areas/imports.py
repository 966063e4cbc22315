"""Import real boundaries (GeoJSON, ESRI Shapefile, GeoPackage) into an area layer.

Modelled on mapit's `mapit_import`: nothing is saved unless `commit`; every feature is
checked and every problem named by row and code; invalid polygons are repaired only when
asked. Features are read with GDAL (CRS from the file or `source_srid`, GBK shapefiles via
their .cpg or `encoding`), staged in a temporary table, then validated and upserted with
set-based SQL inside one transaction, so any failure leaves the database as it was.
A village (grid) file without a township (village) field gets its parent code from its own code, as
counties hand them over (services/areas/layers.py), and the parent must exist. The cases whose links
the changed boundaries can affect are re-linked in the same transaction (services/areas/relink.py),
so boundaries and links never disagree; a dry run does all of it and reports what it would change.
"""

from __future__ import annotations

import codecs
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ctypes import c_char_p, c_void_p
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from django.contrib.gis.gdal import CoordTransform, DataSource, GDALException, OGRGeometry, SpatialReference
from django.contrib.gis.gdal.libgdal import lgdal
from django.contrib.gis.gdal.prototypes.generation import const_string_output
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from geo_disputes.models import Banner
from geo_disputes.services.areas.coords import Datum, DatumError, gcj02_to_wgs84, parse_datum
from geo_disputes.services.areas.layers import LAYERS, DerivedParent, Layer, UnknownLayer, get_layer
from geo_disputes.services.areas.relink import BoundaryChange, RelinkReport
from geo_disputes.services.sql import relaxed_commit

Progress = Callable[[int, int], None]

DRIVERS = {"GeoJSON": "GeoJSON", "ESRI Shapefile": "ESRI Shapefile", "GPKG": "GeoPackage"}
POLYGONAL = {"Polygon", "MultiPolygon", "Polygon25D", "MultiPolygon25D"}
STAGE_BATCH = 2000
MAX_LISTED_PROBLEMS = 50
# One boundary of more vertices is a mistake or an attack (a surveyed boundary has far fewer), and
# every locate, map layer and tile drawing it would carry the weight (issue 6: refused before the database).
MAX_VERTICES = 500_000
WGS84 = 4326
CGCS2000 = 4490


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or repaired) in the input, located as a user can find it again."""

    row: int | None
    code: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = [f"row {self.row}" if self.row is not None else "", f"code {self.code}" if self.code else ""]
        where.append(f"field {self.field}" if self.field else "")
        prefix = ", ".join(w for w in where if w)
        return f"{prefix}: {self.message}" if prefix else self.message


@dataclass(frozen=True)
class FeatureOutcome:
    """What the import did (or, in a dry run, would do) with one feature."""

    row: int
    code: str
    name: str
    action: str  # "insert", "update" (open version changed in place) or "new version"


@dataclass
class ImportReport:
    layer: str
    path: str
    source_layer: str
    source_crs: str
    encoding: str
    datum: str
    committed: bool
    features: list[FeatureOutcome] = field(default_factory=list)
    repaired: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)  # parent codes read off the codes, and how
    relink: RelinkReport | None = None  # the cases re-linked because boundaries changed (None: banner)

    def count(self, action: str) -> int:
        return sum(1 for f in self.features if f.action == action)


class AreaImportError(ValueError):
    """The input cannot be imported; `problems` names each row and field at fault."""

    def __init__(self, problems: list[Problem] | str, total: int | None = None):
        self.problems = [Problem(None, None, None, problems)] if isinstance(problems, str) else problems
        total = len(self.problems) if total is None else total
        lines = [str(p) for p in self.problems[:MAX_LISTED_PROBLEMS]]
        if total > len(lines):
            lines.append(f"... and {total - len(lines)} more")
        super().__init__("\n".join(lines))


def import_layer(
    layer: str,
    path: str | Path,
    *,
    mapping: dict[str, str] | None = None,
    source_layer: str | None = None,
    source_srid: int | None = None,
    datum: str | None = None,
    encoding: str | None = None,
    repair: bool = False,
    commit: bool = False,
    valid_from: dt.date | None = None,
    progress: Progress | None = None,
    progress_every: int = 1000,
) -> ImportReport:
    """Read `path` into `layer`, upserting by code; roll everything back unless `commit`.

    A feature whose code has an open version updates it in place, unless it starts later
    (`valid_from`, or its own mapped valid_from): then the open version is closed the day
    before and a new version inserted, so history is kept. Raises AreaImportError.
    """
    try:
        spec = get_layer(layer)
        parsed_datum = parse_datum(datum) if datum else None
    except (UnknownLayer, DatumError) as exc:
        raise AreaImportError(str(exc)) from None
    source = Path(path).expanduser()
    if not source.exists():
        raise AreaImportError(f"file not found: {source}")
    if encoding:
        _check_encoding(encoding)

    with _shape_encoding(encoding):
        ogr_source, ogr_layer = _open_layer(source, source_layer)
        source_fields = _field_names(ogr_layer)
    if len(ogr_layer) == 0:  # before the field mapping, whose complaints would hide this
        raise AreaImportError(f"{source.name} (layer {ogr_layer.name}) has no features")
    fields = resolve_mapping(spec, source_fields, mapping or {})
    derived = derived_parent(spec, fields)
    srs, crs_text = _source_srs(ogr_layer, source_srid, parsed_datum)
    report = ImportReport(
        layer=spec.name,
        path=str(source.resolve()),
        source_layer=ogr_layer.name,
        source_crs=crs_text,
        encoding=_encoding_text(ogr_source, ogr_layer, encoding),
        datum=(parsed_datum or Datum.WGS84).value,
        committed=commit,
    )
    if derived is not None:
        report.derived.append(
            f"{derived.field} derived from {derived.rule}: the file maps no {derived.field} field"
            f" (map one with --map {derived.field}=FIELD)"
        )
    if encoding and ogr_source.driver.name != "ESRI Shapefile":
        report.warnings.append(f"--encoding {encoding} ignored: {_driver_label(ogr_source)} text is always UTF-8")

    reader = _FeatureReader(spec, fields, srs, parsed_datum, valid_from, derived)
    try:
        with transaction.atomic():
            if commit:
                relaxed_commit()  # one transaction, re-run whole if lost (services.sql)
            stage = _Stage(spec, set(fields) | ({derived.field} if derived else set()))  # derived: written too
            for batch in _batches(reader.rows(ogr_layer, progress, progress_every), STAGE_BATCH):
                stage.add(batch)
            if reader.problems:
                raise AreaImportError(reader.problems, reader.problem_count)
            if reader.count == 0:
                raise AreaImportError(f"{source.name} (layer {ogr_layer.name}) has no features")
            report.repaired = stage.check_geometries(repair)
            if derived is not None:
                stage.check_parents(derived)
            stage.plan()
            change = BoundaryChange(spec, "SELECT code FROM area_import")
            stage.apply()
            report.features = stage.outcomes()
            report.warnings.extend(stage.outside_banner())
            if change.watched:  # same transaction: links and boundaries never disagree
                report.relink = change.relink()
            stage.drop()
            if not commit:
                transaction.set_rollback(True)
    except DatabaseError as exc:
        raise AreaImportError(f"the database refused the import: {exc}".strip()) from exc
    return report


def resolve_mapping(spec: Layer, source_fields: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """Model field -> source field: the explicit `mapping`, then same-named fields (any case)."""
    problems = [
        Problem(None, None, target, f"unknown field for layer {spec.name}; importable: {', '.join(spec.fields)}")
        for target in mapping
        if target not in spec.fields
    ]
    problems += [
        Problem(None, None, target, f"source field {src!r} is not in the file; it has: {', '.join(source_fields)}")
        for target, src in mapping.items()
        if target in spec.fields and src not in source_fields
    ]
    by_lower = {name.lower(): name for name in source_fields}
    resolved = dict(mapping)
    for target in spec.fields:
        if target not in resolved and target.lower() in by_lower:
            resolved[target] = by_lower[target.lower()]
    problems += [
        Problem(None, None, target, f"no source field; map one with --map {target}=FIELD ({', '.join(source_fields)})")
        for target in _required_fields(spec)
        if target not in resolved
    ]
    if problems:
        raise AreaImportError(problems)
    return resolved


def derived_parent(spec: Layer, fields: dict[str, str]) -> DerivedParent | None:
    """The parent code to read off each feature's code: the layer has a rule and no field is mapped to it."""
    rule = spec.derived_parent
    return rule if rule is not None and rule.field not in fields else None


def _required_fields(spec: Layer) -> list[str]:
    """Fields a new boundary cannot do without: no default, not blank and not derivable (code, name)."""
    derivable = spec.derived_parent.field if spec.derived_parent else None
    return [
        name
        for name in spec.fields
        if not spec.model._meta.get_field(name).blank
        and not spec.model._meta.get_field(name).has_default()
        and name not in ("valid_to", derivable)
    ]


# --- reading the file ---------------------------------------------------------------------------------------------

_set_thread_config = lgdal.CPLSetThreadLocalConfigOption
_set_thread_config.argtypes = [c_char_p, c_char_p]
_set_thread_config.restype = None
_metadata_item = const_string_output(lgdal.GDALGetMetadataItem, [c_void_p, c_char_p, c_char_p], decoding="utf-8")


class _Collect(logging.Handler):
    def __init__(self, into: list[str]):
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        message = record.args[-1] if record.args else record.getMessage()  # "GDAL_ERROR %d: %s", number, bytes
        self.into.append(message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message))


@contextmanager
def _gdal_errors() -> Iterator[list[str]]:
    """The messages GDAL reports meanwhile (Django's GDAL error handler logs them to django.contrib.gis)."""
    errors: list[str] = []
    handler = _Collect(errors)
    logger = logging.getLogger("django.contrib.gis")
    logger.addHandler(handler)
    try:
        yield errors
    finally:
        logger.removeHandler(handler)


@contextmanager
def _shape_encoding(encoding: str | None) -> Iterator[None]:
    """Have GDAL recode shapefile text (values and field names) from `encoding` to UTF-8, overriding a .cpg."""
    if not encoding:
        yield
        return
    _set_thread_config(b"SHAPE_ENCODING", encoding.upper().encode("ascii"))
    try:
        yield
    finally:
        _set_thread_config(b"SHAPE_ENCODING", None)


def _check_encoding(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
        encoding.encode("ascii")
    except (LookupError, UnicodeEncodeError):
        raise AreaImportError(f"unknown encoding {encoding!r} (try gbk, gb18030 or utf-8)") from None


def _open_layer(source: Path, source_layer: str | None):
    try:
        with _gdal_errors() as errors:  # e.g. the GeoJSON driver's "object too complex/large"
            ogr_source = DataSource(str(source))
    except GDALException:
        raise AreaImportError(
            f"cannot read {source}: GDAL does not recognise it as GeoJSON, ESRI Shapefile or GeoPackage"
            + "".join(f"\n  GDAL: {e}" for e in errors)
        ) from None
    if ogr_source.driver.name not in DRIVERS:
        raise AreaImportError(f"{source} is {ogr_source.driver.name}; use GeoJSON, ESRI Shapefile or GeoPackage")
    names = [lyr.name for lyr in ogr_source]
    if source_layer is None:
        if len(names) != 1:
            raise AreaImportError(f"{source.name} has {len(names)} layers; pick one with --source-layer ({names})")
        return ogr_source, ogr_source[0]
    if source_layer not in names:
        raise AreaImportError(f"{source.name} has no layer {source_layer!r}; it has: {', '.join(names)}")
    return ogr_source, ogr_source[source_layer]


def _field_names(ogr_layer) -> list[str]:
    try:
        return list(ogr_layer.fields)
    except UnicodeDecodeError:
        raise AreaImportError(_not_utf8("field names are")) from None


def _not_utf8(what: str, row: int | None = None, code: str | None = None, name: str | None = None) -> Problem | str:
    message = f"{what} not UTF-8 and the file names no encoding (.cpg); pass --encoding gbk (or the real one)"
    return Problem(row, code, name, message) if row is not None else message


def _source_srs(ogr_layer, source_srid: int | None, datum: Datum | None) -> tuple[SpatialReference, str]:
    """The source CRS: `source_srid` over the file's own; a bare lon/lat file needs a datum or SRID."""
    if source_srid is not None:
        try:
            srs, origin = SpatialReference(source_srid), "--srid"
        except (GDALException, TypeError):
            raise AreaImportError(f"unknown SRID {source_srid}") from None
    elif ogr_layer.srs is not None:
        srs, origin = ogr_layer.srs, "the file"
    elif datum is not None:
        srs, origin = SpatialReference(CGCS2000 if datum is Datum.CGCS2000 else WGS84), f"--datum {datum.value}"
    else:
        raise AreaImportError(f"the file has no CRS (.prj); pass --srid N{_srid_hint(ogr_layer)}")
    if datum is Datum.GCJ02 and not srs.geographic:
        raise AreaImportError(f"--datum gcj02 applies to longitude/latitude data, not to {srs.name}")
    code = f"EPSG:{srs.srid} " if srs.srid else ""
    return srs, f"{code}{srs.name} (from {origin})"


def _srid_hint(ogr_layer) -> str:
    """Survey shapefiles without a .prj are usually CGCS2000 Gauss-Krüger; guess from the eastings."""
    try:
        minx, _, maxx, _ = ogr_layer.extent.tuple
    except GDALException:
        return ""
    if 37_000_000 <= minx <= maxx < 38_000_000:
        return " (eastings with zone prefix 37 suggest --srid 4525)"
    if 100_000 <= minx <= maxx < 900_000:
        return " (eastings without zone prefix near 111°E suggest --srid 4546)"
    if -180 <= minx <= maxx <= 180:
        return " (degrees suggest --srid 4326, or --datum gcj02 for AMap/Tencent data)"
    return ""


def _encoding_text(ogr_source, ogr_layer, encoding: str | None) -> str:
    if ogr_source.driver.name != "ESRI Shapefile":
        return "UTF-8"
    if encoding:
        return f"{encoding.upper()} (--encoding)"
    detected = _metadata_item(ogr_layer.ptr, b"SOURCE_ENCODING", b"SHAPEFILE")
    return f"{detected} (from .cpg/.dbf)" if detected else "UTF-8 (no .cpg)"


def _driver_label(ogr_source) -> str:
    return DRIVERS.get(ogr_source.driver.name, ogr_source.driver.name)


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _FeatureReader:
    """Turns OGR features into clean row dicts (model values + WGS84 WKB), collecting problems."""

    def __init__(
        self,
        spec: Layer,
        fields: dict[str, str],
        srs: SpatialReference,
        datum: Datum | None,
        valid_from: dt.date | None,
        derived: DerivedParent | None = None,
    ):
        self.spec, self.fields, self.datum, self.valid_from = spec, fields, datum, valid_from
        self.derived = derived
        wgs84 = SpatialReference(WGS84)
        self.transform = None if srs.srid == WGS84 else CoordTransform(srs, wgs84)
        self.srs_name = srs.name
        self.model_fields = {name: spec.model._meta.get_field(name) for name in spec.fields}
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.count = 0
        self.seen_codes: dict[str, int] = {}

    def rows(self, ogr_layer, progress: Progress | None, every: int) -> Iterator[dict[str, Any]]:
        total = len(ogr_layer)
        for row, feature in enumerate(ogr_layer, start=1):
            self.count = row
            problems_before = self.problem_count
            values = self._values(row, feature)
            wkb = self._geometry(row, values.get("code"), feature)
            if self.problem_count == problems_before:
                yield {**values, "row_no": row, "wkb": wkb}
            if progress and row % every == 0:
                progress(row, total)
        if progress and self.count % every:
            progress(self.count, total)

    def _problem(self, row: int, code: str | None, name: str | None, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(Problem(row, code, name, message))

    def _values(self, row: int, feature) -> dict[str, Any]:
        values: dict[str, Any] = {}
        code = self._text(row, None, "code", feature)
        for name, model_field in self.model_fields.items():
            if name not in self.fields:
                values[name] = None if name in ("valid_from", "valid_to") else model_field.get_default()
                continue
            raw = self._text(row, code, name, feature) if name != "code" else code
            if raw is None and name not in ("valid_from", "valid_to"):
                if not (model_field.has_default() or model_field.blank):
                    self._problem(row, code, name, f"missing (source field {self.fields[name]})")
                    continue
                raw = model_field.get_default()
            try:
                values[name] = None if raw is None else model_field.clean(_choice(model_field, raw), None)
            except ValidationError as exc:
                self._problem(row, code, name, f"{raw!r}: {' '.join(exc.messages)}")
        if self.derived is not None and code is not None:
            self._derive(row, code, values)
        if self.valid_from is not None:
            values["valid_from"] = self.valid_from
        if values.get("valid_to") and values.get("valid_from") and values["valid_to"] < values["valid_from"]:
            self._problem(row, code, "valid_to", f"{values['valid_to']} is before valid_from {values['valid_from']}")
        if code is not None:
            first = self.seen_codes.setdefault(code, row)
            if first != row:
                self._problem(row, code, "code", f"duplicate of row {first}")
        return values

    def _derive(self, row: int, code: str, values: dict[str, Any]) -> None:
        """The parent code from the area's own code, or a problem naming the field that could not be filled."""
        rule = self.derived
        if re.fullmatch(rule.pattern, code):
            values[rule.field] = code[: rule.digits]
            return
        self._problem(
            row,
            code,
            rule.field,
            f"not mapped, and cannot be derived from {rule.rule}: code {code!r} does not have that form;"
            f" map one with --map {rule.field}=FIELD",
        )

    def _text(self, row: int, code: str | None, name: str, feature) -> Any:
        """The source value: strings stripped ('' = missing), whole-number floats as integers (codes)."""
        try:
            value = feature[self.fields[name]].value
        except UnicodeDecodeError:
            raise AreaImportError([_not_utf8("text is", row, code, name)]) from None
        if isinstance(value, str):
            value = value.strip() or None
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        if name == "code" and value is not None:
            value = str(value)
        return value

    def _geometry(self, row: int, code: str | None, feature) -> str | None:
        """Hex WKB in WGS84, or None after recording why the feature's geometry cannot be used."""
        try:
            geom: OGRGeometry = feature.geom
        except GDALException:
            self._problem(row, code, "geom", "no geometry")
            return None
        if geom.geom_type.name not in POLYGONAL:
            self._problem(row, code, "geom", f"{geom.geom_type.name}; a {self.spec.name} boundary must be polygonal")
            return None
        if geom.empty:
            self._problem(row, code, "geom", "empty geometry")
            return None
        vertices = geom.point_count
        if vertices > MAX_VERTICES:
            self._problem(
                row,
                code,
                "geom",
                f"{vertices} vertices, more than {MAX_VERTICES} in one boundary: simplify it first"
                " (e.g. ogr2ogr -simplify 0.5 in metres of a projected CRS)",
            )
            return None
        try:  # GEOS refuses what OGR reads leniently: unclosed rings, rings of fewer than four points
            shapely.from_wkb(bytes(geom.wkb))
        except shapely.errors.GEOSException as exc:
            self._problem(row, code, "geom", f"not a valid polygon: {exc}")
            return None
        if self.transform is not None:
            try:
                geom.transform(self.transform)
            except GDALException:
                self._problem(row, code, "geom", f"cannot transform from {self.srs_name} to WGS84")
                return None
        minx, miny, maxx, maxy = geom.extent
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            self._problem(row, code, "geom", f"lands off the globe from {self.srs_name}: is the source SRID right?")
            return None
        if self.datum is Datum.GCJ02:
            shifted = shapely.transform(shapely.from_wkb(bytes(geom.wkb)), _gcj02_to_wgs84_array)
            return shapely.to_wkb(shifted, hex=True)
        return bytes(geom.wkb).hex()


def _choice(model_field, raw: Any) -> Any:
    """Accept a choice by its code or its Chinese label (镇 for town, 草地 for grassland)."""
    if not model_field.choices or not isinstance(raw, str):
        return raw
    for value, label in model_field.choices:
        if raw in (value, str(label)) or raw.lower() == value:
            return value
    return raw


def _gcj02_to_wgs84_array(coords: np.ndarray) -> np.ndarray:
    return np.array([gcj02_to_wgs84(lon, lat) for lon, lat in coords]).reshape(coords.shape)


# --- staging and the set-based upsert ----------------------------------------------------------------------------


def _sql(template: str, **identifiers: str) -> str:
    """Fill SQL identifiers. Only names from the layer registry and model meta reach here; values are parameters."""
    return template.format(**identifiers)


class _Stage:
    """A temporary table of the features read, where validity, plan and upsert are set-based SQL."""

    def __init__(self, spec: Layer, mapped: set[str]):
        self.spec = spec
        self.model_fields = [spec.model._meta.get_field(name) for name in spec.fields]
        quote = connection.ops.quote_name
        self.table = quote(spec.table)
        self.columns = [quote(f.column) for f in self.model_fields]
        self.types = [f.db_type(connection) for f in self.model_fields]
        self.banner_table = quote(Banner._meta.db_table)
        # An update in place changes only what the file carries; the code and start date identify the version.
        self.update_columns = [
            c
            for f, c in zip(self.model_fields, self.columns, strict=True)
            if f.name in mapped and f.name not in ("code", "valid_from")
        ]
        self.default_from = spec.model._meta.get_field("valid_from").get_default()
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.area_import")
            cursor.execute(
                _sql(
                    "CREATE TEMP TABLE area_import (row_no integer PRIMARY KEY, {columns}, geom geometry,"
                    " action text, target_id bigint, open_from date) ON COMMIT DROP",
                    columns=", ".join(f"{c} {t}" for c, t in zip(self.columns, self.types, strict=True)),
                )
            )

    def add(self, rows: list[dict[str, Any]]) -> None:
        names = [f.name for f in self.model_fields]
        arrays = [[r["row_no"] for r in rows], *[[r[n] for r in rows] for n in names], [r["wkb"] for r in rows]]
        casts = ", ".join(f"%s::{t}[]" for t in ["integer", *self.types, "text"])
        with connection.cursor() as cursor:
            cursor.execute(
                _sql(
                    "INSERT INTO area_import (row_no, {columns}, geom)"
                    " SELECT u.row_no, {u_columns}, ST_Force2D(ST_GeomFromWKB(decode(u.wkb, 'hex'), 4326))"
                    " FROM unnest({casts}) AS u(row_no, {columns}, wkb)",
                    columns=", ".join(self.columns),
                    u_columns=", ".join(f"u.{c}" for c in self.columns),
                    casts=casts,
                ),
                arrays,
            )

    def check_geometries(self, repair: bool) -> list[Problem]:
        """GEOS's reason for each invalid polygon; with `repair`, MakeValid keeping the polygonal parts."""
        with connection.cursor() as cursor:
            if not repair:
                cursor.execute(
                    "SELECT row_no, code, ST_IsValidReason(geom) FROM area_import"
                    " WHERE NOT ST_IsValid(geom) ORDER BY row_no"
                )
                invalid = [
                    Problem(r, c, "geom", f"invalid polygon: {why}; re-run with --repair") for r, c, why in cursor
                ]
                if invalid:
                    raise AreaImportError(invalid)
                return []
            cursor.execute(
                "WITH bad AS (SELECT row_no, ST_IsValidReason(geom) AS reason"
                " FROM area_import WHERE NOT ST_IsValid(geom))"
                " UPDATE area_import s SET geom = ST_CollectionExtract(ST_MakeValid(s.geom), 3)"
                " FROM bad WHERE s.row_no = bad.row_no"
                " RETURNING s.row_no, s.code, bad.reason, ST_NumGeometries(s.geom), ST_IsEmpty(s.geom)"
            )
            results = sorted(cursor.fetchall())
        lost = [
            Problem(r, c, "geom", f"invalid polygon ({why}) has no area to keep") for r, c, why, _, e in results if e
        ]
        if lost:
            raise AreaImportError(lost)
        return [Problem(r, c, "geom", f"repaired {why} -> {n} polygon(s)") for r, c, why, n, _ in results]

    def check_parents(self, rule: DerivedParent) -> None:
        """A derived parent code must name an existing area (any version): else the row and field are named."""
        with connection.cursor() as cursor:
            cursor.execute(
                _sql(
                    "SELECT s.row_no, s.code, s.{column} FROM area_import s WHERE NOT EXISTS"
                    " (SELECT 1 FROM {parent} p WHERE p.code = s.{column}) ORDER BY s.row_no",
                    column=connection.ops.quote_name(rule.field),
                    parent=connection.ops.quote_name(LAYERS[rule.parent].table),
                )
            )
            missing = cursor.fetchall()
        if missing:
            raise AreaImportError(
                [
                    Problem(
                        row,
                        code,
                        rule.field,
                        f"{parent} (derived from {rule.rule}) is not in {rule.parent}: import the {rule.parent}"
                        f" first, or map the field with --map {rule.field}=FIELD",
                    )
                    for row, code, parent in missing[:MAX_LISTED_PROBLEMS]
                ],
                len(missing),
            )

    def plan(self) -> None:
        """Match each feature with the open version of its code: update it, supersede it, or insert."""
        with connection.cursor() as cursor:
            cursor.execute(
                _sql(
                    "UPDATE area_import s SET target_id = t.id, open_from = t.valid_from, action = CASE"
                    " WHEN s.valid_from IS NULL OR s.valid_from = t.valid_from THEN 'update'"
                    " WHEN s.valid_from > t.valid_from THEN 'new version' ELSE 'conflict' END"
                    " FROM {table} t WHERE t.code = s.code AND t.valid_to IS NULL",
                    table=self.table,
                )
            )
            cursor.execute("UPDATE area_import SET action = 'insert' WHERE action IS NULL")
            cursor.execute(
                "SELECT row_no, code, valid_from, open_from FROM area_import WHERE action = 'conflict' ORDER BY row_no"
            )
            problems = [
                Problem(r, c, "valid_from", f"{start} is before the version in force since {open_from}")
                for r, c, start, open_from in cursor
            ]
            cursor.execute(
                _sql(
                    "SELECT s.row_no, s.code, t.valid_from, t.valid_to FROM area_import s JOIN {table} t"
                    " ON t.code = s.code AND t.id IS DISTINCT FROM s.target_id"
                    " WHERE s.action IN ('insert', 'new version')"
                    " AND daterange(t.valid_from, t.valid_to, '[]')"
                    " && daterange(COALESCE(s.valid_from, %s), s.valid_to, '[]') ORDER BY s.row_no",
                    table=self.table,
                ),
                [self.default_from],
            )
            problems += [
                Problem(r, c, "valid_from", f"overlaps the version valid {start} to {end or 'now'}")
                for r, c, start, end in cursor
            ]
        if problems:
            raise AreaImportError(problems)

    def apply(self) -> None:
        """Close superseded versions, update open ones in place, insert the rest: three statements."""
        with connection.cursor() as cursor:
            cursor.execute(
                _sql(
                    "UPDATE {table} t SET valid_to = s.valid_from - 1 FROM area_import s"
                    " WHERE s.action = 'new version' AND t.id = s.target_id",
                    table=self.table,
                )
            )
            cursor.execute(
                _sql(
                    "UPDATE {table} t SET {assignments}geom = ST_Multi(s.geom) FROM area_import s"
                    " WHERE s.action = 'update' AND t.id = s.target_id",
                    table=self.table,
                    assignments="".join(f"{c} = s.{c}, " for c in self.update_columns),
                )
            )
            cursor.execute(
                _sql(
                    "INSERT INTO {table} ({columns}, geom) SELECT {values}, ST_Multi(s.geom) FROM area_import s"
                    " WHERE s.action IN ('insert', 'new version') ORDER BY s.row_no",
                    table=self.table,
                    columns=", ".join(self.columns),
                    values=", ".join(
                        "COALESCE(s.valid_from, %s)" if c == connection.ops.quote_name("valid_from") else f"s.{c}"
                        for c in self.columns
                    ),
                ),
                [self.default_from],
            )

    def outcomes(self) -> list[FeatureOutcome]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT row_no, code, name, action FROM area_import ORDER BY row_no")
            return [FeatureOutcome(*row) for row in cursor]

    def outside_banner(self) -> list[str]:
        """A cheap guard against a wrong SRID or datum: features that miss the banner outline entirely."""
        if self.spec.name == "banner":
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                _sql(
                    "SELECT count(*) FROM area_import s WHERE EXISTS (SELECT 1 FROM {banner} WHERE valid_to IS NULL)"
                    " AND NOT EXISTS (SELECT 1 FROM {banner} b"
                    " WHERE b.valid_to IS NULL AND ST_Intersects(b.geom, s.geom))",
                    banner=self.banner_table,
                )
            )
            (outside,) = cursor.fetchone()
        return [f"{outside} feature(s) lie outside the banner outline: check --srid / --datum"] if outside else []

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE area_import")
