"""GET /tiles/<layer>/<z>/<x>/<y>.pbf — a Mapbox Vector Tile (services/tiles.py); token or session, as the API.

An empty tile is 204. An area tile carries an ETag (If-None-Match → 304) and may be kept privately for five
minutes; a case tile is `private, no-store`: it holds what this reader's scope shows, never to be reused.
"""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from geo_disputes.services import tiles

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


class TileView(APIView):
    def get(self, request: Request, layer: str, z: int, x: int, y: int) -> HttpResponse:
        try:
            found = tiles.tile(request.user, layer, z, x, y)
        except tiles.TileError as exc:
            if exc.status == 404:
                raise NotFound(str(exc)) from None
            raise ValidationError({"tile": str(exc)}) from None
        if found.cacheable and request.headers.get("If-None-Match") == found.etag:
            response = HttpResponse(status=304)
        elif not found.data:
            response = HttpResponse(status=204)
        else:
            response = HttpResponse(found.data, content_type=MEDIA_TYPE)
        if found.cacheable:
            response["ETag"] = found.etag
            response["Cache-Control"] = "private, max-age=300"
        else:
            response["Cache-Control"] = "private, no-store"
        response["Vary"] = "Cookie, Authorization"
        return response
