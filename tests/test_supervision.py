"""A supervising body's list (issue 14): the township sees its villages' overdue and due-soon matters where they
are, with the acts already recorded; never another township's, never an accusation against itself."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from geo_disputes.models import Banner, Case, SupervisionAct, Unit
from geo_disputes.services.cases.clock import STATUTE_TZ, annotate_dues, local_today
from geo_disputes.services.cases.supervision import run_tick, supervised_cases
from tests.factories import CaseFactory, StaffFactory, box, seed_places

WEIJIAMAO, SHUANGAOBAO, BULA = "150622106", "150622106202", "150622101206"


@pytest.fixture
def world(db):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    Unit.objects.get_or_create(code="BD-petitions", defaults={"name": "旗信访局", "kind": "banner_department"})
    township = Unit.objects.get(code=f"TC-{WEIJIAMAO}")
    officer = StaffFactory(role="township_officer", scope_code=WEIJIAMAO, unit=township).user

    def petition(village: str, township_code: str, days_ago: int, **extra):
        return CaseFactory(
            procedure="petition",
            received_at=timezone.now() - dt.timedelta(days=days_ago),
            township_code=township_code,
            village_code=village,
            unit=Unit.objects.get(code=f"VC-{village}"),
            **extra,
        )

    return {
        "township": township,
        "officer": officer,
        "late": petition(SHUANGAOBAO, WEIJIAMAO, 40),  # Art. 23's 15 days long gone, at the village committee
        "fresh": petition(SHUANGAOBAO, WEIJIAMAO, 1),
        "elsewhere": petition(BULA, "150622101", 40),
        "against_township": petition(SHUANGAOBAO, WEIJIAMAO, 40, kind="accusation", accused_unit=township),
    }


def test_the_township_supervises_its_villages_overdue_matters_where_they_are(world):
    listed = supervised_cases(world["township"], world["officer"])
    assert [c.reference for c in listed] == [world["late"].reference]
    assert listed[0].unit.code == f"VC-{SHUANGAOBAO}"  # supervised, not moved up
    bureau = Unit.objects.get(code="BD-petitions")
    admin = StaffFactory(role="banner_admin").user
    above = {c.reference for c in supervised_cases(bureau, admin)}
    assert world["against_township"].reference in above  # the next body up supervises an accusation (回避)
    assert world["late"].reference not in above


def test_the_queue_page_lists_them_with_the_acts_the_daily_run_recorded(world):
    run_tick(local_today())
    client = Client()
    client.force_login(world["officer"])
    page = client.get(f"/queues/{world['township'].code}/").content.decode()
    section = page.split('id="supervision"')[1]
    assert world["late"].reference in section and "督办" in section and "双敖包村" in section
    for other in ("fresh", "elsewhere", "against_township"):
        assert world[other].reference not in section, other
    world["late"].refresh_from_db()
    assert world["late"].unit.code == f"VC-{SHUANGAOBAO}"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_each_row_names_the_missed_deadline_the_days_over_and_the_acts(world):
    run_tick(local_today())
    client = Client()
    client.force_login(world["officer"])
    section = _text(client.get(f"/queues/{world['township'].code}/").content.decode().split('id="supervision"')[1])
    late = world["late"]
    dues = annotate_dues(Case.objects.filter(pk=late.pk)).get()
    act = SupervisionAct.objects.get(case=late)
    assert "受理告知期限(条例第23条,15日)" in section and f"{dues.next_due:%Y-%m-%d}" in section
    assert f"逾期{-dues.days_left}天" in section
    assert f"督办 {act.at.astimezone(STATUTE_TZ):%m-%d}(限 {act.deadline:%m-%d} 前报告)" in section


def test_an_accusation_against_a_village_committee_is_supervised_by_the_township_and_hidden_from_the_village(world):
    village = Unit.objects.get(code=f"VC-{SHUANGAOBAO}")
    accused = CaseFactory(
        procedure="petition",
        kind="accusation",
        accused_unit=village,
        received_at=timezone.now() - dt.timedelta(days=40),
        township_code=WEIJIAMAO,
        village_code=SHUANGAOBAO,
        unit=world["township"],  # an accusation is handled above the accused committee
        description="举报村委会截留补偿款",
    )
    Case.objects.filter(pk=world["late"].pk).update(kind="accusation", accused_unit=village)  # held by the accused
    bureau = Unit.objects.get(code="BD-petitions")
    assert world["late"].reference in [c.reference for c in supervised_cases(world["township"], world["officer"])]
    assert accused.reference in [c.reference for c in supervised_cases(bureau, StaffFactory(role="banner_admin").user)]
    for role, scope in (("village_officer", SHUANGAOBAO), ("grid_worker", f"{SHUANGAOBAO}-001")):
        user = StaffFactory(role=role, scope_code=scope, unit=village if role == "village_officer" else None).user
        client = Client()
        client.force_login(user)
        for path in (f"/queues/{village.code}/", f"/queues/{world['township'].code}/", "/queues/"):
            page = client.get(path).content.decode()
            for hidden in (world["late"], accused):
                assert f"/cases/{hidden.reference}/" not in page, (role, path)
            assert "截留" not in page


def test_the_banner_admin_keeps_the_bureaus_list_of_township_matters_never_a_courts(world):
    township_late = CaseFactory(
        procedure="petition",
        tier="township",
        received_at=timezone.now() - dt.timedelta(days=40),
        township_code=WEIJIAMAO,
        village_code=SHUANGAOBAO,
        unit=world["township"],
    )
    court = Unit.objects.get(code="MC-150622")
    court_case = CaseFactory(
        procedure="litigation",
        tier="mining_court",
        status="on_agenda",
        agenda_deadline=local_today() - dt.timedelta(days=5),
        received_at=timezone.now() - dt.timedelta(days=40),
        township_code=WEIJIAMAO,
        village_code=SHUANGAOBAO,
        unit=court,
    )
    admin = StaffFactory(role="banner_admin").user
    client = Client()
    client.force_login(admin)
    picker = _text(client.get("/queues/").content.decode())
    assert "督办名单" in picker and "旗信访局 :下级单位超期或临期 2 件" in picker  # the township's and the accusation
    page = client.get("/queues/BD-petitions/")
    section = page.content.decode().split('id="supervision"')[1]
    assert page.status_code == 200
    assert township_late.reference in section and world["against_township"].reference in section
    assert court_case.reference not in section  # 诉访分离: leaders supervise no court
    assert world["late"].reference not in section  # the township supervises its village, not the bureau
    officer = Client()
    officer.force_login(world["officer"])
    assert "督办名单" not in officer.get("/queues/?").content.decode()  # the officer goes to the own unit's list
