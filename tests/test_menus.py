"""The header (issue 14): each role's menu offers what it can use, its daily page first; the due badges count what
their link lists; the go-to box opens a visible case or searches; a refusal is a Chinese page naming the role and
what it may use; a stale form is a Chinese page, not Django's English one."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from geo_disputes.models import Banner, Unit
from geo_disputes.services.ops.menus import menu_for
from tests.factories import CaseFactory, StaffFactory, box, seed_places

WEIJIAMAO, SHUANGAOBAO = "150622106", "150622106202"


@pytest.fixture
def world(db):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    cache.clear()


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def menu_keys(user) -> list[str]:
    page = logged_in(user).get("/cases/").content.decode()
    return re.findall(r'data-menu="(\w+)"', page)


def test_each_role_sees_what_it_can_use_its_daily_page_first(world):
    planner = StaffFactory(role="planner").user
    keys = menu_keys(planner)
    assert keys[0] == "planner" and "intake" not in keys and "queues" not in keys
    field = StaffFactory(role="field_staff", scope_code=SHUANGAOBAO).user
    assert menu_keys(field)[:2] == ["field", "intake"] and "queues" not in menu_keys(field)
    assert "follow_ups" not in menu_keys(field) and "leaders" not in menu_keys(field)  # registers: desk roles
    assert {"follow_ups", "leaders"} <= set(menu_keys(planner))  # planners look at them (and only look)
    grid = StaffFactory(role="grid_worker", scope_code=f"{SHUANGAOBAO}-001").user
    assert menu_keys(grid)[:3] == ["field", "intake", "cases"] and "planner" not in menu_keys(grid)
    court = StaffFactory(role="mining_court").user
    assert menu_keys(court)[0] == "court" and "intake" in menu_keys(court)
    admin = StaffFactory(role="banner_admin").user
    keys = menu_keys(admin)
    assert set(keys) == {e.key for e in menu_for(admin)} and len(keys) == 12 and keys[-1] == "admin"


def test_what_the_menu_hides_is_refused_with_a_chinese_page_naming_the_role(world):
    planner = StaffFactory(role="planner").user
    response = logged_in(planner).get("/cases/new/")
    page = response.content.decode()
    assert response.status_code == 403
    assert "无权访问" in page and "当前角色不能登记事项" in page and "您的角色是“规划分析”" in page
    assert 'href="/maps/planner/"' in page.split('class="can-use"')[1]
    assert "Forbidden" not in page


def test_the_badges_count_what_their_links_list(world):
    unit = Unit.objects.get(code=f"TC-{WEIJIAMAO}")
    officer = StaffFactory(role="township_officer", scope_code=WEIJIAMAO, unit=unit).user
    for days in (40, 50):  # petitions never accepted: Art. 23's 15 days are long gone
        CaseFactory(
            procedure="petition",
            received_at=timezone.now() - dt.timedelta(days=days),
            township_code=WEIJIAMAO,
            village_code=SHUANGAOBAO,
            unit=unit,
        )
    CaseFactory(procedure="petition", township_code=WEIJIAMAO, village_code=SHUANGAOBAO, unit=unit)  # fresh
    client = logged_in(officer)
    page = client.get("/cases/").content.decode()
    badge = re.search(r'class="due-badge overdue"[^>]*>[^<]*?(\d+)</a>', page)
    assert badge and badge.group(1) == "2"
    listed = client.get("/cases/?due=overdue").content.decode()
    assert len(re.findall(r'<a href="/cases/(ZGE-\d{4}-\d{6})/">', listed)) == 2
    assert "due-badge" not in logged_in(StaffFactory(role="planner").user).get("/cases/").content.decode()


def test_the_go_to_box_opens_a_visible_case_and_searches_anything_else(world):
    case = CaseFactory(township_code=WEIJIAMAO, village_code=SHUANGAOBAO, grid_code=f"{SHUANGAOBAO}-001")
    admin = logged_in(StaffFactory(role="banner_admin").user)
    assert admin.get("/cases/go/", {"reference": case.reference.lower()})["Location"] == f"/cases/{case.reference}/"
    assert admin.get("/cases/go/", {"reference": "草场"})["Location"] == "/cases/?q=%E8%8D%89%E5%9C%BA"
    other_village = logged_in(StaffFactory(role="village_officer", scope_code="150622101206").user)
    hidden = other_village.get("/cases/go/", {"reference": case.reference})
    assert hidden["Location"].startswith("/cases/?q=")  # the same answer as a reference that does not exist
    assert admin.get("/cases/go/", {"reference": "ZGE-2099-999999"})["Location"].startswith("/cases/?q=")


def test_a_stale_form_is_a_chinese_page(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(StaffFactory(role="banner_admin").user)
    response = client.post("/cases/new/", {})
    assert response.status_code == 403
    page = response.content.decode()
    assert "页面已过期" in page and "CSRF" not in page and "Forbidden" not in page
