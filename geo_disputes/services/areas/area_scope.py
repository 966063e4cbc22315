"""Which areas a user sees: those of their banner(s) — the one rule every area surface asks (issue 25).

One deployment serves several banners; a banner's staff must not read another banner's villages, grids, parcels
(contract numbers, holders), mines or who works there. Townships, villages, grids and parcels carry codes that
begin with their banner's 6 digits, so they are kept by code prefix (`access.banner_codes_seen`: a banner's
6 digits, a city-wide role's 4, "" for a superuser = every banner). Mining areas (and so their influence zones)
have no banner code: they are kept when their outline intersects an outline of the user's banner(s) in force.
With several banners, a user without a role sees no area at all; a deployment of one banner is as it was.

The rule is given over the same decision as `area_filter` (a Q for the ORM), `area_sql` (a fragment and its
parameters for the hand-written PostGIS statements of the layers and tiles) and `confine_location` (a point's places).
`scope_key` names the decision, for anything cached per reader.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, Model, OuterRef, Q

from geo_disputes.models import Banner, MiningArea
from geo_disputes.services.areas.locate import Location, outside_banner
from geo_disputes.services.cases.access import banner_codes_seen


def scope_key(user) -> str | None:
    """The code prefix the user's areas start with ("" = every banner), or None: sees no area. Equal keys,
    equal areas — cache keys (tiles' ETags, compiled statements) use it.

    A deployment serving one banner (or none loaded yet) shows its areas as it always has, to a user without a
    role too: everything in it is that banner's, and a mine outside the outline is still the banner's concern."""
    if user is None or not user.is_authenticated:
        return None
    codes = banner_codes_seen(user)
    served = list(Banner.objects.order_by().values_list("code", flat=True).distinct()[:2])
    if len(served) < 2 and (codes is None or not served or served[0].startswith(codes)):
        return ""
    return codes


def area_filter(user, model: type[Model], on: dt.date | None = None) -> Q:
    """The areas of `model` that `user` may see, as a Q (empty Q = all)."""
    prefix = scope_key(user)
    if prefix is None:
        return Q(pk__in=[])
    if prefix == "":
        return Q()
    if issubclass(model, MiningArea):
        return _mines(prefix, on)
    return Q(code__startswith=prefix)


def area_sql(user, model: type[Model], alias: str, on: dt.date | None = None) -> tuple[str, dict]:
    """The same rule as a SQL condition on the row `alias` of `model`'s table, with its (named) parameters."""
    prefix = scope_key(user)
    if prefix is None:
        return "FALSE", {}
    if prefix == "":
        return "TRUE", {}
    params = {"scope_prefix": prefix}
    if issubclass(model, MiningArea):
        params["scope_on"] = on or dt.date.today()
        sql = (
            f"EXISTS (SELECT 1 FROM {Banner._meta.db_table} sb WHERE sb.code LIKE %(scope_prefix)s || '%%'"  # noqa: S608 — the table is the model's, the alias the caller's code; values are parameters
            " AND sb.valid_from <= %(scope_on)s AND (sb.valid_to IS NULL OR sb.valid_to >= %(scope_on)s)"
            f" AND ST_Intersects(sb.geom, {alias}.geom))"
        )
        return sql, params
    return f"{alias}.code LIKE %(scope_prefix)s || '%%'", params


def mines_of(user, on: dt.date | None = None):
    """The mines in force that `user` may see (the court map's list, the mine print)."""
    return MiningArea.objects.in_force(on).filter(area_filter(user, MiningArea, on))


def banner_visible(user, banner_code: str) -> bool:
    """Whether `banner_code` (a located point's banner) is one of `user`'s: a point elsewhere is not theirs."""
    prefix = scope_key(user)
    return prefix is not None and banner_code.startswith(prefix)


def confine_location(user, loc: Location, on: dt.date | None = None) -> Location:
    """`loc` as `user` may know it: OutsideBanner (as for a point outside every banner) when the point lies in
    another banner than theirs; else without the mines and parcels that are not theirs (a border's overlaps).
    The scope is decided once (one small query), not once per parcel."""
    prefix = scope_key(user)
    if prefix is None or not loc.banner_code.startswith(prefix):
        raise outside_banner(loc.lon, loc.lat)
    if prefix:
        loc.parcels = [p for p in loc.parcels if p.code.startswith(prefix)]
        if loc.mining:
            mines = MiningArea.objects.filter(pk__in=[m.area.pk for m in loc.mining]).filter(_mines(prefix, on))
            seen = set(mines.values_list("pk", flat=True))
            loc.mining = [m for m in loc.mining if m.area.pk in seen]
    return loc


def _mines(prefix: str, on: dt.date | None) -> Q:
    """Mines (and zones) whose outline meets an outline in force of a banner under `prefix`."""
    banners = Banner.objects.in_force(on).filter(code__startswith=prefix, geom__intersects=OuterRef("geom"))
    return Q(Exists(banners))
