"""/dashboard/: the indicators of services.stats for a period and area, numbers beside charts.

Thin: the form parses, services.stats validates and counts (the same function behind /api/stats/
and the monthly report), and the view only arranges the numbers as cards and chart series.
Charts are drawn by the vendored Chart.js (static/vendor/chartjs), so the page makes no external request.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from geo_disputes.models import Township, Village
from geo_disputes.models.cases import Satisfaction, Status, Tier
from geo_disputes.services import stats
from geo_disputes.services.report import percent, signed_percent

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIER_LABELS = {**dict(Tier.choices), stats.UNROUTED: "未分流"}
STATUS_LABELS = dict(Status.choices)
SATISFACTION_LABELS = dict(Satisfaction.choices)


class DashboardForm(forms.Form):
    since = forms.DateField(label="起始日期(登记)", required=False, widget=DATE_WIDGET)
    until = forms.DateField(label="截止日期(登记)", required=False, widget=DATE_WIDGET)
    township = forms.ChoiceField(label="苏木乡镇(街道)", required=False)
    village = forms.ChoiceField(label="嘎查村(社区)", required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        townships = list(Township.objects.in_force().order_by("code").values_list("code", "name"))
        names = dict(townships)
        villages: dict[str, list[tuple[str, str]]] = {}
        for code, name, township in (
            Village.objects.in_force().order_by("code").values_list("code", "name", "township_code")
        ):
            villages.setdefault(township, []).append((code, name))
        self.fields["township"].choices = [("", "全旗")] + townships
        self.fields["village"].choices = [("", "全部")] + [
            (names.get(township, township), members) for township, members in villages.items()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            data["period"] = stats.resolve_period(data.get("since"), data.get("until"))
            data["area"] = stats.resolve_area(data.get("township", ""), data.get("village", ""))
        except stats.StatsInputError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "dashboard/index.html", {"form": form}, status=400)
    if form.is_bound:
        period, area = form.cleaned_data["period"], form.cleaned_data["area"]
    else:
        period, area = stats.resolve_period(None, None), stats.Area()
    data = stats.indicators(request.user, period, area)
    if not form.is_bound:
        form = DashboardForm(initial={"since": period.since, "until": period.until})
    charts = chart_series(data)
    return render(
        request,
        "dashboard/index.html",
        {
            "form": form,
            "data": data,
            "cards": cards(data),
            "satisfaction": [
                (SATISFACTION_LABELS[value], data["satisfaction"]["counts"][value], percent(share))
                for value, share in data["satisfaction"]["shares"].items()
            ],
            "charts": charts,
            "tier_rows": list(zip(charts["by_tier"]["labels"], charts["by_tier"]["values"], strict=True)),
            "definitions": [(stats.LABELS.get(key, key), key, text) for key, text in stats.DEFINITIONS.items()],
            "report_month": f"{period.until:%Y-%m}",
        },
    )


def cards(data: dict[str, Any]) -> list[dict[str, str]]:
    """The headline numbers as (label, value, note, definition) for the template."""
    counts = data["counts"]
    litigation = data["litigation"]

    def card(key: str, value: str, note: str = "") -> dict[str, str]:
        return {"key": key, "label": stats.LABELS[key], "value": value, "note": note, "title": stats.DEFINITIONS[key]}

    return [
        card("cases_total", f"{data['cases_total']}", f"已办结 {data['concluded']} 件"),
        card("concluded_at_village_share", percent(data["concluded_at_village_share"]), "村级办结 ÷ 全部办结"),
        card(
            "concluded_at_or_below_township_share",
            percent(data["concluded_at_or_below_township_share"]),
            "村、乡镇、矿区法庭办结 ÷ 全部办结",
        ),
        card("escalated_to_banner_share", percent(data["escalated_to_banner_share"]), "旗级事项 ÷ 全部事项"),
        card(
            "conclusion_rate",
            percent(data["conclusion_rate"]),
            f"{data['concluded']} / {counts['accepted_or_pending']}",
        ),
        card("on_time_rate", percent(data["on_time_rate"]), f"{counts['on_time']} / {counts['due']}"),
        card("overdue_by_unit", f"{data['overdue_open']}", "今日逾期未办结事项"),
        card("agent_handled", f"{data['agent_handled']}", "网格员代办"),
        card("agent_concluded", f"{data['agent_concluded']}", "代办事项中已办结"),
        card("township_complex_resolved", f"{data['township_complex_resolved']}", "事项组计1件"),
        card("mining_court_mediated", f"{data['mining_court_mediated']}", "调解协议、司法确认"),
        card(
            "litigation_yoy_change",
            signed_percent(data["litigation_yoy_change"]),
            f"本期 {litigation['this_period']} 件 · 上年同期 {litigation['year_earlier']} 件",
        ),
        card("repeat_rate", percent(data["repeat_rate"]), f"{counts['repeat_petitions']} / {counts['petitions']} 件次"),
    ]


def chart_series(data: dict[str, Any]) -> dict[str, Any]:
    """Labels and values of the four charts (JSON for static/js/dashboard.js)."""
    return {
        "by_tier": {
            "labels": [TIER_LABELS.get(k, k) for k in data["by_tier"]],
            "values": list(data["by_tier"].values()),
        },
        "by_status": {
            "labels": [STATUS_LABELS.get(k, k) for k in data["by_status"]],
            "values": list(data["by_status"].values()),
        },
        "by_month": {
            "labels": [row["month"] for row in data["by_month"]],
            "received": [row["received"] for row in data["by_month"]],
            "concluded": [row["concluded"] for row in data["by_month"]],
        },
        "overdue_by_unit": {
            "labels": [row["unit_name"] for row in data["overdue_by_unit"][:15]],
            "values": [row["overdue"] for row in data["overdue_by_unit"][:15]],
        },
    }
