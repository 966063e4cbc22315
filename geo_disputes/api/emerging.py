"""GET /api/emerging-hotspots/?step=month|quarter|year&time_steps=&category=&status=&tier=&since=&until=&township=

The emerging hot-spot categories of each hexagon (services.analysis.emerging), with the same filters and
the same scope as /api/hotspots/: only cases the user may see (access.visible_cases), aggregates only.
A cube the data cannot support is refused with 422, the message Chinese first and the parameter named.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_disputes.services.analysis.emerging import STEPS, emerging_hot_spots
from geo_disputes.services.analysis.hotspots import HotSpotRefused, StudyArea
from geo_disputes.services.cases.access import banner_prefix, visible_cases
from geo_disputes.services.cases.case_queries import filter_cases

from .analysis import _collection, _filter
from .params import choice, integer

MAX_TIME_STEPS = 12


class EmergingHotSpotView(APIView):
    def get(self, request: Request) -> HttpResponse:
        query = request.query_params
        step = choice(query, "step", STEPS, "month")
        # ASCII digits only (params.integer refuses "１２", "²"); more than MAX_TIME_STEPS is clipped.
        time_steps = integer(query, "time_steps", default=1, low=0, high=MAX_TIME_STEPS)
        flt = _filter(query, township=True)
        cases = filter_cases(visible_cases(request.user), flt)
        try:
            area = StudyArea(township=flt.township or "", on=flt.until, banner=banner_prefix(request.user))
            result = emerging_hot_spots(cases, step, time_steps, area)
        except HotSpotRefused as exc:
            body = {exc.field: [exc.message]} if exc.field else {"detail": exc.message}
            return Response(body, status=422)
        head = {
            "type": "FeatureCollection",
            "step": result.step,
            "time_steps": result.time_steps,
            "steps": [s.isoformat() for s in result.steps],
            "cell_size_m": round(result.cell_size_m, 3),
            "distance_band_m": round(result.distance_band_m, 3),
            "fdr_alpha": 0.05,
            "fdr_p_cutoff": result.p_cutoff,
            "n_incidents": result.n_incidents,
            "study_area": flt.township or "banner",
        }
        features = ",".join(
            f'{{"type":"Feature","id":"{loc.i}_{loc.j}","geometry":'
            + loc.geometry
            + ',"properties":'
            + json.dumps(
                {
                    "category": loc.category,
                    "trend_z": loc.trend_z,
                    "trend_p": loc.trend_p,
                    "gi_z": [round(v, 6) for v in loc.gi_z],
                    "counts": loc.counts,
                    "center_4546": [round(loc.x, 3), round(loc.y, 3)],
                }
            )
            + "}"
            for loc in result.locations
        )
        return _collection(head, "[" + features + "]")
