"""GET /api/locate/?lon=&lat=&datum= — what the banner knows about a point."""

from __future__ import annotations

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_disputes.services.areas.area_scope import confine_location
from geo_disputes.services.areas.coords import DatumError, parse_datum
from geo_disputes.services.areas.locate import Location, OutsideBanner, locate

from . import params
from .representations import location_dict


class LocateView(APIView):
    def get(self, request: Request) -> Response:
        lon, lat = params.lon_lat(request.query_params)
        try:
            datum = parse_datum(request.query_params.get("datum"))
        except DatumError as exc:
            raise ValidationError({"datum": str(exc)}) from None
        on = params.date(request.query_params, "on")
        try:
            loc: Location = confine_location(request.user, locate(lon, lat, datum, on=on), on)
        except OutsideBanner as exc:
            raise NotFound(str(exc)) from None
        return Response(location_dict(loc, request.user))
