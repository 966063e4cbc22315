"""The accused side of an accusation and recusal (条例 Arts. 28, 30): who never sees it, never holds it.

An accusation against 不拉村's committee, naming its director (who has an account), is registered by
the banner. Everyone working in or for the village — its officers, the grid workers of any of its
grids, field staff bound to it, members of the committee, the director's own account — loses sight
of it; the township above it, the banner and the discipline commission keep it. No hand-over
(transfer, assignment, agenda, lead, review, supervision) may reach that side.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from geo_disputes.models import Banner, Case, Recusal, Unit
from geo_disputes.services.cases.access import visible_cases
from geo_disputes.services.cases.recusal import name_accused, names_accused, scope_prefixes, unit_on_accused_side
from geo_disputes.services.cases.supervision import supervising_body
from geo_disputes.services.cases.workflow import WorkflowError, apply
from tests.factories import CaseFactory, StaffFactory, UnitFactory, UserFactory, box, intake_body, seed_places

pytestmark = pytest.mark.django_db

SHAGEDU, BULA = "150622101", "150622101206"
IN_BULA_GRID_1 = (110.805, 39.605)


@pytest.fixture
def world():
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    UnitFactory(code="BD-discipline", name="旗纪委监委", kind="banner_department", area_code="150622")
    UnitFactory(code="BD-petitions", name="旗信访局", kind="banner_department", area_code="150622")
    Unit.objects.filter(code=f"VC-{BULA}").update(head_name="李村长")


def client(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def accusation(director=None, **overrides) -> dict:
    """POST the accusation as the banner admin; returns the answer."""
    persons = [{"name": "李村长", "position": "村委会主任", "unit": f"VC-{BULA}"}]
    if director is not None:
        persons[0]["user"] = director.username
    body = intake_body(
        category="land_occupation",
        kind="accusation",
        channel="letter",
        description="检举村委会主任李村长私自出租集体草场",
        lon=IN_BULA_GRID_1[0],
        lat=IN_BULA_GRID_1[1],
        accused_unit=f"VC-{BULA}",
        accused_persons=persons,
        **overrides,
    )
    answer = client(StaffFactory(role="banner_admin").user).post("/api/cases/", body, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


ACCUSED_SIDE = [
    ("village_officer", BULA, None),
    ("grid_worker", f"{BULA}-001", None),
    ("field_staff", BULA, None),
    ("field_staff", "", f"VC-{BULA}"),  # bound to the committee by unit
    ("township_officer", SHAGEDU, f"VC-{BULA}"),  # a committee member, whatever the role says
]
KEEPS_IT = [("township_officer", SHAGEDU), ("banner_admin", ""), ("field_staff", SHAGEDU), ("planner", "")]


@pytest.mark.parametrize(("role", "scope", "unit"), ACCUSED_SIDE, ids=[f"{r}:{s or u}" for r, s, u in ACCUSED_SIDE])
def test_nobody_working_in_or_for_the_accused_village_sees_the_accusation(world, role, scope, unit):
    case = accusation()
    user = StaffFactory(role=role, scope_code=scope, unit=Unit.objects.filter(code=unit).first()).user
    assert not visible_cases(user).filter(reference=case["reference"]).exists()
    assert client(user).get(f"/api/cases/{case['reference']}/").status_code == 404


@pytest.mark.parametrize(("role", "scope"), KEEPS_IT, ids=[f"{r}:{s or '-'}" for r, s in KEEPS_IT])
def test_the_township_above_and_the_banner_keep_it(world, role, scope):
    case = accusation()
    assert (case["procedure"], case["unit"]["code"]) == ("discipline", "BD-discipline")
    user = StaffFactory(role=role, scope_code=scope).user
    assert visible_cases(user).filter(reference=case["reference"]).exists()


def test_an_accused_official_with_an_account_is_recused_at_once_whatever_the_role(world):
    director = StaffFactory(role="banner_admin").user  # even a banner-wide role
    case = accusation(director)
    assert Recusal.objects.filter(case__reference=case["reference"], user=director, ground="accused").exists()
    assert client(director).get(f"/api/cases/{case['reference']}/").status_code == 404
    assert case["reference"] not in client(director).get("/api/cases/").content.decode()


def test_the_accused_persons_show_to_those_who_handle_it_only(world):
    case = accusation()
    handler = client(StaffFactory(role="banner_admin").user).get(f"/api/cases/{case['reference']}/").json()
    assert handler["accused_persons"] == [{"name": "李村长", "position": "村委会主任", "unit": f"VC-{BULA}"}]
    planner = client(StaffFactory(role="planner").user).get(f"/api/cases/{case['reference']}/").json()
    assert planner["accused_persons"] == []


def test_a_registrar_on_the_accused_side_gets_a_receipt_and_nothing_of_the_matter(world):
    officer = client(StaffFactory(role="village_officer", scope_code=BULA).user)
    body = intake_body(
        kind="accusation",
        description="检举村委会私分补偿款",
        lon=IN_BULA_GRID_1[0],
        lat=IN_BULA_GRID_1[1],
        accused_unit=f"VC-{BULA}",
    )
    answer = officer.post("/api/cases/", body, format="json")
    assert answer.status_code == 201
    receipt = answer.json()
    assert receipt["visible"] is False and receipt["reference"].startswith("ZGE-")
    assert "私分" not in answer.content.decode() and "petitioners" not in receipt and "unit" not in receipt


def test_accused_persons_belong_to_an_accusation_and_name_real_units(world):
    admin = client(StaffFactory(role="banner_admin").user)
    claim = intake_body(accused_persons=[{"name": "李村长"}])
    assert "accused_persons" in admin.post("/api/cases/", claim, format="json").json()
    bad_unit = intake_body(kind="accusation", accused_persons=[{"name": "李村长", "unit": "VC-nowhere"}])
    assert "accused_persons[0].unit" in admin.post("/api/cases/", bad_unit, format="json").json()
    no_name = intake_body(kind="accusation", accused_persons=[{"position": "主任"}])
    assert "accused_persons[0].name" in admin.post("/api/cases/", no_name, format="json").json()
    assert Case.objects.count() == 0


def test_no_hand_over_reaches_the_accused_side(world):
    discipline = Case.objects.get(reference=accusation()["reference"])
    admin = StaffFactory(role="banner_admin").user
    with pytest.raises(WorkflowError, match="回避"):
        apply(discipline, "transfer", admin, discipline.version, unit=f"VC-{BULA}", reason="属地办理")
    # A petition that also accuses 沙圪堵镇's committee (headed by 赵书记), held by the banner.
    Unit.objects.filter(code=f"TC-{SHAGEDU}").update(head_name="赵书记")
    case = CaseFactory(
        township_code=SHAGEDU,
        village_code=BULA,
        tier="banner",
        unit=Unit.objects.get(code="BL-150622"),
        procedure="petition",
        accused_unit=Unit.objects.get(code=f"TC-{SHAGEDU}"),
        status="accepted",
        accepted_at=timezone.now(),
    )
    name_accused(case, "张会计", "镇财政所会计", Unit.objects.get(code=f"TC-{SHAGEDU}"))
    deadline = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    attempts = [
        ("assign", {"unit": f"VC-{BULA}", "person": "王某"}, "unit"),  # a village inside the accused township
        ("assign", {"unit": f"TC-{SHAGEDU}", "person": "王某"}, "unit"),
        ("assign", {"person": "赵书记"}, "person"),  # the head of the accused committee
        ("assign", {"person": "张会计"}, "person"),  # an accused person
        ("put_on_agenda", {"unit": f"VC-{BULA}", "person": "王某", "plan": "联席会议", "deadline": deadline}, "unit"),
    ]
    for action, params, field in attempts:
        with pytest.raises(WorkflowError) as refused:
            apply(case, action, admin, case.version, **params)
        assert refused.value.field == field and "回避" in str(refused.value), (action, params)
    case.refresh_from_db()
    assert (case.unit.code, case.status) == ("BL-150622", "accepted")
    assigned = apply(case, "assign", admin, case.version, unit="VC-150622004201", person="王某")
    assert (assigned.unit.code, assigned.responsible_person) == ("VC-150622004201", "王某")


def test_the_accused_side_is_judged_by_area_for_committees_only(world):
    units = {u.code: u for u in Unit.objects.all()}
    case = CaseFactory(accused_unit=units[f"TC-{SHAGEDU}"])
    assert scope_prefixes(f"{BULA}-003") == {SHAGEDU, BULA, f"{BULA}-003"}
    assert scope_prefixes("") == set()
    assert unit_on_accused_side(case, units[f"TC-{SHAGEDU}"])
    assert unit_on_accused_side(case, units[f"VC-{BULA}"])  # a village inside the accused township
    assert not unit_on_accused_side(case, units["VC-150622004201"])
    assert not unit_on_accused_side(case, units["BL-150622"])
    department = CaseFactory(accused_unit=units["BD-energy"])  # its area is the banner: it drags nobody along
    assert unit_on_accused_side(department, units["BD-energy"])
    assert not unit_on_accused_side(department, units[f"VC-{BULA}"])


def test_a_review_skips_an_accused_reviewer_and_the_tick_an_accused_supervisor(world):
    township = Unit.objects.get(code=f"TC-{SHAGEDU}")
    case = CaseFactory(
        township_code=SHAGEDU,
        village_code=BULA,
        tier="village",
        unit=Unit.objects.get(code=f"VC-{BULA}"),
        procedure="petition",
        kind="claim",
        accused_unit=township,
        status="served",
        accepted_at=timezone.now() - dt.timedelta(days=20),
        replied_at=timezone.now() - dt.timedelta(days=2),
        served_at=timezone.now() - dt.timedelta(days=1),
    )
    assert supervising_body(case).startswith("BD-petitions")  # not the accused township
    reviewed = apply(case, "request_review", None, case.version, reason="不服")
    assert (reviewed.tier, reviewed.unit.code) == ("banner", "BL-150622")


def test_routing_never_makes_an_accused_department_a_co_handler(world):
    admin = client(StaffFactory(role="banner_admin").user)
    body = intake_body(kind="accusation", accused_unit="BD-energy", departments=["energy", "justice"])
    case = admin.post("/api/cases/", body, format="json").json()
    partners = set(Case.objects.get(reference=case["reference"]).partner_units.values_list("code", flat=True))
    assert partners == {"BD-justice"}


def test_names_accused_covers_the_persons_and_the_accused_units_head(world):
    case = Case.objects.get(reference=accusation()["reference"])
    assert names_accused(case, "李村长") and names_accused(case, " 李村长 ")
    assert not names_accused(case, "王某") and not names_accused(case, "")


# Recusal (回避, Art. 28) ------------------------------------------------------------------------------


def test_an_officer_recuses_themselves_and_the_case_leaves_their_sight(world):
    township = StaffFactory(role="township_officer", scope_code=SHAGEDU).user
    ref = accusation()["reference"]
    api = client(township)
    answer = api.post(
        f"/api/cases/{ref}/recusals/",
        {"user": township.username, "ground": "interest", "reason": "亲属"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    assert api.get(f"/api/cases/{ref}/").status_code == 404
    event = Case.objects.get(reference=ref).events.get(action="recuse")
    assert event.changes == {"recused": township.username, "ground": "interest"}


def test_recusing_someone_else_is_the_holders_decision(world):
    ref = accusation()["reference"]
    other = UserFactory(username="wang")
    agent = client(StaffFactory(role="township_officer", scope_code=SHAGEDU).user)  # below the banner-tier holder
    body = {"user": "wang", "ground": "interest", "reason": "利害关系"}
    assert agent.post(f"/api/cases/{ref}/recusals/", body, format="json").status_code == 403
    admin = client(StaffFactory(role="banner_admin").user)
    assert admin.post(f"/api/cases/{ref}/recusals/", body, format="json").status_code == 201
    assert Recusal.objects.filter(case__reference=ref, user=other).exists()
    unknown = admin.post(f"/api/cases/{ref}/recusals/", {**body, "user": "nobody"}, format="json")
    assert unknown.status_code == 400 and "user" in unknown.json()
    no_reason = admin.post(f"/api/cases/{ref}/recusals/", {**body, "reason": ""}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()


def test_recusal_from_the_case_page(world):
    from django.test import Client

    township = StaffFactory(role="township_officer", scope_code=SHAGEDU).user
    ref = accusation()["reference"]
    page = Client()
    page.force_login(township)
    assert "回避" in page.get(f"/cases/{ref}/").content.decode()
    answer = page.post(f"/cases/{ref}/recusal/", {"user": township.username, "ground": "interest", "reason": "亲属"})
    assert answer.status_code == 302 and answer["Location"] == "/cases/"
    assert page.get(f"/cases/{ref}/").status_code == 404


def test_a_holder_below_the_banner_cannot_recuse_its_supervisors_from_its_own_matter(world):
    """A township officer decides its township's matters, so it could recuse someone else — even the banner
    admin, whose sight of the matter is how the township is supervised. Recusal of an official is decided
    for them by their own body or one above it, never by a body below (条例 Art. 28)."""
    admin = StaffFactory(role="banner_admin").user
    township = StaffFactory(role="township_officer", scope_code=SHAGEDU).user
    held = client(admin).post(
        "/api/cases/",
        intake_body(channel="letter", lon=IN_BULA_GRID_1[0], lat=IN_BULA_GRID_1[1], description="邻里占道"),
        format="json",
    )
    ref = held.json()["reference"]
    case = Case.objects.get(reference=ref)
    assert case.tier == "township", case.tier  # the township holds and decides it
    body = {"user": admin.username, "ground": "interest", "reason": "不想被督办"}
    assert client(township).post(f"/api/cases/{ref}/recusals/", body, format="json").status_code == 403
    assert client(admin).get(f"/api/cases/{ref}/").status_code == 200
    village = StaffFactory(role="village_officer", scope_code=BULA).user
    below = {**body, "user": village.username, "reason": "亲属"}
    assert client(township).post(f"/api/cases/{ref}/recusals/", below, format="json").status_code == 201


def test_a_superuser_named_in_an_accusation_does_not_see_it_either(world):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "", None)
    ref = accusation(root)["reference"]
    assert not visible_cases(root).filter(reference=ref).exists()
    assert client(root).get(f"/api/cases/{ref}/").status_code == 404
