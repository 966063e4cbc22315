""" "Where is this?" — one point → township, village, grid, mining areas, parcels.

The same answer backs case intake, the field lookup and bulk linking (services/linking.py
implements the same rules in one set-based UPDATE; a test holds them equal).

Tie rule on shared borders: boundaries are closed sets (ST_Covers), so a point exactly on
the border of two villages lies in both; the one with the smallest code wins. Village and
grid codes begin with their parent's code, so the winners nest consistently.
A mining area is `inside` when its boundary covers the point, else `influence_zone` when
its buffered zone does. Only boundaries in force on the given date are considered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.gis.geos import Point

from geo_disputes.models import Banner, Grid, MiningArea, Parcel, Township, Village

from .coords import Datum, parse_datum, to_wgs84


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
    """
    datum = parse_datum(datum) if isinstance(datum, str) else datum
    wlon, wlat = to_wgs84(lon, lat, datum)
    point = Point(wlon, wlat, srid=4326)
    if not Banner.objects.in_force(on).filter(geom__covers=point).exists():
        raise OutsideBanner(f"({wlon:.6f}, {wlat:.6f}) 不在本旗范围内 / is outside the banner")
    loc = Location(lon=wlon, lat=wlat, datum=datum, submitted=(lon, lat))
    loc.township = _first(Township, point, on)
    loc.village = _first(Village, point, on)
    loc.grid = _first(Grid, point, on)
    loc.mining = mining_context(point, on)
    loc.parcels = list(Parcel.objects.in_force(on).filter(geom__covers=point).order_by("code"))
    return loc


def mining_context(point: Point, on: dt.date | None = None) -> list[MiningContext]:
    """Mining areas holding the point: those it is inside first, then influence zones, by code."""
    areas = MiningArea.objects.in_force(on).filter(influence_zone__covers=point).order_by("code")
    inside = set(MiningArea.objects.in_force(on).filter(geom__covers=point).values_list("pk", flat=True))
    found = [MiningContext(a, "inside" if a.pk in inside else "influence_zone") for a in areas]
    return sorted(found, key=lambda m: (m.relation != "inside", m.area.code))


def _first(model, point: Point, on: dt.date | None):
    return model.objects.in_force(on).filter(geom__covers=point).order_by("code").first()
