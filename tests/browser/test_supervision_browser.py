"""The supervision lists in a real browser: a township officer's on a phone (390×844: cards, no sideways scroll,
the missed deadline and the act on each), and the banner admin's petitions-bureau list at the desk (1440×900)."""

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
PHONE = {"width": 390, "height": 844}
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


def late_petition(unit_code: str, tier: str):
    return CaseFactory(
        procedure="petition",
        tier=tier,
        received_at=timezone.now() - dt.timedelta(days=40),
        township_code="150622106",
        village_code="150622106202",
        unit=Unit.objects.get(code=unit_code),
    )


def test_a_township_officer_reads_the_supervision_list_on_a_phone(page_for, live_server, scene):
    late = late_petition("VC-150622106202", "village")
    run_tick(local_today())
    township = Unit.objects.get(code="TC-150622106")
    officer = StaffFactory(role="township_officer", scope_code="150622106", unit=township).user
    page = page_for(officer, PHONE)
    page.goto(f"{live_server.url}/queues/TC-150622106/#supervision", wait_until="load")
    row = page.locator("table.supervised tbody tr").first
    text = row.inner_text()
    assert late.reference in text and "受理告知期限" in text and "逾期" in text and "前报告" in text
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    box = row.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    with page.expect_navigation(wait_until="load"):
        row.locator("a").first.click()
    assert page.url.endswith(f"/cases/{late.reference}/")


def test_the_banner_admin_opens_the_bureaus_list_of_township_matters(page_for, live_server, scene):
    late = late_petition("TC-150622106", "township")
    page = page_for(StaffFactory(role="banner_admin").user, DESK)
    page.goto(f"{live_server.url}/queues/", wait_until="load")
    with page.expect_navigation(wait_until="load"):
        page.click("ul.supervising a:text('旗信访局')")
    assert "/queues/BD-petitions/" in page.url
    section = page.locator("table.supervised").inner_text()
    assert late.reference in section and "魏家峁镇党委" in section and "尚未督办" in section
