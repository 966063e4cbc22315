"""The follow-up (回访) register (issue 15 item 4): the township's office reads, per unit, how many matters concluded
this year, how many petitioners were reached afterwards and how many were satisfied; the accused village never
sees the follow-up of an accusation against its committee; a planner reads masked names and no notes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from geo_disputes.models import Banner, CaseEvent, FollowUp, PersonalDataAccess, Unit
from geo_disputes.services.cases import workflow
from geo_disputes.services.cases.follow_up_register import (
    RegisterError,
    concluded_in,
    register_filter,
    unit_summaries,
)

from .factories import CaseFactory, PartyFactory, StaffFactory, box, seed_places

WEIJIAMAO, SHUANGAOBAO = "150622106", "150622106202"
TODAY = dt.date(2026, 6, 30)


def moment(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


def concluded(unit: Unit, day: dt.date, *, person: str = "王建国", **fields):
    """A matter in 双敖包村 held by `unit`, concluded (resolved) on `day`, as the workflow records it."""
    case = CaseFactory(
        status="resolved",
        unit=unit,
        tier="township" if unit.kind == "township_committee" else "village",
        township_code=WEIJIAMAO,
        village_code=SHUANGAOBAO,
        received_at=moment(day - dt.timedelta(days=20)),
        responsible_person="刘办理",
        **fields,
    )
    PartyFactory(case=case, name=person, phone="13912345678")
    CaseEvent.objects.create(
        case=case, at=moment(day), action="opinion", from_status="in_handling", to_status="resolved"
    )
    return case


def follow(case, day: dt.date, satisfaction: str = "", *, note: str = "电话回访,信访人称已恢复供水"):
    return FollowUp.objects.create(
        case=case,
        at=moment(day, 15),
        by="张回访",
        method="phone",
        satisfaction=satisfaction,
        unreachable=not satisfaction,
        note=note,
    )


@pytest.fixture
def world(db):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    township = Unit.objects.get(code=f"TC-{WEIJIAMAO}")
    village = Unit.objects.get(code=f"VC-{SHUANGAOBAO}")
    satisfied = concluded(township, dt.date(2026, 3, 2))
    follow(satisfied, dt.date(2026, 3, 10), "satisfied")
    unhappy = concluded(township, dt.date(2026, 4, 2), person="李桂兰")
    follow(unhappy, dt.date(2026, 4, 5))  # first call: nobody answered
    follow(unhappy, dt.date(2026, 4, 8), "dissatisfied")
    unreachable = concluded(township, dt.date(2026, 5, 2), person="赵海军")
    follow(unreachable, dt.date(2026, 5, 9))
    last_year = concluded(township, dt.date(2025, 12, 20), person="孙秀英")
    follow(last_year, dt.date(2026, 1, 3), "satisfied")  # called this year, concluded last year
    village_case = concluded(village, dt.date(2026, 2, 1), person="周建平")  # never followed up
    # An accusation against the village committee, handled by the township above it (回避).
    accusation = concluded(township, dt.date(2026, 5, 20), person="吴国庆", kind="accusation", accused_unit=village)
    follow(accusation, dt.date(2026, 5, 25), "basically_satisfied", note="吴国庆称村干部已退还占地")
    return {
        "township": township,
        "village": village,
        "satisfied": satisfied,
        "unhappy": unhappy,
        "accusation": accusation,
        "village_case": village_case,
        "last_year": last_year,
        "admin": StaffFactory(role="banner_admin").user,
        "planner": StaffFactory(role="planner").user,
        "village_officer": StaffFactory(role="village_officer", scope_code=SHUANGAOBAO, unit=village).user,
    }


def logged_in(user, language: str = "") -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies["django_language"] = language
    return client


def test_the_participation_rate_is_reached_over_concluded_in_the_period(world):
    flt = register_filter(None, None, "", TODAY)  # the year to date
    rows, total = unit_summaries(world["admin"], flt)
    by_unit = {r.unit_code: r for r in rows}
    township = by_unit[f"TC-{WEIJIAMAO}"]
    # 4 concluded this year (last year's matter is out, though called this year), 4 followed, 3 reached
    assert (township.concluded, township.followed, township.reached, township.satisfied) == (4, 4, 3, 2)
    assert township.participation_rate == pytest.approx(3 / 4)
    assert township.satisfied_share == pytest.approx(2 / 3)  # satisfied + basically satisfied ÷ reached
    village = by_unit[f"VC-{SHUANGAOBAO}"]
    assert (village.concluded, village.reached, village.participation_rate, village.satisfied_share) == (1, 0, 0, None)
    assert (total.concluded, total.reached) == (5, 3)


def test_a_narrower_period_and_one_unit(world):
    flt = register_filter(dt.date(2026, 4, 1), dt.date(2026, 4, 30), f"TC-{WEIJIAMAO}", TODAY)
    rows, total = unit_summaries(world["admin"], flt)
    assert [(r.unit_code, r.concluded, r.reached) for r in rows] == [(f"TC-{WEIJIAMAO}", 1, 1)]
    assert total.satisfied_share == 0  # the petitioner was reached and was not satisfied
    assert [c.reference for c in concluded_in(world["admin"], flt)] == [world["unhappy"].reference]


def test_a_review_reopening_moves_the_conclusion_to_when_it_concluded_again(world):
    case = world["satisfied"]
    for at, frm, to in (((2026, 3, 20), "served", "review_requested"), ((2026, 6, 1), "review_requested", "resolved")):
        CaseEvent.objects.create(case=case, at=moment(dt.date(*at)), action="x", from_status=frm, to_status=to)
    march = register_filter(dt.date(2026, 3, 1), dt.date(2026, 3, 31), "", TODAY)
    june = register_filter(dt.date(2026, 6, 1), dt.date(2026, 6, 30), "", TODAY)
    assert not concluded_in(world["admin"], march).exists()
    assert [c.pk for c in concluded_in(world["admin"], june)] == [case.pk]


def test_bad_filters_name_their_field(world):
    with pytest.raises(RegisterError) as refused:
        register_filter(dt.date(2026, 5, 1), dt.date(2026, 4, 1), "", TODAY)
    assert refused.value.field == "until"
    with pytest.raises(RegisterError) as refused:
        register_filter(None, None, "BD-nowhere", TODAY)
    assert refused.value.field == "unit"
    page = logged_in(world["admin"]).get("/follow-ups/", {"since": "2026-05-01", "until": "2026-04-01"})
    assert page.status_code == 400 and "结束日期不能早于开始日期" in page.content.decode()
    page = logged_in(world["admin"]).get("/follow-ups/", {"since": "2026-02-30"})
    assert page.status_code == 400 and 'class="field has-error"' in page.content.decode()


def test_the_admin_reads_the_register_with_names_notes_and_the_rate(world):
    response = logged_in(world["admin"]).get("/follow-ups/", {"since": "2026-01-01", "until": "2026-06-30"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "回访参与率" in page and "回访参与率 = 联系到 ÷ 期内办结" in page
    assert 'data-rate="0.75"' in page and ">75%<" in page
    assert "王建国" in page and "张回访" in page and "电话回访,信访人称已恢复供水" in page
    assert "未能联系到信访人" in page and "不满意" in page
    assert PersonalDataAccess.objects.filter(user=world["admin"], purpose__startswith="回访登记").exists()


def test_the_accused_village_never_sees_the_follow_up_of_the_accusation(world):
    officer = world["village_officer"]
    rows, total = unit_summaries(officer, register_filter(None, None, "", TODAY))
    assert world["accusation"].reference not in [
        c.reference for c in concluded_in(officer, register_filter(None, None, "", TODAY))
    ]
    page = logged_in(officer).get("/follow-ups/").content.decode()
    assert world["accusation"].reference not in page and "吴国庆" not in page and "吴某" not in page
    assert "村干部已退还占地" not in page
    assert world["satisfied"].reference in page  # the village's other matters are there
    csv = logged_in(officer).get("/follow-ups/export.csv").content.decode("utf-8-sig")
    assert world["accusation"].reference not in csv and "吴" not in csv
    assert world["accusation"].reference in logged_in(world["admin"]).get("/follow-ups/").content.decode()


def test_a_planner_reads_masked_names_and_no_notes(world):
    page = logged_in(world["planner"]).get("/follow-ups/").content.decode()
    assert world["satisfied"].reference in page
    assert "王某" in page and "王建国" not in page
    assert "张回访" not in page and "已恢复供水" not in page and "（仅经办人员可见）" in page
    assert 'data-rate="0.75"' in page  # the figures are the same for everyone who sees the same cases
    assert not PersonalDataAccess.objects.filter(user=world["planner"]).exists()
    assert "王建国" not in logged_in(world["planner"]).get("/follow-ups/export.csv").content.decode("utf-8-sig")


def test_the_csv_holds_the_summary_and_every_follow_up(world):
    response = logged_in(world["admin"]).get("/follow-ups/export.csv", {"since": "2026-01-01", "until": "2026-06-30"})
    text = response.content.decode("utf-8-sig")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f"TC-{WEIJIAMAO}" in text and "75.0%" in text and "66.7%" in text
    assert text.count("张回访") == 6  # every follow-up made in the period (last year's matter's call included)


def test_the_page_in_english(world):
    page = logged_in(world["admin"], "en").get("/follow-ups/").content.decode()
    assert "Follow-up register" in page and "Participation rate = reached ÷ concluded in the period" in page
    assert "回访登记" not in page and "回访参与率 =" not in page


def test_a_follow_up_recorded_through_the_workflow_counts(world):
    case = world["village_case"]
    workflow.apply(
        case, "follow_up", world["admin"], case.version, by="旗信访局 张回访", method="visit", satisfaction="satisfied"
    )
    rows, _total = unit_summaries(world["admin"], register_filter(None, None, f"VC-{SHUANGAOBAO}", TODAY))
    assert (rows[0].reached, rows[0].participation_rate, rows[0].satisfied_share) == (1, 1.0, 1.0)
