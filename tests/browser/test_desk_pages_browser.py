"""The desk pages of issue 14 in a real browser at 1440×900: a township's supervision list, the banner admin's
admin, the dashboard's presets and links."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from geo_disputes.models import Unit
from geo_disputes.services.cases.clock import local_today
from geo_disputes.services.cases.supervision import run_tick
from tests.factories import CaseFactory, StaffFactory

from .scene import build_scene

pytestmark = pytest.mark.browser
DESK = {"width": 1440, "height": 900}


@pytest.fixture
def scene(transactional_db):
    scene = build_scene()
    for code, name, kind, area in (
        ("TC-150622106", "魏家峁镇党委", "township_committee", "150622106"),
        ("VC-150622106202", "双敖包村村委会", "village_committee", "150622106202"),
        ("BD-petitions", "旗信访局", "banner_department", "150622"),
    ):
        Unit.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "area_code": area})
    return scene


def test_a_township_officer_sees_the_villages_overdue_matters_under_supervision(page_for, live_server, scene):
    late = CaseFactory(
        procedure="petition",
        received_at=timezone.now() - dt.timedelta(days=40),
        township_code="150622106",
        village_code="150622106202",
        unit=Unit.objects.get(code="VC-150622106202"),
    )
    run_tick(local_today())
    township = Unit.objects.get(code="TC-150622106")
    officer = StaffFactory(role="township_officer", scope_code="150622106", unit=township).user
    page = page_for(officer, DESK)
    page.goto(f"{live_server.url}/queues/", wait_until="load")
    page.wait_for_url("**/queues/TC-150622106/")
    row = page.locator("table.supervised tbody tr").first
    assert late.reference in row.inner_text() and "督办" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url(f"**/cases/{late.reference}/")


def test_the_banner_admin_edits_a_unit_in_the_chinese_admin(page_for, live_server, scene):
    admin = StaffFactory(role="banner_admin").user
    page = page_for(admin, DESK)
    page.goto(f"{live_server.url}/cases/", wait_until="load")
    page.click("#site-menu a[data-menu=admin]")
    page.wait_for_url("**/admin/")
    assert "站点管理" in page.inner_text("body") and "信访事项" not in page.inner_text("#content-main")
    page.goto(f"{live_server.url}/admin/geo_disputes/unit/", wait_until="load")
    page.click('#result_list a:text("TC-150622106")')
    page.fill("#id_head_name", "镇长王某")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/geo_disputes/unit/")
    assert Unit.objects.get(code="TC-150622106").head_name == "镇长王某"


def test_a_planner_picks_this_year_and_follows_the_total_to_its_cases(page_for, live_server, scene):
    CaseFactory(township_code="150622106", village_code="150622106202")
    page = page_for(StaffFactory(role="planner").user, DESK)
    page.goto(f"{live_server.url}/dashboard/", wait_until="load")
    with page.expect_navigation(wait_until="load"):
        page.click("a.preset:text('本年')")
    assert f"since={local_today():%Y}-01-01" in page.url
    page.click("#card-cases_total .value a")
    page.wait_for_url("**/cases/?since=*")
    assert page.locator("table.cases tbody tr").count() == 1
