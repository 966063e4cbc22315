"""Links from the dashboard's figures to the cases behind them on the case list (/cases/), with the same filters.

The list filters on the registration date (since..until), area, category, status (`open` included), tier and
the holder's deadline (`due=overdue|soon`, judged today — as the dashboard is). It lists case rows: a case group's
members each appear, so a list may be longer than a figure that counts the group once. A figure the list cannot
reproduce (a share, a unit's banner department, a concluded-status set) gets no link rather than a wrong one.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.urls import reverse

from geo_disputes.models import Unit
from geo_disputes.models.cases import Tier

# A unit whose cases the list can pick out by tier and area: a committee holds the matters at its tier in its area
# (routing.unit_for_tier), the mining court every mining-court matter. Banner departments share the banner tier.
_UNIT_TIERS = {
    Unit.Kind.VILLAGE_COMMITTEE: (Tier.VILLAGE, "village"),
    Unit.Kind.TOWNSHIP_COMMITTEE: (Tier.TOWNSHIP, "township"),
    Unit.Kind.MINING_COURT: (Tier.MINING_COURT, ""),
}


def period_filters(since: dt.date, until: dt.date, township: str = "", village: str = "") -> dict[str, str]:
    """The dashboard's period and area as case-list parameters."""
    filters = {"since": f"{since:%Y-%m-%d}", "until": f"{until:%Y-%m-%d}"}
    if township:
        filters["township"] = township
    if village:
        filters["village"] = village
    return filters


def case_list_url(filters: dict[str, str], **more: str) -> str:
    """The case list with `filters` and `more` (later wins)."""
    return f"{reverse('case-list')}?{urlencode({**filters, **more})}"


def month_url(filters: dict[str, str], month: str) -> str:
    """The cases registered in `month` ("YYYY-MM"), within the dashboard's period (its first and last months
    may be partial)."""
    first = dt.date.fromisoformat(f"{month}-01")
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    since = max(first, dt.date.fromisoformat(filters["since"]))
    until = min(last, dt.date.fromisoformat(filters["until"]))
    return case_list_url(filters, since=f"{since:%Y-%m-%d}", until=f"{until:%Y-%m-%d}")


def unit_urls(filters: dict[str, str], unit_codes: list[str], **more: str) -> dict[str, str]:
    """Per unit code, the list of that unit's cases (with `more`, e.g. due=overdue) — only for units the list can
    pick out (committees, the mining court); a committee outside the dashboard's area gets no link."""
    urls = {}
    for unit in Unit.objects.filter(code__in=[code for code in unit_codes if code]):
        tier_and_field = _UNIT_TIERS.get(unit.kind)
        if tier_and_field is None:
            continue
        tier, field = tier_and_field
        place = {field: unit.area_code} if field and unit.area_code else {}
        if field and not place:
            continue
        chosen = [filters[key] for key in ("township", "village") if key in filters]
        if field and any(not (unit.area_code.startswith(code) or code.startswith(unit.area_code)) for code in chosen):
            continue  # a committee outside the dashboard's area: its list here would be empty
        urls[unit.code] = case_list_url(filters, tier=tier, **place, **more)
    return urls
