"""Case points for maps: GET /api/case-points/?bbox=&zoom=&max_points=&<the filters of /api/cases/>.

The cases of /api/cases/ (same scope, same filters) as compact arrays for markers and heat, or as
counts per grid cell when the view holds more than `max_points` (services.cases.case_points says how).
"""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.views import APIView

from geo_disputes.services.cases.case_points import POINTS_MAX, case_points

from . import params
from .case_input import case_filter


class CasePointsView(APIView):
    def get(self, request: Request) -> HttpResponse:
        query = request.query_params
        text = case_points(
            request.user,
            case_filter(query),
            zoom=params.number(query, "zoom", low=0, high=22, required=False),
            max_points=params.positive_int(query, "max_points", POINTS_MAX, POINTS_MAX),
        )
        return HttpResponse(text, content_type="application/json")
