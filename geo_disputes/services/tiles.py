"""Mapbox Vector Tiles of the area layers and the cases, built by PostGIS (`ST_AsMVT`), never object by object.

A tile is the web-mercator square z/x/y (`ST_TileEnvelope`); its features are clipped to it with a 64-unit buffer
(4096 units a side) so outlines join across tiles. The same rules as the GeoJSON layers and the case list apply,
from the same places: an area layer's properties are `geojson.LAYERS`' (holders never; contract numbers only for
the roles that handle cases, `access.can_read_contract_numbers`), the versions in force today; the cases are
`access.visible_cases(user)` at the point the user may see (`location_as_seen`: exact for handlers, the 500 m grid
point for others) with codes only — category, status, tier, reference — no text.

`case-cells` is the cases of a map that shows many at once (a banner at 10⁶ cases): one point per cell of
CELL_UNITS tile units (8 × 8 cells a tile) with its number of cases and most frequent category, counted by
PostgreSQL from the same scoped, filtered queryset (`case_queries.filter_cases` on `visible_cases`) at the same
points as seen. Only cases inside the tile itself are counted (not its buffer), so the counts of adjacent tiles
add up to the cases in view with none counted twice.

Which may be cached (the view's headers): an area tile is the same for every reader of a role-view in one banner
(`area_scope`: a reader sees their banner's areas only), so it carries an ETag keyed by that banner and may be kept
privately for five minutes; a case tile depends on the reader's scope and is never stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, replace

from django.contrib.gis.geos import Polygon
from django.db import connections

from geo_disputes.services.areas.area_scope import area_sql, scope_key
from geo_disputes.services.cases.access import can_read_contract_numbers, location_as_seen, visible_cases
from geo_disputes.services.cases.case_queries import COARSE_MARGIN_DEG, CaseFilter, filter_cases
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
CASE_LAYERS = ("cases", "case-cells")
TILE_LAYERS = (*AREA_TILES, *CASE_LAYERS)
CASE_PROPERTIES = ("reference", "category", "status", "tier")
CELL_UNITS = EXTENT // 8  # a case-cells cell: 8 × 8 a tile (32 px of 256), so cells line up across tiles


class TileError(ValueError):
    """A tile address out of range, or an unknown layer (`status` 400 or 404)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Tile:
    data: bytes
    cacheable: bool  # the same bytes for everyone with this role-view: ETag and a private max-age
    scope: str = ""  # whose areas (area_scope.scope_key): an ETag of one banner's tile never validates another's

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.scope.encode() + b"\0" + self.data).hexdigest()[:32] + '"'


def check_address(layer: str, z: int, x: int, y: int) -> None:
    if layer not in TILE_LAYERS:
        raise TileError(f"无此图层 / unknown layer {layer!r}; layers: {', '.join(TILE_LAYERS)}", 404)
    if not 0 <= z <= MAX_ZOOM:
        raise TileError(f"z: 0–{MAX_ZOOM}")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise TileError(f"x, y: 0–{2**z - 1} at z {z}")


def tile(user, layer: str, z: int, x: int, y: int, on: dt.date | None = None, flt: CaseFilter | None = None) -> Tile:
    """The tile's bytes (empty when nothing lies in it or the zoom is below the layer's minimum).

    `flt` narrows the case layers as /api/cases/ does (its box is replaced by the tile's)."""
    check_address(layer, z, x, y)
    if z < MIN_ZOOM.get(layer, 0):
        return Tile(b"", cacheable=layer not in CASE_LAYERS, scope=_scope_tag(user))
    if layer == "cases":
        return Tile(_case_tile(user, z, x, y), cacheable=False)
    if layer == "case-cells":
        return Tile(_case_cells_tile(user, z, x, y, flt or CaseFilter()), cacheable=False)
    data = _area_tile(user, AREA_TILES[layer], layer, z, x, y, on or dt.date.today())
    return Tile(data, cacheable=True, scope=_scope_tag(user))


