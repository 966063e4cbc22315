"""/dashboard/: the indicators of services.analysis.stats for a period and area, numbers beside charts.

Thin: the form parses, services.analysis.stats validates and counts (the same function behind /api/stats/
and the monthly report), and the view only arranges the numbers as cards and chart series.
Charts are drawn by the vendored Chart.js (static/vendor/chartjs), so the page makes no external request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from geo_disputes.form_fields import DateField
from geo_disputes.models import Township, Village
from geo_disputes.models.cases import Procedure, Satisfaction, Status, Tier
from geo_disputes.services.analysis import figure_links as links
from geo_disputes.services.analysis import stats
from geo_disputes.services.analysis.overdue_scope import overdue_definition
from geo_disputes.services.analysis.report import percent, signed_percent
from geo_disputes.services.cases.access import banner_prefix

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIER_LABELS = {**dict(Tier.choices), stats.UNROUTED: gettext_noop("未分流")}
STATUS_LABELS = dict(Status.choices)
PROCEDURE_LABELS = dict(Procedure.choices)
SATISFACTION_LABELS = dict(Satisfaction.choices)


class DashboardForm(forms.Form):
    since = DateField(label=gettext_lazy("起始日期(登记)"), required=False, widget=DATE_WIDGET)
    until = DateField(label=gettext_lazy("截止日期(登记)"), required=False, widget=DATE_WIDGET)
    township = forms.ChoiceField(label=gettext_lazy("苏木乡镇(街道)"), required=False)
    village = forms.ChoiceField(label=gettext_lazy("嘎查村(社区)"), required=False)

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        prefix = banner_prefix(user)  # the user's banner(s)' places
        townships = list(
            Township.objects.in_force().filter(code__startswith=prefix).order_by("code").values_list("code", "name")
        )
        names = dict(townships)
        villages: dict[str, list[tuple[str, str]]] = {}
        for code, name, township in (
            Village.objects.in_force()
            .filter(code__startswith=prefix)
            .order_by("code")
            .values_list("code", "name", "township_code")
        ):
            villages.setdefault(township, []).append((code, name))
        self.fields["township"].choices = [("", _("全旗"))] + townships
        self.fields["village"].choices = [("", _("全部"))] + [
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
    form = DashboardForm(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        return render(request, "dashboard/index.html", {"form": form}, status=400)
    if form.is_bound:
        period, area = form.cleaned_data["period"], form.cleaned_data["area"]
    else:
        period, area = stats.resolve_period(None, None), stats.Area()
    data = stats.indicators(request.user, period, area)
    if not form.is_bound:
        form = DashboardForm(initial={"since": period.since, "until": period.until}, user=request.user)
    charts = chart_series(data)
    filters = links.period_filters(period.since, period.until, area.township, area.village)
    place = {k: v for k, v in filters.items() if k in ("township", "village")}
    return render(
        request,
        "dashboard/index.html",
        {
            "form": form,
            "data": data,
            "cards": cards(data, filters),
            "presets": [
                (_(label), f"{reverse('dashboard')}?{urlencode({'since': since, 'until': until, **place})}")
                for label, since, until in stats.period_presets()
            ],
            "satisfaction": [
                (_(SATISFACTION_LABELS[value]), data["satisfaction"]["counts"][value], percent(share))
                for value, share in data["satisfaction"]["shares"].items()
            ],
            "charts": charts,
            "tier_rows": [
                (_(TIER_LABELS.get(code, code)), n, links.case_list_url(filters, tier=code) if code else "")
                for code, n in data["by_tier"].items()
            ],
            "status_rows": [
                (_(STATUS_LABELS.get(code, code)), n, links.case_list_url(filters, status=code))
                for code, n in data["by_status"].items()
                if n
            ],
            "month_rows": [
                {**row, "href": links.month_url(filters, row["month"]) if row["received"] else ""}
                for row in data["by_month"]
            ],
            "unit_rows": _unit_rows(data["overdue_by_unit"], filters),
            "procedure_rows": list(
                zip(charts["by_procedure"]["labels"], charts["by_procedure"]["values"], strict=True)
            ),
            "synthetic_note": stats.SYNTHETIC_NOTE,
            "procedure_definition": stats.DEFINITIONS["by_procedure"],
            "satisfaction_definition": stats.DEFINITIONS["satisfaction"],
            "definitions": [(_(stats.LABELS.get(key, key)), key, text) for key, text in stats.DEFINITIONS.items()],
            "report_month": f"{period.until:%Y-%m}",
        },
    )


def _unit_rows(rows: list[dict[str, Any]], filters: dict[str, str]) -> list[dict[str, Any]]:
    """The overdue-by-unit table, each row linked to that unit's overdue cases where the list can pick them out."""
    urls = links.unit_urls(filters, [row["unit_code"] for row in rows], due="overdue")
    return [{**row, "href": urls.get(row["unit_code"], "")} for row in rows]


# The cards whose number is a set of cases the list can show (the list counts cases; the dashboard counts a
# group once, so a group's members make the list longer than the card).
CARD_LINKS = {"cases_total": {}, "overdue_by_unit": {"due": "overdue"}, "mining_court": {"tier": Tier.MINING_COURT}}


