"""The header on a phone and at a desk (issue 14): folded menu, the go-to box, the due badge, a role's own menu."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from geo_disputes.models import Unit
from tests.factories import CaseFactory, StaffFactory

from .scene import build_scene

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1440, "height": 900}


@pytest.fixture
def scene(transactional_db):
    return build_scene()


def test_on_a_phone_the_header_is_short_and_the_box_opens_a_case(page_for, live_server, scene):
    unit = Unit.objects.create(code="TC-150622106", name="魏家峁镇党委", kind="township_committee")
    late = CaseFactory(
        procedure="petition",
        received_at=timezone.now() - dt.timedelta(days=40),
        township_code="150622106",
        village_code="150622106202",
        unit=unit,
    )
    officer = StaffFactory(role="township_officer", scope_code="150622106", unit=unit).user
    page = page_for(officer, PHONE)
    page.goto(f"{live_server.url}/cases/", wait_until="load")
    header = page.locator("header.site").bounding_box()
    assert header["height"] < 170, header  # brand, box and badge, the folded menu: not three lines of links
    assert not page.locator("#site-menu nav").is_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    go = page.locator("header.site form.go button")
    assert go.evaluate("b => b.getClientRects().length") == 1 and go.bounding_box()["height"] < 50  # "前往", one line
    assert page.locator(".due-badge.overdue").inner_text().endswith("1")
    page.click("#site-menu summary")
    assert page.locator("#site-menu nav a[data-menu=queues]").is_visible()
    page.fill("header.site form.go input", late.reference.lower())
    page.press("header.site form.go input", "Enter")
    page.wait_for_url(f"**/cases/{late.reference}/")
    page.fill("header.site form.go input", "不存在的内容")
    page.press("header.site form.go input", "Enter")
    page.wait_for_url("**/cases/?q=*")
    assert page.locator("table.cases tbody").inner_text().strip() == "没有符合条件的事项。"


def test_at_a_desk_the_planner_sees_the_menu_open_without_intake(page_for, live_server, scene):
    page = page_for(StaffFactory(role="planner").user, DESK)
    page.goto(f"{live_server.url}/dashboard/", wait_until="load")
    assert page.locator("#site-menu nav").is_visible()
    links = page.locator("#site-menu nav a").evaluate_all("els => els.map(e => e.dataset.menu)")
    assert links[0] == "planner" and "intake" not in links
    page.goto(f"{live_server.url}/cases/new/", wait_until="load")
    assert "无权访问" in page.inner_text("main") and "规划分析" in page.inner_text("main .can-use")
