"""A supervising body's list (issue 14): the township sees its villages' overdue and due-soon matters where they
are, with the acts already recorded; never another township's, never an accusation against itself."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from geo_disputes.models import Banner, Unit
from geo_disputes.services.cases.clock import local_today
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
