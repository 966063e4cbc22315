"""The follow-up (回访) register page and its CSV: thin over services/cases/follow_up_register.py."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from geo_disputes.forms import FollowUpRegisterForm
from geo_disputes.models import FollowUp, Unit
from geo_disputes.models.cases import Satisfaction
from geo_disputes.services.analysis.spreadsheet import safe_row
from geo_disputes.services.cases.access import visible_cases
from geo_disputes.services.cases.clock import local_today
from geo_disputes.services.cases.follow_up_register import (
    DEFINITIONS,
    RegisterError,
    follow_ups,
    local_moment,
    register_filter,
    rows_as_seen,
    unit_summaries,
)
from geo_disputes.templatetags.bilingual import one_language

PAGE_SIZE = 100


def _answer_label(answer: str) -> str:
    if answer == "unreachable":
        return _("未能联系到信访人")
    return _(Satisfaction(answer).label) if answer in Satisfaction.values else ""


def _parse(request: HttpRequest):
    """The form, the filter (None when refused) and the page's status."""
    units = Unit.objects.filter(pk__in=visible_cases(request.user).values("unit")).order_by("code")
    form = FollowUpRegisterForm(request.GET or None, units=units)
    today = local_today()
    if form.is_bound and not form.is_valid():
        return form, None, 400
    data = form.cleaned_data if form.is_bound else {}
    try:
        flt = register_filter(data.get("since"), data.get("until"), data.get("unit") or "", today)
    except RegisterError as refusal:
        if not form.is_bound:
            form = FollowUpRegisterForm({}, units=units)
            form.is_valid()
        form.add_error(refusal.field if refusal.field in form.fields else None, one_language(str(refusal)))
        return form, None, 400
    return form, flt, 200


@login_required
def register(request: HttpRequest) -> HttpResponse:
    """Follow-ups on the cases the user sees, in the period and unit asked for, and the per-unit summary."""
    form, flt, status = _parse(request)
    context = {"form": form, "definitions": {k: one_language(v) for k, v in DEFINITIONS.items()}, "flt": flt}
    if flt is not None:
        summaries, total = unit_summaries(request.user, flt)
        page = Paginator(follow_ups(request.user, flt), PAGE_SIZE).get_page(request.GET.get("page"))
        rows = rows_as_seen(request.user, list(page.object_list))
        for row in rows:
            row.answer_label = _answer_label(row.answer)
            row.method_label = _(FollowUp.Method(row.record.method).label)
            row.at_local = local_moment(row.record)
        context |= {"summaries": summaries, "total": total, "rows": rows, "page": page, "query": _query(request)}
    return render(request, "cases/follow_ups.html", context, status=status)


@login_required
def export(request: HttpRequest) -> HttpResponse:
    """The same register as CSV (UTF-8 with BOM for Excel/WPS): the per-unit summary, then every follow-up."""
    form, flt, status = _parse(request)
    if flt is None:
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    summaries, total = unit_summaries(request.user, flt)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="follow-ups-{flt.since}-{flt.until}.csv"'
    response["Cache-Control"] = "private, no-store"
    response.write("\ufeff")
    out = csv.writer(response)
    out.writerow(["统计期 period", flt.since.isoformat(), flt.until.isoformat()])
    out.writerow(["单位代码", "单位", "期内办结", "已回访", "联系到", "回访参与率", "满意", "满意率"])
    for s in [*summaries, total]:
        out.writerow(
            safe_row(
                [
                    s.unit_code or ("合计" if s is total else ""),
                    s.unit_name,
                    s.concluded,
                    s.followed,
                    s.reached,
                    _share(s.participation_rate),
                    s.satisfied,
                    _share(s.satisfied_share),
                ]
            )
        )
    out.writerow([])
    out.writerow(["回访时间", "事项编号", "责任单位", "回访人", "信访人", "方式", "结果", "备注"])
    for row in rows_as_seen(request.user, list(follow_ups(request.user, flt)), "回访登记导出 follow-up export"):
        out.writerow(
            safe_row(
                [
                    local_moment(row.record).strftime("%Y-%m-%d %H:%M"),
                    row.reference,
                    row.unit_name,
                    row.caller,
                    row.petitioners,
                    FollowUp.Method(row.record.method).label,
                    "未能联系到信访人" if row.answer == "unreachable" else Satisfaction(row.answer).label,
                    row.note,
                ]
            )
        )
    return response


def _share(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _query(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
