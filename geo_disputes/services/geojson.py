"""GeoJSON FeatureCollections built by PostGIS, not object by object in Python.

drf-gis #245 is the lesson: serialising thousands of geometries in Python is the slow
part. Here one query selects, filters by bounding box (GiST `&&`), pages, and lets
`json_build_object`/`ST_AsGeoJSON` build the text; Python only passes it through.
Output is RFC 7946: WGS84 lon/lat, no `crs` member, 6 decimals (~0.1 m).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db import connection
from django.db.models import QuerySet

from geo_disputes.services.areas.area_scope import area_sql
from geo_disputes.services.areas.layers import LAYERS as AREA_LAYERS
from geo_disputes.services.areas.layers import Layer as AreaLayer
from geo_disputes.services.ops.replica import read_cursor
from geo_disputes.services.sql import compiled


@dataclass(frozen=True)
class Layer:
    """A map layer: an area layer of the registry, which geometry column to draw, and its page size.

    Properties are the layer's file attributes minus personal data (a parcel's holder is
    shown per role by the parcel detail, never in bulk), plus derived ones such as area in mu.
    """

    name: str
    area: AreaLayer
    geometry: str = "geom"
    page_size: int = 500

    @property
    def table(self) -> str:
        return self.area.table

    @property
    def properties(self) -> list[str]:
        public = [f for f in self.area.fields if f not in self.area.personal_fields]
        return ["id", *public, *self.area.derived_fields]


LAYERS: dict[str, Layer] = {
    "townships": Layer("townships", AREA_LAYERS["townships"]),
    "villages": Layer("villages", AREA_LAYERS["villages"]),
    "grids": Layer("grids", AREA_LAYERS["grids"], page_size=2000),
    "mining-areas": Layer("mining-areas", AREA_LAYERS["mining-areas"]),
    "mining-zones": Layer("mining-zones", AREA_LAYERS["mining-areas"], geometry="influence_zone"),
    "parcels": Layer("parcels", AREA_LAYERS["parcels"], page_size=2000),
}

MAX_PAGE_SIZE = 5000

# Case lists count matching rows only up to this many (or to the end of the requested page, if
# further): a map view over a busy town holds 10^5 cases, and counting them all was most of the
# response time at page_size=500 (bench/: 1M cases, 358,778 in the box, count 391 of 432 ms).
# A map needs "more than 10,000", not the exact figure; `count=exact` asks for it.
COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class Total:
    """How many features match: exact, or — when counting stopped at a limit — at least `value`."""

    value: int
    exact: bool = True


@dataclass(frozen=True)
class Page:
    """A page by number (the JSON API's `page`) or, with `skip`, from any offset (OGC API's `offset`)."""

    number: int
    size: int
    skip: int | None = None

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size if self.skip is None else self.skip


def feature_collection(
    layer: Layer,
    user,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    on: dt.date | None = None,
    page: Page | None = None,
    hide: tuple[str, ...] = (),
    during: tuple[dt.date | None, dt.date | None] | None = None,
    equals: dict[str, str] | None = None,
) -> tuple[str, int]:
    """GeoJSON text of one page of `layer` within `bbox`, and the total count of matching features;
    the properties named in `hide` are left out (e.g. contract numbers, per access.can_read_contract_numbers).
    Only the areas `user` may see (`area_scope`: their banner's) are counted and listed.

    The versions in force on `on` (today by default), or with `during` (start, end; either open) every version in
    force at some time in that interval; `equals` keeps features whose property (one of `layer.properties`, checked
    by the caller) has that value, compared as text."""
    on = on or dt.date.today()
    page = page or Page(1, layer.page_size)
    params: dict = {"on": on, "limit": page.size, "offset": page.offset}
    if during is None:
        where = ["valid_from <= %(on)s", "(valid_to IS NULL OR valid_to >= %(on)s)"]
    else:
        where = []
        if during[1] is not None:
            where.append("valid_from <= %(during_end)s")
            params["during_end"] = during[1]
        if during[0] is not None:
            where.append("(valid_to IS NULL OR valid_to >= %(during_start)s)")
            params["during_start"] = during[0]
        where = where or ["TRUE"]
    for n, (name, value) in enumerate(sorted((equals or {}).items())):
        if name not in layer.properties:
            raise ValueError(f"{name!r} is not a property of {layer.name}")
        where.append(f"{name}::text = %(eq{n})s")
        params[f"eq{n}"] = value
    scope, scope_params = area_sql(user, layer.area.model, layer.table, on)
    where.append(scope)
    params.update(scope_params)
    if bbox is not None:
        where.append(f"{layer.geometry} && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)")
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3])
    props = ", ".join(f"'{name}', {name}" for name in layer.properties if name not in hide)
    sql = f"""
        WITH matching AS (SELECT * FROM {layer.table} WHERE {" AND ".join(where)}),
        page AS (SELECT * FROM matching ORDER BY code, valid_from LIMIT %(limit)s OFFSET %(offset)s)
        SELECT (SELECT count(*) FROM matching),
               json_build_object(
                 'type', 'FeatureCollection',
                 'features', coalesce(json_agg(json_build_object(
                     'type', 'Feature',
                     'id', page.code,
                     'geometry', ST_AsGeoJSON(page.{layer.geometry}, 6)::json,
                     'properties', json_build_object({props})
                 ) ORDER BY page.code, page.valid_from), '[]'::json)
               )::text
        FROM page
    """  # noqa: S608 — identifiers come from the LAYERS registry above, values are parameters
    with read_cursor() as cur:
        cur.execute(sql, params)
        count, text = cur.fetchone()
    return text, count


def count_matches(qs, page: Page, limit: int | None = COUNT_LIMIT) -> Total:
    """Count `qs`, stopping after max(limit, end of `page`) rows; None counts them all.

    Counting past the page's end keeps `next` right: an inexact total is always beyond the page.
    """
    if limit is None:
        return Total(qs.order_by().count())
    limit = max(limit, page.offset + page.size)
    found = count_up_to(qs, limit + 1)
    return Total(limit, exact=False) if found > limit else Total(found)


def count_up_to(qs, limit: int) -> int:
    """How many rows `qs` has, counting no further than `limit` (the scan stops there)."""
    return qs.order_by().values("pk")[:limit].count()


# An empty collection as queryset_feature_collection has always answered it: as PostgreSQL's
# json_build_object writes it when the statement found no row, or as Python's for `qs.none()`.
_EMPTY_FROM_SQL = '{"type" : "FeatureCollection", "features" : []}'
_EMPTY = '{"type": "FeatureCollection", "features": []}'


def queryset_feature_collection(
    qs,
    *,
    geometry: str,
    properties: list[str],
    page: Page,
    count_limit: int | None = COUNT_LIMIT,
    decorate: Callable[[QuerySet], QuerySet] | None = None,
    decorate_key: Hashable | None = None,
) -> tuple[str, Total]:
    """GeoJSON of one page of a (filtered, annotated, ordered) queryset, built by PostGIS.

    The queryset's own SQL becomes a subquery, so access rules and filters applied by the
    caller hold; only the JSON assembly moves into the database.

    `decorate` adds the annotations that are only shown (labels, deadlines, the point as seen): then
    `qs` is only filtered and ordered, the count and the page's rows are found on it alone, and
    `decorate` is applied to the page's rows (`pk IN` the page) in `qs`'s order. A map view holds up to
    10^5 cases and a page 500: per-row calendar functions and joins then run for the page only, and the
    count's and the page's statements stay small (their planner estimates too: bench/LOAD.md).

    `decorate_key` (with `decorate`): what the decorated statement depends on besides the page's ids (the
    user, their role and scope, the day). With it, the page's ids are fetched first and the decorated
    statement is compiled once per key and reused (PAGE_STATEMENTS) with the ids as its one changing
    parameter: building and compiling it was two thirds of a map view's time in Python (bench/LOAD.md).
    """
    offset = page.offset
    if decorate is not None and decorate_key is not None:
        if qs.query.is_empty():
            return _EMPTY, Total(0)
        # The ids up to one past the page: when the end is in sight (most map views) they are the count too,
        # and one statement does what took two.
        window = offset + page.size + 1
        found = list(qs.values_list("pk", flat=True)[:window])
        count = Total(len(found)) if len(found) < window else count_matches(qs, page, count_limit)
        ids = found[offset : offset + page.size]
        if not ids:
            return _EMPTY_FROM_SQL, count
        key = (decorate_key, qs.model, geometry, tuple(properties), tuple(qs.query.order_by))
        sql, params = PAGE_STATEMENTS.get(
            key, lambda marker: _page_statement(qs, geometry, properties, decorate, marker), ids
        )
        with read_cursor() as cur:
            cur.execute(sql, params)
            (text,) = cur.fetchone()
        return text, count
    count = count_matches(qs, page, count_limit)
    if count.exact and count.value <= offset:  # nothing on this page (e.g. a view with no case in it)
        return (_EMPTY if qs.query.is_empty() else _EMPTY_FROM_SQL), count
    if decorate is not None:
        page_ids = qs.values("pk")[offset : offset + page.size]
        qs = decorate(qs.model._default_manager.filter(pk__in=page_ids)).order_by(*qs.query.order_by)
        offset = 0
    # Django selects geometry columns as EWKB; asking for GeoJSON text keeps it one SQL function.
    rows = qs.annotate(geojson_geometry=AsGeoJSON(geometry, precision=6)).values("geojson_geometry", *properties)
    rows = rows[offset : offset + page.size]
    found = compiled(rows)
    if found is None:  # e.g. qs.none() for a user who may see nothing
        return _EMPTY, count
    inner, params = found
    with read_cursor() as cur:
        cur.execute(_collection_sql(inner, properties), params)
        (text,) = cur.fetchone()
    return text, count


def _collection_sql(inner: str, properties: list[str]) -> str:
    """The FeatureCollection of the rows of `inner` (which selects geojson_geometry and `properties`), in order."""
    props = ", ".join(f"'{name}', r.{connection.ops.quote_name(name)}" for name in properties)
    return f"""
        SELECT json_build_object(
            'type', 'FeatureCollection',
            'features', coalesce(json_agg(json_build_object(
                'type', 'Feature',
                'id', r.{connection.ops.quote_name(properties[0])},
                'geometry', r.geojson_geometry::json,
                'properties', json_build_object({props})
            ) ORDER BY r.__row), '[]'::json)
        )::text
        FROM (SELECT sub.*, row_number() OVER () AS __row FROM ({inner}) sub) r
    """  # noqa: S608 — names come from the caller's code, values stay parameters


def _page_statement(qs, geometry: str, properties: list[str], decorate, marker: list) -> tuple[str, tuple]:
    """The decorated page's FeatureCollection statement, its rows chosen by `id = ANY(marker)`."""
    table, pk = qs.model._meta.db_table, qs.model._meta.pk.column
    rows = qs.model._default_manager.extra(
        where=[f"{connection.ops.quote_name(table)}.{connection.ops.quote_name(pk)} = ANY(%s)"], params=[marker]
    )
    rows = decorate(rows).order_by(*qs.query.order_by)
    rows = rows.annotate(geojson_geometry=AsGeoJSON(geometry, precision=6)).values("geojson_geometry", *properties)
    inner, params = rows.query.sql_with_params()
    return _collection_sql(inner, properties), params


