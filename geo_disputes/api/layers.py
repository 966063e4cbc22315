"""GET /api/layers/<layer>/?bbox=&page=&page_size=&on= — an area layer as a GeoJSON FeatureCollection."""

from __future__ import annotations

import json

from django.http import HttpResponse
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.views import APIView

from geo_disputes.services.geojson import LAYERS, MAX_PAGE_SIZE, Page, feature_collection

from . import params


class LayerView(APIView):
    def get(self, request: Request, layer: str) -> HttpResponse:
        spec = LAYERS.get(layer)
        if spec is None:
            raise NotFound(f"unknown layer {layer!r}; layers: {', '.join(LAYERS)}")
        query = request.query_params
        page = Page(
            params.positive_int(query, "page", 1, 10**6),
            params.positive_int(query, "page_size", spec.page_size, MAX_PAGE_SIZE),
        )
        text, count = feature_collection(spec, bbox=params.bbox(query), on=params.date(query, "on"), page=page)
        return HttpResponse(_with_paging(text, count, page, request), content_type="application/geo+json")


def _with_paging(text: str, count: int, page: Page, request: Request) -> str:
    """Add drf-gis-style `count`, `next`, `previous` to the PostGIS-built collection (cheap string splice)."""

    def link(number: int) -> str | None:
        if number < 1 or (number - 1) * page.size >= count:
            return None
        query = request.query_params.copy()
        query["page"] = str(number)
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    meta = {
        "count": count,
        "next": link(page.number + 1),
        "previous": link(page.number - 1) if page.number > 1 else None,
    }
    head = json.dumps(meta, ensure_ascii=False)[1:-1]
    return "{" + head + "," + text.lstrip()[1:]
