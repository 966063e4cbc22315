"""The case list's search (`/cases/?q=`, issue 14): by reference for anyone who sees the case; by parcel code,
description words and petitioner name or phone only where the reader may read them — never widening what the list
shows, never telling the accused side anything."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from geo_disputes.models import Banner, CaseParcel, Unit
from tests.factories import CaseFactory, ParcelFactory, PartyFactory, StaffFactory, box, seed_places

WEIJIAMAO, SHUANGAOBAO, BULA = "150622106", "150622106202", "150622101206"


@pytest.fixture
def world(db):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    committee = Unit.objects.get(code=f"VC-{SHUANGAOBAO}")
    grass = CaseFactory(
        description="东梁草场被邻户占用八亩,要求恢复原状",
        township_code=WEIJIAMAO,
        village_code=SHUANGAOBAO,
        grid_code=f"{SHUANGAOBAO}-001",
        unit=committee,
    )
    PartyFactory(case=grass, name="王建国", phone="13900001111")
    parcel = ParcelFactory(code=f"{SHUANGAOBAO}JD00007", geom=box(111.04, 39.54, 111.06, 39.56))
    CaseParcel.objects.create(case=grass, parcel=parcel)
    water = CaseFactory(
        description="欠水费3万多元被停水",
        township_code="150622101",
        village_code=BULA,
        unit=Unit.objects.get(code=f"VC-{BULA}"),
    )
    PartyFactory(case=water, name="李桂兰", phone="13800002222")
    accusation = CaseFactory(
        kind="accusation",
        description="检举村委会主任私自出租集体草场",
        township_code=WEIJIAMAO,
        village_code=SHUANGAOBAO,
        grid_code=f"{SHUANGAOBAO}-001",
        accused_unit=committee,
        unit=Unit.objects.get(code="BD-discipline") if Unit.objects.filter(code="BD-discipline").exists() else None,
    )
    PartyFactory(case=accusation, name="张检举", phone="13700003333")
    return {"grass": grass.reference, "water": water.reference, "accusation": accusation.reference}


def listed(user, q: str) -> set[str]:
    client = Client()
    client.force_login(user)
    response = client.get("/cases/", {"q": q})
    assert response.status_code == 200
    return set(re.findall(r'<a href="/cases/(ZGE-\d{4}-\d{6})/">', response.content.decode()))


def admin():
    return StaffFactory(role="banner_admin").user


def test_a_reference_finds_its_case_for_anyone_who_sees_it_and_a_prefix_finds_the_years(world):
    for user in (admin(), StaffFactory(role="planner").user):
        assert listed(user, world["grass"]) == {world["grass"]}
        assert listed(user, world["grass"].lower()) == {world["grass"]}
    assert listed(admin(), world["grass"][:8]) == set(world.values())


def test_parcel_code_and_description_words_all_must_match(world):
    user = admin()
    assert listed(user, f"{SHUANGAOBAO}JD00007") == {world["grass"]}
    assert listed(user, "草场 八亩") == {world["grass"]}
    assert listed(user, "草场　八亩") == {world["grass"]}  # a full-width space separates terms too
    assert listed(user, "草场 停水") == set()
    assert listed(user, "草场") == {world["grass"], world["accusation"]}


def test_a_petitioners_name_or_phone_finds_the_case_only_for_roles_that_may_see_it(world):
    assert listed(admin(), "王建国") == {world["grass"]}
    assert listed(admin(), "1390000") == {world["grass"]}
    grid_worker = StaffFactory(role="grid_worker", scope_code=f"{SHUANGAOBAO}-001").user  # the petition agent
    assert world["grass"] in listed(grid_worker, "王建国")
    nothing = listed(StaffFactory(role="planner").user, "zzz-no-such-thing")
    for blind in (
        StaffFactory(role="planner").user,
        StaffFactory(role="field_staff", scope_code=SHUANGAOBAO).user,
        StaffFactory(role="village_officer", scope_code=BULA).user,  # another village's officer
    ):
        assert listed(blind, "王建国") == nothing == set()
        assert listed(blind, "东梁草场") == set()
        assert listed(blind, f"{SHUANGAOBAO}JD00007") == set()


def test_the_accused_committee_learns_nothing_from_a_search(world):
    accused = StaffFactory(
        role="village_officer", scope_code=SHUANGAOBAO, unit=Unit.objects.get(code=f"VC-{SHUANGAOBAO}")
    ).user
    assert listed(accused, "王建国") == {world["grass"]}  # their own village's ordinary case
    for probe in ("张检举", "13700003333", "检举", world["accusation"], "私自出租"):
        assert listed(accused, probe) == set(), probe
    assert listed(admin(), "张检举") == {world["accusation"]}  # the probes do match for someone: the test can fail


def test_search_combines_with_the_filters_and_the_due_state(world):
    user = admin()
    client = Client()
    client.force_login(user)
    page = client.get("/cases/", {"q": "草场", "village": BULA}).content.decode()
    assert world["grass"] not in page
    late = CaseFactory(
        procedure="petition",
        received_at=timezone.now() - dt.timedelta(days=40),  # never accepted: the 15 days of Art. 23 are long gone
        township_code=WEIJIAMAO,
        village_code=SHUANGAOBAO,
        unit=Unit.objects.get(code=f"TC-{WEIJIAMAO}"),
    )
    assert listed(user, "") >= {late.reference, world["grass"]}
    page = client.get("/cases/", {"due": "overdue"}).content.decode()
    assert late.reference in page and world["grass"] not in page
    assert client.get("/cases/", {"due": "nonsense"}).status_code == 200