def cards(data: dict[str, Any], filters: dict[str, str] | None = None) -> list[dict[str, str]]:
    """The headline numbers as (key, label, value, note, definition, href) for the template; the definition is
    printed under each number, not hidden in a tooltip."""
    counts = data["counts"]
    litigation = data["litigation"]
    above = data["above_banner"]
    follow_up = data["follow_up"]
    procedures = data["procedures"]
    court = procedures["mining_court"]
    by_tier = counts["concluded_by_tier"]

    def card(key: str, value: str, note: str = "", definition: str = "", more: list | None = None) -> dict[str, Any]:
        return {
            "href": links.case_list_url(filters, **CARD_LINKS[key]) if filters and key in CARD_LINKS else "",
            "more": more or [],
            "key": key,
            "label": _(stats.LABELS[key]),
            "value": value,
            "note": note,
            "title": stats.DEFINITIONS[key],
            "definition": definition or stats.DEFINITIONS[key],
        }

    return [
        card(
            "cases_total",
            f"{data['cases_total']}",
            _("已办结 %(n)s 件")
            % {
                "n": data["concluded"],
            },
        ),
        card(
            "concluded_at_village_share",
            percent(data["concluded_at_village_share"]),
            _("村级办结 %(n)s / 首办在村(已办结或已离村)%(d)s")
            % {"n": counts["concluded_at_village"], "d": counts["village_decided"]},
        ),
        card(
            "concluded_at_or_below_township_share",
            percent(data["concluded_at_or_below_township_share"]),
            _("村 %(v)s + 乡镇 %(t)s / 已办结 %(n)s")
            % {"v": by_tier["village"], "t": by_tier["township"], "n": data["concluded"]},
        ),
        card(
            "mining_court_concluded_share",
            percent(data["mining_court_concluded_share"]),
            _("矿区法庭办结 %(c)s / 已办结 %(n)s")
            % {
                "c": by_tier["mining_court"],
                "n": data["concluded"],
            },
        ),
        card(
            "above_banner",
            f"{above['total']}",
            _("占 %(share)s;")
            % {
                "share": percent(above["share"]),
            }
            + " ".join(f"{_(stats.ABOVE_BANNER_LABELS[kind])} {n}" for kind, n in above["by_kind"].items()),
        ),
        card(
            "conclusion_rate",
            percent(data["conclusion_rate"]),
            f"{data['concluded']} / {counts['accepted_or_pending']}",
        ),
        card(
            "on_time_rate",
            percent(data["on_time_rate"]),
            _("%(on)s / %(due)s 个环节 · ")
            % {
                "on": counts["stages_on_time"],
                "due": counts["stages_due"],
            }
            + " ".join(
                f"{_(stats.STAGE_LABELS[stage])} {row['on_time']}/{row['on_time'] + row['late']}"
                for stage, row in data["on_time_by_stage"].items()
            ),
        ),
        card(
            "overdue_by_unit",
            f"{data['overdue_open']}",
            _("统计期内登记、今日逾期未办结的事项"),
            overdue_definition(
                data["today"],
                data["today"],
                data["period"]["since"],
                data["period"]["until"],
                data["area"]["village"] or data["area"]["township"],
            ),
            more=[
                (
                    _("临期 %(n)s 件") % {"n": counts["due_soon_open"]},
                    links.case_list_url(filters, due="soon") if filters is not None else "",
                )
            ],
        ),
        card(
            "follow_up_participation_rate",
            percent(follow_up["participation_rate"]),
            _("%(r)s / %(c)s 件")
            % {
                "r": follow_up["reached"],
                "c": follow_up["concluded"],
            },
        ),
        card("follow_up_unreachable", f"{follow_up['unreachable']}", _("每次回访均未联系到")),
        card("mediation_agreements", f"{procedures['mediation_agreements']}", _("调解协议书")),
        card("judicial_confirmations", f"{procedures['judicial_confirmations']}", _("司法确认裁定")),
        card(
            "mining_court",
            f"{court['matters']}",
            _("调解结案 %(m)s · 判决结案 %(j)s")
            % {
                "m": court["mediated"],
                "j": court["judged"],
            },
        ),
        card("agent_handled", f"{data['agent_handled']}", _("网格员代办")),
        card("agent_concluded", f"{data['agent_concluded']}", _("代办事项中已办结")),
        card("township_complex_resolved", f"{data['township_complex_resolved']}", _("事项组计1件")),
        card(
            "litigation_yoy_change",
            signed_percent(data["litigation_yoy_change"]),
            _("本期 %(a)s 件 · 上年同期 %(b)s 件")
            % {
                "a": litigation["this_period"],
                "b": litigation["year_earlier"],
            },
        ),
        card(
            "repeat_rate",
            percent(data["repeat_rate"]),
            _("%(r)s / %(p)s 件次")
            % {
                "r": counts["repeat_petitions"],
                "p": counts["petitions"],
            },
        ),
    ]


def chart_series(data: dict[str, Any]) -> dict[str, Any]:
    """Labels and values of the charts (JSON for static/js/dashboard.js)."""
    return {
        "by_tier": {
            "labels": [_(TIER_LABELS.get(k, k)) for k in data["by_tier"]],
            "values": list(data["by_tier"].values()),
        },
        "by_procedure": {
            "labels": [_(PROCEDURE_LABELS.get(k, k)) for k in data["by_procedure"]],
            "values": list(data["by_procedure"].values()),
        },
        "by_status": {
            "labels": [_(STATUS_LABELS.get(k, k)) for k in data["by_status"]],
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
