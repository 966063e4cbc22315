"""Case locations for maps, as compact arrays built by PostgreSQL: single points, or grid cells when a view holds many.

A marker needs a reference (its popup asks /api/cases/<reference>/ for the rest, masked per role),
a position and a colour; the heat map needs positions and weights. So a view of up to `max_points`
cases travels as `[reference, lon, lat, category, status]` rows (~50 B a case, against ~800 B for a
GeoJSON feature with 22 properties); a fuller view travels as counts per grid cell (a few hundred
rows for the whole banner at any number of cases). Cells are squares of CELL_PX screen pixels at the
requested zoom, on a grid anchored at 0°,0° so they stay put as the user pans.
"""

from __future__ import annotations

import json
import math

from django.db import connections, transaction
from django.db.models import F, FloatField, Func

from geo_disputes.models.cases import Category, Status
from geo_disputes.services.cases.access import location_as_seen, visible_cases
from geo_disputes.services.cases.case_queries import CaseFilter, filter_cases
from geo_disputes.services.geojson import count_up_to
from geo_disputes.services.ops.replica import read_alias
from geo_disputes.services.sql import compiled, local_setting

POINTS_MAX = 5000  # more cases than this in a view → grid cells
CELL_PX = 48  # a cell's side in screen pixels at the requested zoom (Web Mercator tiles of 256 px)
DEFAULT_ZOOM = 9.0  # the whole banner, when neither zoom nor bbox says otherwise
VIEW_PX = 1024  # the width of a view assumed when zoom is derived from a bbox
BANNER_LAT = 39.8  # cells are made square on screen at the middle latitude of the box, else here
COORD_DECIMALS = 6  # ~0.1 m, as the GeoJSON of the other endpoints

POINT_FIELDS = ["reference", "lon", "lat", "category", "status"]
CELL_FIELDS = ["lon", "lat", "count", "category"]


def case_points(
    user,
    flt: CaseFilter,
    *,
    zoom: float | None = None,
    max_points: int = POINTS_MAX,
) -> str:
    """JSON text of the cases `user` may see under `flt`: single points when at most `max_points`, else cells.

    `category` and `status` are indexes into the answer's `categories` and `statuses` lists. In
    cell mode each row is a cell's centroid (the mean of its cases), its number of cases and its
    most frequent category; the counts add up to `count`, every visible case in the box. Positions are
    exact only for cases `user` handles; a planner's or field staff's are coarse (access.location_as_seen),
    and so are the cell centroids made from them.
    """
    qs = filter_cases(visible_cases(user), flt, user).order_by()
    max_points = max(1, min(int(max_points), POINTS_MAX))
    zoom = view_zoom(flt.bbox) if zoom is None else float(zoom)
    located = _located(qs, user)
    if count_up_to(qs, max_points + 1) <= max_points:
        return _points(located, zoom)
    return _cells(located, zoom, cell_size(zoom, _middle_lat(flt.bbox)))


def view_zoom(bbox: tuple[float, float, float, float] | None) -> float:
    """The zoom at which `bbox` spans a view VIEW_PX wide (DEFAULT_ZOOM without a box)."""
    if bbox is None:
        return DEFAULT_ZOOM
    width = max(bbox[2] - bbox[0], 1e-9)
    return max(0.0, min(22.0, math.log2(360.0 * VIEW_PX / 256.0 / width)))


def cell_size(zoom: float, lat: float = BANNER_LAT) -> tuple[float, float]:
    """(degrees of longitude, degrees of latitude) of a cell CELL_PX pixels square on screen at `zoom`."""
    dx = 360.0 / 2.0**zoom * CELL_PX / 256.0
    return dx, dx * math.cos(math.radians(lat))


# -- helpers ------------------------------------------------------------------------------------


def _header(mode: str, zoom: float, fields: list[str]) -> tuple[str, list]:
    """The answer's fixed members as SQL (json_build_object arguments) and their parameters."""
    sql = "'mode', %s, 'zoom', %s, 'fields', %s::json, 'categories', %s::json, 'statuses', %s::json"
    return sql, [mode, round(zoom, 2), json.dumps(fields), json.dumps(Category.values), json.dumps(Status.values)]


