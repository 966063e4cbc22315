"""Why the dashboard and the monthly report gave different overdue counts (58 vs 59), and what each now says
under its number: the dashboard counts the matters registered in its period on today; the report's section 3
every open matter whenever registered, on the month's end; the report's summary the month's registrations."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import translation

from geo_disputes.models import Case, CaseGroup, Unit
from geo_disputes.services.analysis import report as reports
from geo_disputes.services.analysis import stats
from geo_disputes.services.analysis.overdue_scope import overdue_definition
from geo_disputes.services.cases.clock import STATUTE_TZ, DueState, annotate_dues, local_today
from tests.factories import CaseFactory, StaffFactory, seed_places

pytestmark = pytest.mark.django_db

VILLAGE = "150622106202"
TODAY = dt.date(2026, 6, 10)  # a Wednesday; 2026-06-12 (Friday) is a working day


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10), tzinfo=STATUTE_TZ)


def petition(reference: str, received: dt.date, accepted: dt.date | None = None, **extra) -> Case:
    return CaseFactory(
        reference=reference,
        procedure="petition",
        received_at=at(received),
        accepted_at=at(accepted) if accepted else None,
        status="accepted" if accepted else "reported",
        township_code=VILLAGE[:9],
        village_code=VILLAGE,
        unit=Unit.objects.get(code=f"VC-{VILLAGE}"),
        **extra,
    )


def due_state(reference: str, on: dt.date) -> str:
    return annotate_dues(Case.objects.filter(reference=reference), on).get().due_state


@pytest.fixture(autouse=True)
def chinese():
    """The services speak the active language; a page asked in English before must not leave it active."""
    with translation.override("zh-hans"):
        yield


@pytest.fixture
def admin():
    seed_places()
    return StaffFactory(role="banner_admin").user


@pytest.fixture
def world(admin):
    """OLD: registered 15 months ago, open, long overdue — outside the dashboard's default twelve months.
    MAY: registered in May, unaccepted, overdue by 31 May. LATE-JUNE-DUE: registered 25 May, its 15 days end on
    9 June — overdue today, not yet on 31 May. A group: its first member only due soon today (conclusion due
    12 June), its second overdue (unaccepted since 20 May) — one matter, overdue."""
    petition("OLD", dt.date(2025, 3, 2), accepted=dt.date(2025, 3, 5))
    petition("MAY", dt.date(2026, 5, 1))
    petition("LATE-JUNE-DUE", dt.date(2026, 5, 25))
    group = CaseGroup.objects.create(title="两户房屋开裂", category="mining_subsidence")
    petition("GROUP-SOON", dt.date(2026, 4, 1), accepted=TODAY - dt.timedelta(days=58), group=group)
    petition("GROUP-LATE", dt.date(2026, 5, 20), group=group)
    return admin


def test_the_cases_really_stand_as_the_fixture_says(world):
    assert due_state("GROUP-SOON", TODAY) == DueState.DUE_SOON
    assert due_state("GROUP-LATE", TODAY) == DueState.OVERDUE
    assert due_state("LATE-JUNE-DUE", TODAY) == DueState.OVERDUE
    assert due_state("LATE-JUNE-DUE", dt.date(2026, 5, 31)) != DueState.OVERDUE
    assert due_state("OLD", TODAY) == due_state("MAY", dt.date(2026, 5, 31)) == DueState.OVERDUE


def test_the_dashboard_and_the_report_count_different_cases_and_each_says_which(world):
    dashboard = stats.indicators(world, stats.resolve_period(None, None, today=TODAY), today=TODAY)
    june = reports.monthly_report(world, dt.date(2026, 6, 1), today=TODAY)
    # MAY, LATE-JUNE-DUE and the group (once, though its first member is only due soon) — OLD is out of the period
    assert dashboard["overdue_open"] == 3
    # the report's section 3 has OLD too: it counts open matters whenever registered
    assert june.overdue_count == 4 and june.due_soon_count == 0
    assert {row["reference"] for row in june.due_cases} == {"OLD", "MAY", "LATE-JUNE-DUE", "GROUP-LATE"}
    assert june.summary["overdue_open"] == 0  # nothing registered in June

    assert june.overdue_definition == (
        "截至 2026-06-10(今日),不限登记日期的未办结事项中已过持有单位自身期限的件数;事项组计1件,重复信访不计。"
    )
    assert overdue_definition(TODAY, TODAY, dashboard["period"]["since"], dashboard["period"]["until"]) == (
        "截至 2026-06-10(今日),2025-06-11 至 2026-06-10 登记的未办结事项中已过持有单位自身期限的件数;"
        "事项组计1件,重复信访不计。"
    )
    assert june.summary_overdue_definition.startswith("截至 2026-06-10(今日),2026-06-01 至 2026-06-30 登记的")


def test_a_past_month_is_judged_on_its_last_day(world):
    may = reports.monthly_report(world, dt.date(2026, 5, 1), today=TODAY)
    assert may.as_of == dt.date(2026, 5, 31)
    assert may.overdue_count == 2  # OLD and MAY; LATE-JUNE-DUE and GROUP-LATE fell due in June
    assert may.summary["overdue_open"] == 1  # of May's registrations only MAY was overdue on 31 May
    assert may.overdue_definition.startswith("截至 2026-05-31(月末),不限登记日期的")
    assert may.summary_overdue_definition.startswith("截至 2026-05-31(月末),2026-05-01 至 2026-05-31 登记的")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_both_pages_print_their_number_with_its_definition(admin):
    """On today's date: an overdue matter of last month counts on both pages; one registered 15 months ago only
    in the report's section 3 — and each page says so under the number."""
    today = local_today()
    petition("RECENT", today - dt.timedelta(days=40))
    petition("ANCIENT", today - dt.timedelta(days=460))
    client = Client()
    client.force_login(admin)

    dashboard = client.get("/dashboard/").content.decode()
    card = dashboard[dashboard.index('id="card-overdue_by_unit"') :].split('class="card"')[0]
    assert re.search(r'<div class="value"><a href="[^"]*due=overdue[^"]*"[^>]*>1</a>', card)
    since = stats.resolve_period(None, None, today=today).since
    assert (
        f"截至 {today:%Y-%m-%d}(今日),{since:%Y-%m-%d} 至 {today:%Y-%m-%d} 登记的未办结事项中已过持有单位自身期限的件数"
        in (_text(card))
    )

    page = _text(client.get(f"/report/monthly/?month={today:%Y-%m}").content.decode())
    assert f"逾期 2 件,临期 0 件(期限判断日 {today:%Y-%m-%d})" in page
    assert f"截至 {today:%Y-%m-%d}(今日),不限登记日期的未办结事项中已过持有单位自身期限的件数" in page
    assert "统计看板和本报告概况中的“逾期未办结”只计统计期内登记的事项" in page


def test_the_definitions_read_in_english_when_chosen(admin):
    client = Client()
    client.force_login(admin)
    client.cookies["django_language"] = "en"
    dashboard = client.get("/dashboard/").content.decode()
    card = _text(dashboard[dashboard.index('id="card-overdue_by_unit"') :].split('class="card"')[0])
    assert "(today): open matters registered" in card and "past the deadline binding their holder" in card
    report = _text(client.get("/report/monthly/").content.decode())
    assert "whenever registered" in report and "(today)" in report


def test_the_files_carry_both_definitions_in_chinese(world):
    may = reports.monthly_report(world, dt.date(2026, 5, 1), today=TODAY)
    with translation.override("en"):
        text = reports.report_csv(may).decode("utf-8-sig")
    assert "概况中的“逾期未办结”:截至 2026-05-31(月末),2026-05-01 至 2026-05-31 登记的" in text
    assert "第三节的“逾期”:截至 2026-05-31(月末),不限登记日期的" in text
