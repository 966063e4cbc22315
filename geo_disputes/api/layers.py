"""GET /api/layers/<layer>/?bbox=&page=&page_size=&on= — an area layer as a GeoJSON FeatureCollection."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.views import APIView

from geo_disputes.services.cases.access import can_read_contract_numbers
from geo_disputes.services.geojson import LAYERS, MAX_PAGE_SIZE, Page, feature_collection

from . import params
from .paging import with_paging


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
        # A contract number names a household's contract: not for planners and field staff.
        hide = () if can_read_contract_numbers(request.user) else ("contract_no",)
        text, count = feature_collection(
            spec, request.user, bbox=params.bbox(query), on=params.date(query, "on"), page=page, hide=hide
        )
        return HttpResponse(with_paging(text, count, page, request), content_type="application/geo+json")
