"""Where a user's map opens: the extent of their own grid, village or township (their scope).

A grid worker looks up parcels in her 10–15 households' grid; opening on the whole banner
(130 km across) makes her zoom in five levels before every lookup. Banner-wide roles get their banner's
extent when the deployment serves several banners (a city's roles: their city's), else None (the whole map).
"""

from __future__ import annotations

import datetime as dt

from django.contrib.gis.db.models import Extent

from geo_disputes.models import Banner, Grid, Township, Village
from geo_disputes.services.cases.access import ScopeError, banner_prefix, scope_kind, staff_profile

_AREAS = {"grid": Grid, "village": Village, "township": Township}


def scope_extent(user, on: dt.date | None = None) -> tuple[float, float, float, float] | None:
    """(minlon, minlat, maxlon, maxlat) of the user's scope area in force on `on`; None for the banner."""
    profile = staff_profile(user)
    if profile is None:
        return None
    try:
        kind = scope_kind(profile.scope_code)
    except ScopeError:
        return None
    if not kind:
        banners = Banner.objects.in_force(on)
        if banners.exclude(code__startswith=profile.banner_code.strip()).exists():
            return banners.filter(code__startswith=profile.banner_code.strip()).aggregate(box=Extent("geom"))["box"]
        return None
    found = _AREAS[kind].objects.in_force(on).filter(code=profile.scope_code.strip()).aggregate(box=Extent("geom"))
    return found["box"]


def banner_extent(on: dt.date | None = None) -> tuple[float, float, float, float] | None:
    """(minlon, minlat, maxlon, maxlat) of the townships in force: the first view of a banner-wide map that
    draws its outlines from vector tiles (so has no GeoJSON to fit to); None without townships."""
    return Township.objects.in_force(on).aggregate(box=Extent("geom"))["box"]


def townships_in_force(on: dt.date | None = None, user=None) -> list[tuple[str, str]]:
    """(code, name) of the townships in force, by code: a map's township choice without their outlines; with a
    user, only those of their banner(s) (a township code begins with its banner's)."""
    townships = Township.objects.in_force(on).filter(code__startswith=banner_prefix(user))
    return list(townships.order_by("code").values_list("code", "name"))
