"""Leaders' cases and visits in a real browser on a phone (390×844): a township officer reads the 包案 register with an
overdue plan flagged, registers a deputy banner head's 包案 through the form, then reads the month's visits — the
pages fit the screen (no sideways scroll) and make no request off the machine."""

from __future__ import annotations

import datetime as dt

import pytest

from geo_disputes.models import CaseEvent, LeaderCase, Unit
from geo_disputes.services.cases import leaders
from geo_disputes.services.cases.clock import local_today
from tests.factories import CaseFactory, StaffFactory

from .scene import build_scene

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def scene(transactional_db):
    scene = build_scene()
    Unit.objects.get_or_create(
        code="TC-150622106", defaults={"name": "魏家峁镇党委", "kind": "township_committee", "area_code": "150622106"}
    )
    return scene


def held_case():
    return CaseFactory(
        status="in_handling",
        tier="township",
        township_code="150622106",
        village_code="150622106202",
        unit=Unit.objects.get(code="TC-150622106"),
    )


def test_a_township_officer_keeps_the_leaders_register_and_calendar_on_a_phone(page_for, live_server, scene):
    township = Unit.objects.get(code="TC-150622106")
    officer = StaffFactory(role="township_officer", scope_code="150622106", unit=township).user
    late, fresh = held_case(), held_case()
    record = leaders.take_on(
        late,
        officer,
        leader_name="高副旗长",
        leader_post="副旗长",
        plan="组织评估房屋受损,一户一策协商补偿",
        deadline=local_today() + dt.timedelta(days=5),
    )
    LeaderCase.objects.filter(pk=record.pk).update(deadline=local_today() - dt.timedelta(days=2))
    leaders.schedule_visit(
        officer,
        kind="field",
        on=local_today(),
        starts=dt.time(9, 0),
        place="魏家峁镇双敖包村说事室",
        leader_name="高副旗长",
        leader_post="副旗长",
        references=[late.reference],
    )

    page = page_for(officer, PHONE)
    page.goto(f"{live_server.url}/leaders/", wait_until="load")
    assert page.locator("h1").inner_text() == "领导包案登记"
    row = page.locator(f"tr[data-reference='{late.reference}']")
    assert "逾期2天" in row.inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    box = row.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]

    page.fill("#id_reference", fresh.reference)
    page.fill("#id_leader_name", "李旗长")
    page.fill("#id_leader_post", "旗长")
    page.fill("#id_plan", "联合国土、林草部门现场勘界")
    page.fill("#id_deadline", (local_today() + dt.timedelta(days=20)).isoformat())
    with page.expect_navigation(wait_until="load"):
        page.click("#take-on button[type=submit]")
    assert "已登记包案" in page.locator("ul.messages").inner_text()
    assert fresh.reference in page.locator("section.leader").filter(has_text="李旗长").inner_text()
    assert CaseEvent.objects.filter(case=fresh, action="leader_case").exists()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]

    page.goto(f"{live_server.url}/visits/", wait_until="load")
    visit = page.locator("section.visit").first
    assert "领导下访" in visit.inner_text() and late.reference in visit.inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert not page.traffic.outside and not page.traffic.errors


def test_the_follow_up_register_fits_a_phone(page_for, live_server, scene):
    from django.utils import timezone

    from geo_disputes.models import FollowUp

    case = held_case()
    type(case).objects.filter(pk=case.pk).update(status="resolved")
    CaseEvent.objects.create(case=case, action="opinion", from_status="in_handling", to_status="resolved")
    FollowUp.objects.create(case=case, at=timezone.now(), by="旗信访局张某", method="phone", satisfaction="satisfied")
    admin = StaffFactory(role="banner_admin").user
    page = page_for(admin, PHONE)
    page.goto(f"{live_server.url}/follow-ups/", wait_until="load")
    assert page.locator("h1").inner_text() == "回访登记"
    assert "100%" in page.locator("#unit-summary").inner_text()
    assert case.reference in page.locator("#follow-ups").inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert not page.traffic.outside and not page.traffic.errors
