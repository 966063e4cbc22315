"""GET /api/emerging-hotspots/?step=month|quarter|year&time_steps=&category=&status=&tier=&since=&until=&township=

The emerging hot-spot categories of each hexagon (services.analysis.emerging), with the same filters and
the same scope as /api/hotspots/: only cases the user may see (access.visible_cases), aggregates only.
A cube the data cannot support is refused with 422, the message Chinese first and the parameter named.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_disputes.services.analysis.emerging import STEPS, emerging_hot_spots
from geo_disputes.services.analysis.hotspots import HotSpotRefused, StudyArea
from geo_disputes.services.cases.access import banner_codes_seen, visible_cases
from geo_disputes.services.cases.case_queries import filter_cases

from .analysis import _collection, _filter

MAX_TIME_STEPS = 12


class EmergingHotSpotView(APIView):
    def get(self, request: Request) -> HttpResponse:
        query = request.query_params
        step = query.get("step") or "month"
        if step not in STEPS:
            raise ValidationError({"step": "时间步长须为 month、quarter 或 year / use month, quarter or year"})
        raw = query.get("time_steps") or "1"
        if not raw.isdigit() or int(raw) > MAX_TIME_STEPS:
            raise ValidationError(
                {"time_steps": f"前序时间步数须为 0 至 {MAX_TIME_STEPS} / time_steps must be 0 to {MAX_TIME_STEPS}"}
            )
        flt = _filter(query, township=True)
        cases = filter_cases(visible_cases(request.user), flt)
        try:
            area = StudyArea(township=flt.township or "", on=flt.until, banner=banner_codes_seen(request.user) or "")
            result = emerging_hot_spots(cases, step, int(raw), area)
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