class StatementCache:
    """Compiled statements with one changing parameter (a list of ids), per key, for `ttl` seconds.

    A key names everything the statement's text and its other parameters depend on; the `ttl` bounds how
    long a statement built from rows read while compiling (a unit's kind, say) can outlive a change to them.
    At most `size` keys (least recently used dropped). Shared by a worker's threads (a lock around the map).
    """

    def __init__(self, size: int = 512, ttl: float = 60.0):
        self.size, self.ttl = size, ttl
        self._entries: OrderedDict[Hashable, tuple[float, str, tuple, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[list], tuple[str, tuple]], ids: list) -> tuple[str, list]:
        """`build(marker)` compiled once per key (the marker list where the ids go); the SQL and its parameters
        with `ids` in the marker's place."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] < self.ttl:
                self._entries.move_to_end(key)
            else:
                entry = None
        if entry is None:
            marker: list = []
            sql, params = build(marker)
            at = [i for i, value in enumerate(params) if value is marker]
            if len(at) != 1:
                raise RuntimeError(f"the statement holds its ids parameter {len(at)} times, not once")
            entry = (now, sql, tuple(params), at[0])
            with self._lock:
                self._entries[key] = entry
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        _, sql, params, at = entry
        bound = list(params)
        bound[at] = ids
        return sql, bound

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


PAGE_STATEMENTS = StatementCache()
