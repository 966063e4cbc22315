"""drf-gis-style pagination members (`count`, `next`, `previous`) for PostGIS-built collections."""

from __future__ import annotations

import json

from rest_framework.request import Request

from geo_disputes.services.geojson import Page, Total


def with_paging(text: str, count: int | Total, page: Page, request: Request) -> str:
    """Splice count/next/previous into the collection's JSON text (no re-parse of the features).

    An inexact total (counting stopped at a limit) adds `"count_exact": false`: there are at
    least `count` features, and always a next page.
    """
    total = count if isinstance(count, Total) else Total(count)

    def link(number: int) -> str | None:
        if number < 1 or ((number - 1) * page.size >= total.value and total.exact):
            return None
        query = request.query_params.copy()
        query["page"] = str(number)
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    meta = {
        "count": total.value,
        **({} if total.exact else {"count_exact": False}),
        "next": link(page.number + 1),
        "previous": link(page.number - 1) if page.number > 1 else None,
    }
    head = json.dumps(meta, ensure_ascii=False)[1:-1]
    return "{" + head + "," + text.lstrip()[1:]