def _area_tile(user, key: str, name: str, z: int, x: int, y: int, on: dt.date) -> bytes:
    spec = LAYERS[key]
    hide = () if can_read_contract_numbers(user) else ("contract_no",)
    props = ", ".join(f"t.{p}" for p in spec.properties if p not in hide and p != "id")
    scope, scope_params = area_sql(user, spec.area.model, "t", on)  # the user's banner(s) only
    sql = f"""
        WITH bounds AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS merc)
        SELECT ST_AsMVT(mvt, %(name)s, {EXTENT}, 'geom') FROM (
            SELECT {props},
                   ST_AsMVTGeom(ST_Transform(t.{spec.geometry}, 3857), bounds.merc, {EXTENT}, {BUFFER}, true) AS geom
            FROM {spec.table} t, bounds
            WHERE t.{spec.geometry} && ST_Transform(bounds.merc, 4326) AND {scope}
              AND t.valid_from <= %(on)s AND (t.valid_to IS NULL OR t.valid_to >= %(on)s)
        ) mvt WHERE mvt.geom IS NOT NULL
    """  # noqa: S608 — names from the LAYERS registry, values are parameters
    with connections[read_alias()].cursor() as cur:
        cur.execute(sql, {"z": z, "x": x, "y": y, "name": name, "on": on, **scope_params})
        row = cur.fetchone()
    return bytes(row[0]) if row and row[0] else b""


def _scope_tag(user) -> str:
    """The reader's area scope as a cache key part ("-" for none, "*" for every banner)."""
    key = scope_key(user)
    return "-" if key is None else (key or "*")


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


def _case_cells_tile(user, z: int, x: int, y: int, flt: CaseFilter) -> bytes:
    """Counts per cell of the cases `user` may see under `flt` inside the tile, as points at the cells' centres.

    The box filter is `filter_cases`' own (the points as seen, with the coarse points' margin); the statement
    then keeps the points inside the tile (west and north edges in, east and south out) and groups them by
    cell in tile units. `OFFSET 0` keeps each point computed once a row (inlined, ST_X and ST_Y each repeated
    the coarse point's transforms: 2.3 × slower at 10⁶ cases). A cell's point is its centre, never a mean of
    the cases' points: the count is all a cell says about where its cases are."""
    located = filter_cases(visible_cases(user), replace(flt, bbox=_tile_bounds_wgs84(z, x, y)), user).order_by()
    found = compiled(located.annotate(tile_point=location_as_seen(user)).values("category", "tile_point"))
    if found is None:
        return b""
    inner, params = found
    sql = f"""
        WITH env AS (SELECT ST_TileEnvelope(%s, %s, %s) AS e),
        placed AS (
            SELECT r.category,
                   floor((ST_X(m.p) - ST_XMin(env.e)) / (ST_XMax(env.e) - ST_XMin(env.e)) * {EXTENT}) AS px,
                   floor((ST_YMax(env.e) - ST_Y(m.p)) / (ST_YMax(env.e) - ST_YMin(env.e)) * {EXTENT}) AS py
            FROM ({inner} OFFSET 0) r
            CROSS JOIN env
            CROSS JOIN LATERAL (SELECT ST_Transform(r.tile_point, 3857) AS p OFFSET 0) m
        ),
        cells AS (
            SELECT floor(px / {CELL_UNITS}) AS cx, floor(py / {CELL_UNITS}) AS cy, count(*) AS count,
                   mode() WITHIN GROUP (ORDER BY category) AS category
            FROM placed
            WHERE px >= 0 AND px < {EXTENT} AND py >= 0 AND py < {EXTENT}
            GROUP BY 1, 2
        )
        SELECT ST_AsMVT(mvt, 'case-cells', {EXTENT}, 'geom') FROM (
            SELECT count, category,
                   ST_Point((cx + 0.5) * {CELL_UNITS}, (cy + 0.5) * {CELL_UNITS}) AS geom
            FROM cells
        ) mvt
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
