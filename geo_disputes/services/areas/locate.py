""" "Where is this?" — one point → township, village, grid, mining areas, parcels.

The same answer backs case intake, the field lookup and bulk linking (services/areas/linking.py
implements the same rules in one set-based UPDATE; a test holds them equal).

Tie rule on shared borders: boundaries are closed sets (ST_Covers), so a point exactly on
the border of two villages lies in both; the one with the smallest code wins. Village and
grid codes begin with their parent's code, so the winners nest consistently.
A mining area is `inside` when its boundary covers the point, else `influence_zone` when
its buffered zone does; those it is inside come first, then by code. Parcels come by code.
Only boundaries in force on the given date (today in Asia/Shanghai when not given) count.

Why one statement: this runs on every tap on the map and every intake. As seven ORM queries
that parsed whole boundaries nobody read it took p95 ~6 ms at 100k parcels (bench/); now the
banner test and every layer are sub-selects of one query that PostgreSQL answers as JSON,
without the polygons (the instances' geometry is deferred), in one round trip: p95 ~1–2 ms.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models import Model

from geo_disputes.models import Banner, Grid, MiningArea, Parcel, Township, Village
from geo_disputes.services.areas.coords import Datum, parse_datum, to_wgs84


class OutsideBanner(LookupError):
    """The point is outside the banner's outline: not ours to record."""


@dataclass
class MiningContext:
    area: MiningArea
    relation: str  # "inside" | "influence_zone"


@dataclass
class Location:
    lon: float
    lat: float
    datum: Datum
    submitted: tuple[float, float]
    banner_code: str = ""  # the banner whose outline covers the point (several banners per deployment)
    township: Township | None = None
    village: Village | None = None
    grid: Grid | None = None
    mining: list[MiningContext] = field(default_factory=list)
    parcels: list[Parcel] = field(default_factory=list)

    @property
    def point(self) -> Point:
        return Point(self.lon, self.lat, srid=4326)

    @property
    def mining_area(self) -> MiningContext | None:
        """The mining area a case is attributed to: the first it is inside, else the first zone."""
        return self.mining[0] if self.mining else None


def locate(lon: float, lat: float, datum: Datum | str = Datum.WGS84, on: dt.date | None = None) -> Location:
    """Everything the banner knows about a point, in the boundaries in force on `on`.

    Raises OutsideBanner when the point (after datum conversion) lies outside the banner.
    The areas are model instances without their geometry (deferred: loaded if ever read).
    """
    datum = parse_datum(datum) if isinstance(datum, str) else datum
    wlon, wlat = to_wgs84(lon, lat, datum)
    with connection.cursor() as cur:
        # Today as AreaQuerySet.in_force reads it: the process runs in TIME_ZONE (Asia/Shanghai).
        cur.execute(_LOCATE_SQL, {"lon": wlon, "lat": wlat, "on": on or dt.date.today()})
        found = json.loads(cur.fetchone()[0], parse_float=Decimal)
    if not found["banner"]:
        raise outside_banner(wlon, wlat)
    return Location(
        lon=wlon,
        lat=wlat,
        datum=datum,
        submitted=(lon, lat),
        banner_code=found["banner"],
        township=_TOWNSHIP.instance(found["township"]),
        village=_VILLAGE.instance(found["village"]),
        grid=_GRID.instance(found["grid"]),
        mining=[
            MiningContext(_MINING.instance(row[:-1]), "inside" if row[-1] else "influence_zone")
            for row in found["mining"]
        ],
        parcels=[_PARCEL.instance(row) for row in found["parcels"]],
    )


def outside_banner(lon: float, lat: float) -> OutsideBanner:
    """The refusal of a point outside the banner — also of a point in another banner than the user's
    (area_scope.confine_location), so both answer alike."""
    return OutsideBanner(f"({lon:.6f}, {lat:.6f}) 不在本旗范围内 / is outside the banner")


class _Layer:
    """One boundary layer as the statement reads it: every column but the geometries, as a JSON array."""

    def __init__(self, model: type[Model]):
        self.model = model
        self.table = model._meta.db_table
        self.fields = [f for f in model._meta.concrete_fields if not _is_geometry(f)]
        self.attnames = {f.attname for f in self.fields}
        # JSON gives dates as text and numbers as int/Decimal: each field turns them into its Python type
        # (a generated column by its output field), as the ORM's own rows would have them.
        self.to_python = [getattr(f, "output_field", f).to_python for f in self.fields]

    def row(self, alias: str, *extra: str) -> str:
        return "json_build_array({})".format(", ".join([f"{alias}.{f.column}" for f in self.fields] + list(extra)))

    def instance(self, values: list | None) -> Model | None:
        if values is None:
            return None
        return self.model.from_db(
            connection.alias, self.attnames, [convert(v) for convert, v in zip(self.to_python, values, strict=True)]
        )


def _is_geometry(f) -> bool:
    return isinstance(getattr(f, "output_field", f), GeometryField)


_TOWNSHIP, _VILLAGE, _GRID, _MINING, _PARCEL = (_Layer(m) for m in (Township, Village, Grid, MiningArea, Parcel))

# In force on `on`: valid_from <= on <= valid_to (open-ended when NULL), as AreaQuerySet.in_force, written as a
# range test so the planner uses the GiST index on geom alone (see services/areas/linking.py for the measured why).
_IN_FORCE = "daterange({a}.valid_from, {a}.valid_to, '[]') @> %(on)s::date"


def _first(layer: _Layer) -> str:
    """The smallest code among the layer's boundaries covering the point."""
    return f"""(SELECT {layer.row("a")} FROM {layer.table} a
        WHERE ST_Covers(a.geom, p.g) AND {_IN_FORCE.format(a="a")} ORDER BY a.code LIMIT 1)"""  # noqa: S608 — names from the models


_LOCATE_SQL = f"""
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326) AS g)
SELECT json_build_object(
    'banner', (SELECT b.code FROM {Banner._meta.db_table} b
               WHERE ST_Covers(b.geom, p.g) AND {_IN_FORCE.format(a="b")} ORDER BY b.code LIMIT 1),
    'township', {_first(_TOWNSHIP)},
    'village', {_first(_VILLAGE)},
    'grid', {_first(_GRID)},
    'mining', (SELECT coalesce(json_agg({_MINING.row("m", "ST_Covers(m.geom, p.g)")}
                                        ORDER BY ST_Covers(m.geom, p.g) DESC, m.code), '[]')
               FROM {_MINING.table} m WHERE ST_Covers(m.influence_zone, p.g) AND {_IN_FORCE.format(a="m")}),
    'parcels', (SELECT coalesce(json_agg({_PARCEL.row("x")} ORDER BY x.code), '[]')
                FROM {_PARCEL.table} x WHERE ST_Covers(x.geom, p.g) AND {_IN_FORCE.format(a="x")})
)::text
FROM p
"""  # noqa: S608 — only table and column names from the models are interpolated; values are parameters
