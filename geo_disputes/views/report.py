"""The monthly joint-meeting report: printable page, CSV (UTF-8 with BOM) and XLSX.

/report/monthly/?month=YYYY-MM · /report/monthly.csv?month= · /report/monthly.xlsx?month=
Thin: services.analysis.report builds the report (over access.visible_cases, numbers from services.analysis.stats)
and writes both files; these views parse the month and attach the right headers.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

from geo_disputes.services.analysis import report as reports
from geo_disputes.services.analysis import stats

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def monthly(request: HttpRequest) -> HttpResponse:
    try:
        month = reports.parse_month(request.GET.get("month"))
    except reports.ReportInputError as exc:
        return render(request, "report/monthly.html", {"error": exc.message, "month_value": ""}, status=400)
    report = reports.monthly_report(request.user, month)
    return render(
        request,
        "report/monthly.html",
        {
            "report": report,
            "headers": reports.header_lines(report),
            "summary": reports.summary_lines(report.summary),
            "month_value": f"{month:%Y-%m}",
            "ranking_definition": stats.DEFINITIONS["on_time_rate"],
        },
    )


@login_required
def monthly_csv(request: HttpRequest) -> HttpResponse:
    report = _report(request)
    if isinstance(report, HttpResponse):
        return report
    return _download(reports.report_csv(report), "text/csv; charset=utf-8", f"joint-meeting-{report.month:%Y-%m}.csv")


@login_required
def monthly_xlsx(request: HttpRequest) -> HttpResponse:
    report = _report(request)
    if isinstance(report, HttpResponse):
        return report
    return _download(reports.report_xlsx(report), XLSX_TYPE, f"joint-meeting-{report.month:%Y-%m}.xlsx")


def _report(request: HttpRequest) -> reports.MonthlyReport | HttpResponse:
    try:
        month = reports.parse_month(request.GET.get("month"))
    except reports.ReportInputError as exc:
        return HttpResponseBadRequest(f"{exc.field}: {exc.message}", content_type="text/plain; charset=utf-8")
    return reports.monthly_report(request.user, month)


def _download(body: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
