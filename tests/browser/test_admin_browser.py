"""The banner admin's admin in a real browser at 1440×900: a new staff account with its role, a routing rule's
change recorded in the change log; and any other role's Chinese 403 at /admin/."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from geo_disputes.models import RoutingRule, RoutingRuleChange, StaffProfile
from tests.factories import StaffFactory, seed_places

pytestmark = pytest.mark.browser
DESK = {"width": 1440, "height": 900}


@pytest.fixture
def places(transactional_db):
    seed_places()


def test_the_banner_admin_adds_a_grid_worker_and_changes_a_routing_rule(page_for, live_server, places):
    admin = StaffFactory(role="banner_admin").user
    page = page_for(admin, DESK)
    page.goto(f"{live_server.url}/admin/auth/user/add/", wait_until="load")
    assert "增加 用户" in page.inner_text("h1")
    page.fill("#id_username", "new-grid-worker")
    page.fill("#id_password1", "a-long-pass-phrase-9")
    page.fill("#id_password2", "a-long-pass-phrase-9")
    with page.expect_navigation(wait_until="load"):
        page.click("input[name=_save]")
    page.goto(f"{live_server.url}/admin/geo_disputes/staffprofile/add/", wait_until="load")
    user_pk = User.objects.get(username="new-grid-worker").pk
    page.fill("#id_user", str(user_pk))
    page.select_option("#id_role", "grid_worker")
    page.fill("#id_scope_code", "150622106202-001")
    with page.expect_navigation(wait_until="load"):
        page.click("input[name=_save]")
    assert StaffProfile.objects.get(user__username="new-grid-worker").role == "grid_worker"

    # its own rule: a transactional test before this one may have flushed the migration's default rules
    rule = RoutingRule.objects.create(order=990, name="邻里纠纷留村", categories=["neighbour"], tier="village")
    page.goto(f"{live_server.url}/admin/geo_disputes/routingrule/{rule.pk}/change/", wait_until="load")
    page.fill("#id_explanation", "旗联席会议2026年修订")
    with page.expect_navigation(wait_until="load"):
        page.click("input[name=_save]")
    change = RoutingRuleChange.objects.filter(rule=rule).latest("at")
    assert change.actor == admin and change.snapshot["explanation"] == "旗联席会议2026年修订"
    page.goto(f"{live_server.url}/admin/geo_disputes/routingrulechange/", wait_until="load")
    assert rule.name in page.inner_text("#result_list")


def test_a_planner_gets_the_chinese_403_at_the_admin(page_for, live_server, places):
    page = page_for(StaffFactory(role="planner").user, DESK)
    response = page.goto(f"{live_server.url}/admin/", wait_until="load")
    assert response.status == 403
    body = page.inner_text("main")
    assert "无权访问" in body and "管理后台只供旗级管理员" in body and "规划" in body
