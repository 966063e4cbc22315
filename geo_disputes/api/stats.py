"""GET /api/stats/?since=&until=&township=&village= — the dashboard's indicators as JSON.

Every number comes from services.analysis.stats over the cases the caller may see (a village officer's
statistics are of their village). Parameters: `since`/`until` (YYYY-MM-DD, Asia/Shanghai days on
the received date, inclusive; default the twelve months ending today), `township` (9-digit code),
`village` (12-digit code). A bad parameter is a 400 naming it. The response carries `definitions`:
each indicator's definition (services.analysis.stats.DEFINITIONS), the API's documentation of its fields.
Shares and rates are fractions 0..1 (null when there is nothing to divide by); `counts` holds
every numerator and denominator.
"""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_disputes.services.analysis import stats

from . import params


class StatsView(APIView):
    def get(self, request: Request) -> Response:
        query = request.query_params
        since, until = params.date(query, "since"), params.date(query, "until")
        try:
            period = stats.resolve_period(since, until)
            area = stats.resolve_area(query.get("township", ""), query.get("village", ""))
        except stats.StatsInputError as exc:
            raise ValidationError({exc.field: exc.message}) from None
        return Response(stats.indicators(request.user, period, area))
