"""GET /maps/features/mining-parcels/?bbox=&on=&page=&page_size= — the court map's parcel layer.

Same shape as /api/layers/<layer>/ (a FeatureCollection with count/next/previous, built by
PostGIS) so the map's loader treats both alike; only the selection differs (services/areas/mining_parcels.py).
"""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.views import APIView

from geo_disputes.api import params
from geo_disputes.api.paging import with_paging
from geo_disputes.services.areas.mining_parcels import mining_parcels
from geo_disputes.services.cases.access import can_read_contract_numbers
from geo_disputes.services.geojson import MAX_PAGE_SIZE, Page

PAGE_SIZE = 2000


class MiningParcelsView(APIView):
    def get(self, request: Request) -> HttpResponse:
        query = request.query_params
        page = Page(
            params.positive_int(query, "page", 1, 10**6),
            params.positive_int(query, "page_size", PAGE_SIZE, MAX_PAGE_SIZE),
        )
        text, count = mining_parcels(
            params.bbox(query),
            params.date(query, "on"),
            page,
            contract_numbers=can_read_contract_numbers(request.user),
            user=request.user,
        )
        return HttpResponse(with_paging(text, count, page, request), content_type="application/geo+json")