def _located(qs, user) -> tuple[str, tuple]:
    """The queryset as SQL of plain columns (id, reference, received_at, category, status, _lon, _lat) and
    its parameters, each point as `user` may see it; for a user who may see nothing, the same columns and no row."""
    located = (
        qs.annotate(_shown=location_as_seen(user))
        .annotate(
            _lon=Func(F("_shown"), function="ST_X", output_field=FloatField()),
            _lat=Func(F("_shown"), function="ST_Y", output_field=FloatField()),
        )
        .values("id", "reference", "received_at", "category", "status", "_lon", "_lat")
    )
    return compiled(located) or (_EMPTY, ())


def _points(located: tuple[str, tuple], zoom: float) -> str:
    header, header_params = _header("points", zoom, POINT_FIELDS)
    inner, params = located
    sql = f"""
        SELECT json_build_object({header},
            'count', count(*),
            'points', coalesce(json_agg(json_build_array(
                r.reference,
                round(r._lon::numeric, {COORD_DECIMALS}),
                round(r._lat::numeric, {COORD_DECIMALS}),
                array_position(%s::text[], r.category::text) - 1,
                array_position(%s::text[], r.status::text) - 1
            ) ORDER BY r.received_at DESC, r.id DESC), '[]'::json)
        )::text
        FROM ({inner}) r
    """  # noqa: S608 — the inner SQL is Django's, with its parameters; constants are ours
    with connections[read_alias()].cursor() as cur:
        cur.execute(sql, [*header_params, list(Category.values), list(Status.values), *params])
        return cur.fetchone()[0]


def _cells(located: tuple[str, tuple], zoom: float, size: tuple[float, float]) -> str:
    """Counts per grid cell: one pass groups (cell, category); a window picks each cell's top category.

    The cell is one bigint key (column × 2³¹ + row; unique while |row| < 2³⁰). PostgreSQL has no
    statistics on such an expression and guesses a group per row, so it would sort every case (at 1M:
    64 MB on disk, 1.9 s) before grouping them into a few hundred cells; with sorting discouraged for
    this one statement it hashes them instead (1.0 s, most of it the scan). Measured in bench/.
    """
    header, header_params = _header("cells", zoom, CELL_FIELDS)
    inner, params = located
    sql = f"""
        WITH by_category AS (
            SELECT floor(r._lon / %s)::bigint * 2147483648 + floor(r._lat / %s)::bigint AS cell, r.category,
                   count(*) AS n, sum(r._lon) AS sum_lon, sum(r._lat) AS sum_lat
            FROM ({inner}) r
            GROUP BY 1, 2
        ),
        ranked AS (
            SELECT sum(n) OVER cell AS n, sum(sum_lon) OVER cell AS sum_lon, sum(sum_lat) OVER cell AS sum_lat,
                   category, row_number() OVER (PARTITION BY cell ORDER BY n DESC, category) AS rank
            FROM by_category
            WINDOW cell AS (PARTITION BY cell)
        )
        SELECT json_build_object({header},
            'cell_deg', json_build_array(%s, %s),
            'count', coalesce(sum(n), 0),
            'points', coalesce(json_agg(json_build_array(
                round((sum_lon / n)::numeric, {COORD_DECIMALS}),
                round((sum_lat / n)::numeric, {COORD_DECIMALS}),
                n,
                array_position(%s::text[], category::text) - 1
            ) ORDER BY n DESC, sum_lon), '[]'::json)
        )::text
        FROM ranked
        WHERE rank = 1
    """  # noqa: S608 — the inner SQL is Django's, with its parameters; constants are ours
    alias = read_alias()  # the replica for a map read when allowed (services/ops/replica.py); SET LOCAL needs a txn
    with transaction.atomic(using=alias), connections[alias].cursor() as cur, local_setting(cur, "enable_sort", "off"):
        cur.execute(sql, [size[0], size[1], *params, *header_params, size[0], size[1], list(Category.values)])
        return cur.fetchone()[0]


def _middle_lat(bbox: tuple[float, float, float, float] | None) -> float:
    return BANNER_LAT if bbox is None else (bbox[1] + bbox[3]) / 2.0


# The inner query of a user who may see nothing: the same columns, no row.
_EMPTY = (
    "SELECT NULL::int AS id, NULL::text AS reference, NULL::timestamptz AS received_at, NULL::text AS category, "
    "NULL::text AS status, NULL::float AS _lon, NULL::float AS _lat WHERE false"
)
