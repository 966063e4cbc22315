"""GET /api/parcels/<code>/?on= — one parcel as a GeoJSON Feature, with where it lies.

The field lookup by parcel code needs the outline and the same context a tap on the map
gives (township, village, grid and its worker, mining-area relation), so `context` is the
locate service's answer at the parcel's point-on-surface: a point inside even a concave or
ring-shaped parcel, where a centroid could fall outside it.
"""

from __future__ import annotations

import json

from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_disputes.models import Parcel
from geo_disputes.services.coords import Datum
from geo_disputes.services.locate import OutsideBanner, locate

from . import params
from .representations import location_dict, parcel_dict


class ParcelView(APIView):
    def get(self, request: Request, code: str) -> Response:
        on = params.date(request.query_params, "on")
        parcel = Parcel.objects.in_force(on).filter(code=code).first()
        if parcel is None:
            raise NotFound(f"no parcel {code!r} in force / 未找到地块 {code}")
        inside = parcel.geom.point_on_surface
        try:
            loc = locate(inside.x, inside.y, Datum.WGS84, on=on)
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
