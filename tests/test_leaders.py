"""Leaders' cases (包案), leaders' receptions and visits, and the joint meeting's minutes and assignments (issue 15
item 5): the banner office registers that the deputy banner head takes on the cracked-houses case with a plan and a
deadline; the register flags the plan when the deadline passes; the accused village committee never sees the 包案
or the visit of an accusation against it; planners only look; the 交办单 is a numbered notice in the case history."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone
from docx import Document

from geo_disputes.models import Banner, CaseEvent, LeaderCase, LeaderVisit, NoticeKind, Unit
from geo_disputes.services.cases import leaders, notices
from geo_disputes.services.cases.clock import local_today
from geo_disputes.services.cases.leaders import LeaderError
from geo_disputes.services.cases.minutes import minutes_draft
from geo_disputes.services.cases.notice_files import to_docx

from .factories import CaseFactory, PartyFactory, StaffFactory, box, seed_places

WEIJIAMAO, SHUANGAOBAO = "150622106", "150622106202"
YOUYI, SUJIGOU = "150622004", "150622004201"


@pytest.fixture
def world(db):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    township = Unit.objects.get(code=f"TC-{WEIJIAMAO}")
    village = Unit.objects.get(code=f"VC-{SHUANGAOBAO}")
    place = {"township_code": WEIJIAMAO, "village_code": SHUANGAOBAO, "grid_code": f"{SHUANGAOBAO}-001"}
    grassland = CaseFactory(status="in_handling", unit=township, tier="township", **place)
    PartyFactory(case=grassland, name="王建国")
    accusation = CaseFactory(
        status="in_handling",
        unit=township,
        tier="township",
        kind="accusation",
        accused_unit=village,
        description="举报村委会违规发包草场",
        **place,
    )
    cracked = CaseFactory(
        status="in_handling",
        unit=Unit.objects.get(code=f"TC-{YOUYI}"),
        tier="township",
        township_code=YOUYI,
        village_code=SUJIGOU,
        category="mining_subsidence",
    )
    return {
        "township": township,
        "village": village,
        "grassland": grassland,
        "accusation": accusation,
        "cracked": cracked,
        "admin": StaffFactory(role="banner_admin").user,
        "planner": StaffFactory(role="planner").user,
        "township_officer": StaffFactory(role="township_officer", scope_code=WEIJIAMAO, unit=township).user,
        "village_officer": StaffFactory(role="village_officer", scope_code=SHUANGAOBAO, unit=village).user,
        "grid_worker": StaffFactory(role="grid_worker", scope_code=f"{SHUANGAOBAO}-001").user,
    }


def logged_in(user, language: str = "") -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies["django_language"] = language
    return client


def take(world, case, user=None, **overrides):
    params = {
        "leader_name": "高副旗长",
        "leader_post": "副旗长",
        "plan": "组织评估房屋受损,一户一策协商补偿",
        "deadline": local_today() + dt.timedelta(days=30),
        **overrides,
    }
    return leaders.take_on(case, user or world["admin"], **params)


# -- who registers ------------------------------------------------------------------------------


def test_the_banner_admin_and_township_officers_register_others_only_look(world):
    assert leaders.may_register(world["admin"], world["cracked"])
    assert leaders.may_register(world["township_officer"], world["grassland"])
    assert not leaders.may_register(world["township_officer"], world["cracked"])  # another township
    for role in ("planner", "village_officer", "grid_worker"):
        assert not leaders.may_register(world[role]), role
    response = logged_in(world["planner"]).post("/leaders/", {"reference": world["grassland"].reference})
    assert response.status_code == 403 and "无权" in response.content.decode()
    assert logged_in(world["planner"]).get("/leaders/").status_code == 200
    assert logged_in(world["village_officer"]).post("/visits/", {}).status_code == 403


# -- 包案 ------------------------------------------------------------------------------------------


def test_a_leader_takes_on_a_case_and_it_is_in_the_history(world):
    response = logged_in(world["admin"]).post(
        "/leaders/",
        {
            "reference": world["cracked"].reference,
            "leader_name": "高副旗长",
            "leader_post": "副旗长",
            "plan": "组织评估房屋受损,一户一策协商补偿",
            "deadline": (local_today() + dt.timedelta(days=30)).isoformat(),
        },
    )
    assert response.status_code == 302
    record = LeaderCase.objects.get(case=world["cracked"])
    assert (record.leader_name, record.status) == ("高副旗长", "active")
    event = CaseEvent.objects.get(case=world["cracked"], action="leader_case")
    assert event.changes["leader"] == "高副旗长(副旗长)" and event.reason.startswith("组织评估")
    page = logged_in(world["admin"]).get(f"/cases/{world['cracked'].reference}/").content.decode()
    assert "领导包案" in page and "高副旗长(副旗长)" in page
    register = logged_in(world["admin"]).get("/leaders/").content.decode()
    assert "高副旗长" in register and world["cracked"].reference in register and "包案中 1 件" in register


def test_an_overdue_plan_is_flagged_per_leader(world):
    record = take(world, world["grassland"])
    take(world, world["cracked"])
    LeaderCase.objects.filter(pk=record.pk).update(deadline=local_today() - dt.timedelta(days=3))
    groups = leaders.leader_register(world["admin"], local_today())
    assert [(g.leader_name, g.active, g.overdue) for g in groups] == [("高副旗长", 2, 1)]
    overdue = [r for r in groups[0].rows if r.overdue]
    assert [(r.record.case.reference, r.days_over) for r in overdue] == [(world["grassland"].reference, 3)]
    page = logged_in(world["admin"]).get("/leaders/").content.decode()
    assert 'id="overdue-count"' in page and "逾期 1 件" in page and "逾期3天" in page
    leaders.close_leader_case(record, world["admin"], status="resolved", outcome="双方达成协议,已退还草场")
    assert leaders.leader_register(world["admin"], local_today())[0].overdue == 0  # a closed plan is not overdue
    assert CaseEvent.objects.filter(case=world["grassland"], action="leader_case_closed").exists()


def test_bad_input_names_the_field_and_writes_nothing(world):
    client = logged_in(world["admin"])
    base = {
        "reference": world["grassland"].reference,
        "leader_name": "高副旗长",
        "leader_post": "副旗长",
        "plan": "方案",
        "deadline": (local_today() - dt.timedelta(days=1)).isoformat(),
    }
    response = client.post("/leaders/", base)
    page = response.content.decode()
    assert response.status_code == 400 and "化解期限不能早于今天" in page and 'class="field has-error"' in page
    response = client.post("/leaders/", {**base, "deadline": "2026-02-30"})
    assert response.status_code == 400
    response = client.post("/leaders/", {**base, "deadline": local_today().isoformat(), "reference": "ZGE-1900-000"})
    assert response.status_code == 400 and "无此事项或不在您的辖区" in response.content.decode()
    response = client.post("/leaders/", {**base, "deadline": local_today().isoformat(), "plan": "a\x00b"})
    assert response.status_code == 400
    assert not LeaderCase.objects.exists() and not CaseEvent.objects.filter(action="leader_case").exists()
    take(world, world["grassland"])
    with pytest.raises(LeaderError) as twice:
        take(world, world["grassland"])
    assert twice.value.field == "leader_name"
    with pytest.raises(LeaderError) as outside:
        take(world, world["cracked"], world["township_officer"])  # not in the officer's township
    assert outside.value.field == "case"


def test_the_accused_village_never_sees_the_leaders_case_of_the_accusation(world):
    take(world, world["accusation"], plan="约谈村委会主任,核查发包程序")
    take(world, world["grassland"])
    for role in ("village_officer", "grid_worker"):
        user = world[role]
        references = [r.record.case.reference for g in leaders.leader_register(user, local_today()) for r in g.rows]
        assert references == [world["grassland"].reference], role
        page = logged_in(user).get("/leaders/").content.decode()
        assert world["accusation"].reference not in page and "约谈村委会主任" not in page, role
    assert world["accusation"].reference in logged_in(world["township_officer"]).get("/leaders/").content.decode()


def test_a_planner_sees_the_register_without_plans(world):
    take(world, world["grassland"], plan="组织王建国与邻户现场调解")
    page = logged_in(world["planner"]).get("/leaders/").content.decode()
    assert world["grassland"].reference in page and "高副旗长" in page
    assert "王建国" not in page and "（仅经办人员可见）" in page
    assert 'id="take-on"' not in page  # planners only look


def test_the_register_in_english(world):
    take(world, world["grassland"])
    page = logged_in(world["admin"], "en").get("/leaders/").content.decode()
    assert "Leaders' cases register" in page and "1 in hand" in page and "领导包案登记" not in page


# -- visits ------------------------------------------------------------------------------------


def schedule(world, user=None, on=None, references=None, **overrides):
    params = {
        "kind": "field",
        "on": on or local_today() + dt.timedelta(days=7),
        "starts": dt.time(9, 30),
        "place": "魏家峁镇双敖包村说事室",
        "leader_name": "高副旗长",
        "leader_post": "副旗长",
        "references": references or [world["grassland"].reference, world["accusation"].reference],
        **overrides,
    }
    return leaders.schedule_visit(user or world["admin"], **params)


def test_a_visit_is_scheduled_with_its_cases_and_its_outcome_recorded_afterwards(world):
    visit = schedule(world)
    assert sorted(visit.cases.values_list("reference", flat=True)) == sorted(
        [world["grassland"].reference, world["accusation"].reference]
    )
    assert CaseEvent.objects.filter(action="visit_scheduled").count() == 2
    with pytest.raises(LeaderError) as early:
        leaders.record_visit_outcome(visit, world["grassland"].reference, world["admin"], outcome="已调解")
    assert early.value.field == "outcome"
    LeaderVisit.objects.filter(pk=visit.pk).update(on=local_today() - dt.timedelta(days=1))
    visit.refresh_from_db()
    leaders.record_visit_outcome(visit, world["grassland"].reference, world["admin"], outcome="现场调解,邻户退还草场")
    event = CaseEvent.objects.get(case=world["grassland"], action="visit_outcome")
    assert event.reason == "现场调解,邻户退还草场"
    month = f"{visit.on:%Y-%m}"
    page = logged_in(world["admin"]).get("/visits/", {"month": month}).content.decode()
    assert "领导下访" in page and "魏家峁镇双敖包村说事室" in page and "现场调解,邻户退还草场" in page


def test_the_calendar_shows_the_month_asked_for(world):
    today = local_today()
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    schedule(world, on=next_month, place="旗信访局接访大厅", kind="reception")
    here = logged_in(world["admin"]).get("/visits/").content.decode()
    there = logged_in(world["admin"]).get("/visits/", {"month": f"{next_month:%Y-%m}"}).content.decode()
    assert "旗信访局接访大厅" not in here and "旗信访局接访大厅" in there
    assert logged_in(world["admin"]).get("/visits/", {"month": "2026-13"}).status_code == 400
    assert logged_in(world["admin"]).get("/visits/", {"month": "٢٠٢٦-01"}).status_code == 400


def test_the_accused_village_sees_neither_the_accusation_on_a_visit_nor_a_visit_only_about_it(world):
    schedule(world)  # grassland and accusation
    schedule(world, references=[world["accusation"].reference], place="旗纪委谈话室")
    officer = world["village_officer"]
    month = f"{(local_today() + dt.timedelta(days=7)):%Y-%m}"
    page = logged_in(officer).get("/visits/", {"month": month}).content.decode()
    assert world["grassland"].reference in page
    assert world["accusation"].reference not in page and "旗纪委谈话室" not in page
    admin_page = logged_in(world["admin"]).get("/visits/", {"month": month}).content.decode()
    assert "旗纪委谈话室" in admin_page and world["accusation"].reference in admin_page


def test_a_visit_refuses_cases_out_of_scope_and_bad_input_names_the_field(world):
    officer = world["township_officer"]
    with pytest.raises(LeaderError) as refused:
        schedule(world, officer, references=[world["cracked"].reference])
    assert refused.value.field == "references"
    with pytest.raises(LeaderError) as refused:
        schedule(world, officer, township_code=YOUYI)
    assert refused.value.field == "township_code"
    response = logged_in(world["admin"]).post(
        "/visits/", {"kind": "field", "on": "", "place": "", "leader_name": "高副旗长", "leader_post": "副旗长"}
    )
    page = response.content.decode()
    assert response.status_code == 400 and "has-error" in page
    assert not LeaderVisit.objects.exists()
    visit = schedule(world, officer)
    assert visit.township_code == WEIJIAMAO  # an officer's visit is in their own township


def test_the_calendar_page_in_english(world):
    schedule(world)
    month = f"{(local_today() + dt.timedelta(days=7)):%Y-%m}"
    page = logged_in(world["admin"], "en").get("/visits/", {"month": month}).content.decode()
    assert "Calendar of leaders' receptions, invitations and visits" in page and "Leader&#x27;s field visit" in page


# -- minutes and assignments (交办单) --------------------------------------------------------------


def on_agenda(world, meeting: dt.date):
    case = world["grassland"]
    type(case).objects.filter(pk=case.pk).update(
        status="on_agenda",
        agenda_date=meeting,
        agenda_plan="国土所会同村委会重新测量草场边界",
        agenda_deadline=meeting + dt.timedelta(days=20),
        responsible_person="刘所长",
    )
    case.refresh_from_db()
    return case


def test_the_assignment_is_a_numbered_notice_from_the_banner_in_the_case_history(world):
    meeting = local_today()
    case = on_agenda(world, meeting)
    assert NoticeKind.AGENDA_ASSIGNMENT in notices.offered_kinds(case)
    document = notices.issue(case, NoticeKind.AGENDA_ASSIGNMENT, {}, world["admin"])
    assert document.unit.code == "BL-150622" and "联交" in document.doc_number
    text = "\n".join(
        p.text for p in Document(io.BytesIO(to_docx(notices.as_read_by(world["admin"], document)))).paragraphs
    )
    tables = Document(io.BytesIO(to_docx(notices.as_read_by(world["admin"], document)))).tables
    cells = " ".join(c.text for t in tables for row in t.rows for c in row.cells)
    assert "信访工作联席会议交办单" in text and case.reference in cells and "重新测量草场边界" in cells
    assert "王建国" in cells and "刘所长" in cells
    assert CaseEvent.objects.filter(case=case, action="issue_document").exists()
    minutes_page = logged_in(world["admin"]).get("/agenda/minutes/", {"date": meeting.isoformat()}).content.decode()
    assert document.doc_number in minutes_page


def test_the_minutes_list_the_agenda_with_plans_for_handlers_only(world):
    meeting = local_today()
    case = on_agenda(world, meeting)
    draft = minutes_draft(world["admin"], meeting, meeting)
    docx = Document(io.BytesIO(to_docx(draft)))
    cells = " ".join(c.text for t in docx.tables for row in t.rows for c in row.cells)
    assert "信访工作联席会议纪要" in "\n".join(p.text for p in docx.paragraphs)
    assert "重新测量草场边界" in cells and "刘所长" in cells
    response = logged_in(world["admin"]).get("/agenda/minutes.docx", {"date": meeting.isoformat()})
    assert response.status_code == 200 and response.content[:2] == b"PK"
    planner = logged_in(world["planner"]).get("/agenda/minutes/", {"date": meeting.isoformat()}).content.decode()
    assert case.reference in planner and "重新测量草场边界" not in planner and "刘所长" not in planner
    assert logged_in(world["admin"]).get("/agenda/minutes/", {"date": "2026-02-30"}).status_code == 400
    agenda = logged_in(world["admin"]).get("/agenda/", {"date": meeting.isoformat()}).content.decode()
    assert "/agenda/minutes/" in agenda


def test_the_minutes_never_show_the_accused_village_its_accusation(world):
    meeting = local_today()
    type(world["accusation"]).objects.filter(pk=world["accusation"].pk).update(
        status="on_agenda", agenda_date=meeting, agenda_plan="纪委核查"
    )
    page = logged_in(world["village_officer"]).get("/agenda/minutes/", {"date": meeting.isoformat()}).content.decode()
    assert world["accusation"].reference not in page
    draft = minutes_draft(world["village_officer"], meeting, meeting)
    assert world["accusation"].reference not in str(draft.blocks)
    assert world["accusation"].reference in str(minutes_draft(world["admin"], meeting, meeting).blocks)


def test_leaders_act_at_the_times_they_say(world):
    past = timezone.now() - dt.timedelta(days=40)
    record = take(world, world["grassland"], deadline=local_today() - dt.timedelta(days=10), now=past)
    assert record.taken_at == past
