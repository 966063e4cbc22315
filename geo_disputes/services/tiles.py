"""Mapbox Vector Tiles of the area layers and the cases, built by PostGIS (`ST_AsMVT`), never object by object.

A tile is the web-mercator square z/x/y (`ST_TileEnvelope`); its features are clipped to it with a 64-unit buffer
(4096 units a side) so outlines join across tiles. The same rules as the GeoJSON layers and the case list apply,
from the same places: an area layer's properties are `geojson.LAYERS`' (holders never; contract numbers only for
the roles that handle cases, `access.can_read_contract_numbers`), the versions in force today; the cases are
`access.visible_cases(user)` at the point the user may see (`location_as_seen`: exact for handlers, the 500 m grid
point for others) with codes only — category, status, tier, reference — no text.

Which may be cached (the view's headers): an area tile is the same for every reader of a role-view, so it carries
an ETag and may be kept privately for five minutes; a case tile depends on the reader's scope and is never stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

from django.contrib.gis.geos import Polygon
from django.db import connections

from geo_disputes.services.cases.access import can_read_contract_numbers, location_as_seen, visible_cases
from geo_disputes.services.cases.case_queries import COARSE_MARGIN_DEG
from geo_disputes.services.geojson import LAYERS
from geo_disputes.services.ops.replica import read_alias
from geo_disputes.services.sql import compiled

EXTENT, BUFFER = 4096, 64
MAX_ZOOM = 22
# Below these zooms a layer's tile would hold too many features to draw (a county's parcels at z 8): empty.
MIN_ZOOM = {"parcels": 12, "grids": 10, "cases": 0}
# Tile layer name → geojson.LAYERS key (the influence zones are the mining areas' second geometry).
AREA_TILES = {
    "townships": "townships",
    "villages": "villages",
    "grids": "grids",
    "mining-areas": "mining-areas",
    "influence-zones": "mining-zones",
    "parcels": "parcels",
}
TILE_LAYERS = (*AREA_TILES, "cases")
CASE_PROPERTIES = ("reference", "category", "status", "tier")


class TileError(ValueError):
    """A tile address out of range, or an unknown layer (`status` 400 or 404)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Tile:
    data: bytes
    cacheable: bool  # the same bytes for everyone with this role-view: ETag and a private max-age

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.data).hexdigest()[:32] + '"'


def check_address(layer: str, z: int, x: int, y: int) -> None:
    if layer not in TILE_LAYERS:
        raise TileError(f"无此图层 / unknown layer {layer!r}; layers: {', '.join(TILE_LAYERS)}", 404)
    if not 0 <= z <= MAX_ZOOM:
        raise TileError(f"z: 0–{MAX_ZOOM}")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise TileError(f"x, y: 0–{2**z - 1} at z {z}")


def tile(user, layer: str, z: int, x: int, y: int, on: dt.date | None = None) -> Tile:
    """The tile's bytes (empty when nothing lies in it or the zoom is below the layer's minimum)."""
    check_address(layer, z, x, y)
    if z < MIN_ZOOM.get(layer, 0):
        return Tile(b"", cacheable=layer != "cases")
    if layer == "cases":
        return Tile(_case_tile(user, z, x, y), cacheable=False)
    return Tile(_area_tile(user, AREA_TILES[layer], layer, z, x, y, on or dt.date.today()), cacheable=True)


def _area_tile(user, key: str, name: str, z: int, x: int, y: int, on: dt.date) -> bytes:
    spec = LAYERS[key]
    hide = () if can_read_contract_numbers(user) else ("contract_no",)
    props = ", ".join(f"t.{p}" for p in spec.properties if p not in hide and p != "id")
    sql = f"""
        WITH bounds AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS merc)
        SELECT ST_AsMVT(mvt, %(name)s, {EXTENT}, 'geom') FROM (
            SELECT {props},
                   ST_AsMVTGeom(ST_Transform(t.{spec.geometry}, 3857), bounds.merc, {EXTENT}, {BUFFER}, true) AS geom
            FROM {spec.table} t, bounds
            WHERE t.{spec.geometry} && ST_Transform(bounds.merc, 4326)
              AND t.valid_from <= %(on)s AND (t.valid_to IS NULL OR t.valid_to >= %(on)s)
        ) mvt WHERE mvt.geom IS NOT NULL
    """  # noqa: S608 — names from the LAYERS registry, values are parameters
    with connections[read_alias()].cursor() as cur:
        cur.execute(sql, {"z": z, "x": x, "y": y, "name": name, "on": on})
        row = cur.fetchone()
    return bytes(row[0]) if row and row[0] else b""


def _case_tile(user, z: int, x: int, y: int) -> bytes:
    west, south, east, north = _tile_bounds_wgs84(z, x, y)
    margin = COARSE_MARGIN_DEG  # a coarse point may lie this far from the exact one the index knows
    near = Polygon.from_bbox((west - margin, south - margin, east + margin, north + margin))
    near.srid = 4326
    qs = (
        visible_cases(user)
        .filter(location__bboverlaps=near)
        .annotate(tile_point=location_as_seen(user))
        .values(*CASE_PROPERTIES, "tile_point")
    )
    found = compiled(qs)
    if found is None:
        return b""
    inner, params = found
    cols = ", ".join(f"r.{c}" for c in CASE_PROPERTIES)
    sql = f"""
        SELECT ST_AsMVT(mvt, 'cases', {EXTENT}, 'geom') FROM (
            SELECT {cols},
                   ST_AsMVTGeom(ST_Transform(r.tile_point, 3857), ST_TileEnvelope(%s, %s, %s), {EXTENT}, {BUFFER}, true)
                     AS geom
            FROM ({inner}) r
        ) mvt WHERE mvt.geom IS NOT NULL
    """  # noqa: S608 — the inner SQL is Django's, with its parameters
    with connections[read_alias()].cursor() as cur:
        cur.execute(sql, [z, x, y, *params])
        row = cur.fetchone()
    return bytes(row[0]) if row and row[0] else b""


def _tile_bounds_wgs84(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    n = 2**z

    def lon(tx: int) -> float:
        return tx / n * 360.0 - 180.0

    def lat(ty: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    return lon(x), lat(y + 1), lon(x + 1), lat(y)
