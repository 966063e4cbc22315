"""The dashboard's tables lead to their cases in a real browser (1440×900), and the page fits a phone (390×844)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from geo_disputes.models import Unit
from tests.factories import CaseFactory, StaffFactory

from .scene import build_scene

pytestmark = pytest.mark.browser
DESK = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def late(transactional_db):
    build_scene()
    village, _ = Unit.objects.get_or_create(
        code="VC-150622106202",
        defaults={"name": "双敖包村村委会", "kind": "village_committee", "area_code": "150622106202"},
    )
    return CaseFactory(
        procedure="petition",
        received_at=timezone.now() - dt.timedelta(days=40),
        township_code="150622106",
        village_code="150622106202",
        unit=village,
    )


def test_a_planner_follows_a_units_overdue_count_and_a_status_row_to_the_cases(page_for, live_server, late):
    page = page_for(StaffFactory(role="planner").user, DESK)
    page.goto(f"{live_server.url}/dashboard/", wait_until="load")
    with page.expect_navigation(wait_until="load"):
        page.click("#overdue-by-unit a:text('1')")
    assert "due=overdue" in page.url and "village=150622106202" in page.url
    assert page.locator("table.cases tbody tr").count() == 1
    assert late.reference in page.inner_text("table.cases")
    page.go_back(wait_until="load")
    with page.expect_navigation(wait_until="load"):
        page.click("#by-status a")
    assert "status=reported" in page.url and late.reference in page.inner_text("table.cases")


def test_the_dashboard_fits_a_phone(page_for, live_server, late):
    page = page_for(StaffFactory(role="banner_admin").user, PHONE)
    page.goto(f"{live_server.url}/dashboard/", wait_until="load")
    assert page.locator("#card-overdue_by_unit .def").inner_text().startswith("截至 ")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
