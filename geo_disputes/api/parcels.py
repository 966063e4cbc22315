"""GET /api/parcels/<code>/?on= — one parcel as a GeoJSON Feature, with where it lies.
GET /api/parcels/?holder=<name>&on= — parcels by holder, for the roles that see holders unmasked.

The field lookup by parcel code needs the outline and the same context a tap on the map
gives (township, village, grid and its worker, mining-area relation), so `context` is the
locate service's answer at the parcel's point-on-surface: a point inside even a concave or
ring-shaped parcel, where a centroid could fall outside it.
"""

from __future__ import annotations

import json

from django.contrib.gis.db.models.functions import PointOnSurface
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_disputes.models import Parcel, Role
from geo_disputes.services.areas.area_scope import area_filter, confine_location
from geo_disputes.services.areas.coords import Datum
from geo_disputes.services.areas.locate import OutsideBanner, locate
from geo_disputes.services.cases.access import banner_codes_seen, staff_profile

from . import params
from .representations import location_dict, parcel_dict


class ParcelView(APIView):
    def get(self, request: Request, code: str) -> Response:
        on = params.date(request.query_params, "on")
        # Another banner's parcel answers as one that does not exist (area_scope).
        parcel = Parcel.objects.in_force(on).filter(area_filter(request.user, Parcel, on), code=code).first()
        if parcel is None:
            raise NotFound(f"no parcel {code!r} in force / 未找到地块 {code}")
        inside = parcel.geom.point_on_surface
        try:
            loc = confine_location(request.user, locate(inside.x, inside.y, Datum.WGS84, on=on), on)
        except OutsideBanner:
            context = None  # a parcel imported outside the banner's outline: shown, but placed nowhere
        else:
            # Only the *other* parcels at that point (overlaps): the parcel itself is `properties`,
            # and listing it twice would show (and record a view of) its holder twice.
            loc.parcels = [p for p in loc.parcels if p.pk != parcel.pk]
            context = location_dict(loc, request.user)
        return Response(
            {
                "type": "Feature",
                "id": parcel.code,
                "geometry": json.loads(parcel.geom.json),
                "properties": parcel_dict(parcel, request.user),
                "context": context,
            }
        )


HOLDER_MIN_CHARS = 2  # a surname alone would list half a village's holders
HOLDER_MAX_RESULTS = 20


def holder_search_scope(user) -> str | None:
    """The parcel-code prefix within which `user` may look parcels up by holder ("" = every banner, for a
    superuser; a banner admin's banner or city code), or None when the role may not: only those who see
    holders unmasked may search by them (services.cases.access.parcel_holder: the banner admin, and
    township/village officers in their area)."""
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return ""
    profile = staff_profile(user)
    if profile is None:
        return None
    if profile.role == Role.BANNER_ADMIN:
        return banner_codes_seen(user)  # their banner's (a city's) parcels, never another banner's
    if profile.role in (Role.TOWNSHIP_OFFICER, Role.VILLAGE_OFFICER) and profile.scope_code:
        return profile.scope_code
    return None


class ParcelSearchView(APIView):
    """Parcels in force whose holder's name contains `holder`, within the user's scope, at most
    HOLDER_MAX_RESULTS; each holder shown goes through access.parcel_holder (which records the view),
    and a result that comes back masked is dropped, so the search never says more than the rule."""

    def get(self, request: Request) -> Response:
        query = request.query_params
        prefix = holder_search_scope(request.user)
        if prefix is None:
            raise PermissionDenied("your role does not see parcel holders / 当前角色不能按承包户查询")
        holder = (query.get("holder") or "").strip()
        if len(holder) < HOLDER_MIN_CHARS or len(holder) > 50 or "\x00" in holder:
            raise ValidationError({"holder": f"2–50 characters / 请输入承包户姓名（至少 {HOLDER_MIN_CHARS} 个字）"})
        found = (
            Parcel.objects.in_force(params.date(query, "on"))
            .filter(holder_name__contains=holder, code__startswith=prefix)  # prefix: within the user's banner
            .annotate(inside=PointOnSurface("geom"))
            .order_by("holder_name", "code")
        )
        # The scope above is the parcels whose holders the user sees whole, so the count is of what is listed;
        # a row that still comes back masked is dropped and taken off the count (never a holder-name oracle).
        count = found.count()
        results = []
        for parcel in found[:HOLDER_MAX_RESULTS]:
            shown = parcel_dict(parcel, request.user)
            if shown["holder"] != parcel.holder_name:
                count -= 1
                continue
            shown["village_code"] = parcel.code[:12]
            shown["point"] = {"lon": round(parcel.inside.x, 7), "lat": round(parcel.inside.y, 7)}
            results.append(shown)
        return Response({"count": count, "truncated": count > HOLDER_MAX_RESULTS, "results": results})
