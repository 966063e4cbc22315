"""Who sees which case, and whose names: every role and scope against one small banner."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.core.management import CommandError, call_command

from geo_disputes.models import Case, Grid, PersonalDataAccess, StaffProfile, Unit
from geo_disputes.services.cases.access import (
    can_act,
    can_see_pii,
    mask_id,
    mask_name,
    mask_phone,
    may_decide,
    may_perform,
    parcel_holder,
    petitioner_view,
    visible_cases,
)
from geo_disputes.services.ops.demo_staff import create_demo_staff
from tests.factories import (
    CaseFactory,
    ParcelFactory,
    PartyFactory,
    StaffFactory,
    UserFactory,
    box,
    metres_apart,
    on_coarse_grid,
    seed_places,
)

pytestmark = pytest.mark.django_db

YOUYI, SHAGEDU = "150622004", "150622101"
SUJIGOU, BULA, SHAGEDU_VILLAGE = "150622004201", "150622101206", "150622101201"
BULA_GRID_1, BULA_GRID_2 = f"{BULA}-001", f"{BULA}-002"
ALL = {"SUJIGOU", "BULA-WATER", "BULA-YARD", "SWAP", "ACCUSE"}


@pytest.fixture
def banner():
    """Five cases: 41 cracked houses in 苏计沟村 (mining influence zone), two 不拉村 matters in two
    grids, a land swap inside a mining area in 沙圪堵村, and an accusation against 不拉村's committee."""
    seed_places()
    unit = {u.code: u for u in Unit.objects.all()}

    def case(ref, grid, village, tier, unit_code, **facts):
        made = CaseFactory(
            reference=ref,
            township_code=village[:9],
            village_code=village,
            grid_code=grid,
            tier=tier,
            unit=unit[unit_code],
            **facts,
        )
        PartyFactory(case=made, name="史文华", phone="13812340000", id_number="150622198001011234")
        return made

    case(
        "SUJIGOU",
        "",
        SUJIGOU,
        "township",
        f"TC-{YOUYI}",
        category="mining_subsidence",
        mining_relation="influence_zone",
    )
    case("BULA-WATER", BULA_GRID_1, BULA, "village", f"VC-{BULA}", category="utilities")
    case("BULA-YARD", BULA_GRID_2, BULA, "village", f"VC-{BULA}", category="neighbour")
    case("SWAP", "", SHAGEDU_VILLAGE, "mining_court", "MC-150622", category="land_contract", mining_relation="inside")
    case(
        "ACCUSE",
        BULA_GRID_1,
        BULA,
        "township",
        f"TC-{SHAGEDU}",
        category="land_occupation",
        kind="accusation",
        accused_unit=unit[f"VC-{BULA}"],
    )
    return unit


def staff(role: str, scope: str = "", unit: Unit | None = None):
    return StaffFactory(role=role, scope_code=scope, unit=unit).user


ROLE_SCOPE_SEES = [
    ("banner_admin", "", ALL),
    ("planner", "", ALL),
    ("field_staff", "", ALL),
    ("field_staff", SHAGEDU, ALL - {"SUJIGOU"}),
    ("field_staff", BULA, {"BULA-WATER", "BULA-YARD"}),  # bound to the accused village: withheld
    ("township_officer", YOUYI, {"SUJIGOU"}),
    ("township_officer", SHAGEDU, ALL - {"SUJIGOU"}),
    ("township_officer", "", set()),
    ("village_officer", BULA, {"BULA-WATER", "BULA-YARD"}),  # the accusation against its committee is withheld
    ("village_officer", SHAGEDU_VILLAGE, {"SWAP"}),
    ("grid_worker", BULA_GRID_1, {"BULA-WATER"}),  # works in the accused village: withheld (Art. 30)
    ("grid_worker", BULA_GRID_2, {"BULA-YARD"}),
    ("mining_court", "", {"SUJIGOU", "SWAP"}),
]


@pytest.mark.parametrize(
    ("role", "scope", "expected"), ROLE_SCOPE_SEES, ids=[f"{r}:{s or '-'}" for r, s, _ in ROLE_SCOPE_SEES]
)
def test_each_role_sees_the_cases_of_its_scope(banner, role, scope, expected):
    user = staff(role, scope)

    assert set(visible_cases(user).values_list("reference", flat=True)) == expected


def test_superusers_see_all_and_users_without_a_role_see_nothing(banner, client):
    root = get_user_model().objects.create_superuser("root", password="pw-for-tests-only")
    bare = UserFactory()

    assert visible_cases(root).count() == len(ALL)
    assert not visible_cases(bare).exists()
    assert not visible_cases(client.get("/").wsgi_request.user).exists()  # anonymous


def test_visibility_narrows_a_given_queryset(banner):
    officer = staff("township_officer", SHAGEDU)

    narrowed = visible_cases(officer, Case.objects.filter(category="utilities"))

    assert list(narrowed.values_list("reference", flat=True)) == ["BULA-WATER"]


def test_staff_of_an_accused_banner_department_never_see_the_accusation(banner):
    bureau = Unit.objects.get(code="BD-natural_resources")
    Case.objects.filter(reference="SWAP").update(kind="accusation", accused_unit=bureau)
    bureau_clerk = staff("field_staff", "", unit=bureau)

    assert "SWAP" not in set(visible_cases(bureau_clerk).values_list("reference", flat=True))
    assert petitioner_view(bureau_clerk, Case.objects.get(reference="SWAP")) == []


def test_the_accused_village_officer_gets_nothing_even_by_asking_directly(banner):
    accused_officer = staff("village_officer", BULA)
    accusation = Case.objects.get(reference="ACCUSE")

    assert petitioner_view(accused_officer, accusation) == []
    assert not can_see_pii(accused_officer, accusation)
    assert not can_act(accused_officer, accusation)


def test_the_township_handling_the_accusation_sees_the_petitioner_and_it_is_recorded(banner):
    township_officer = staff("township_officer", SHAGEDU)
    accusation = Case.objects.get(reference="ACCUSE")

    [petitioner] = petitioner_view(township_officer, accusation)

    assert petitioner | {"id": None} == {
        "id": None,
        "name": "史文华",
        "phone": "13812340000",
        "id_number": "150622198001011234",
        "masked": False,
        "representative": False,
    }
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.case) == (township_officer, accusation)


PII_BY_ROLE = [
    ("banner_admin", "", "BULA-WATER", True),
    ("village_officer", BULA, "BULA-WATER", True),  # its committee handles it
    ("township_officer", SHAGEDU, "BULA-WATER", False),  # supervises; the village handles it
    ("township_officer", SHAGEDU, "ACCUSE", True),
    ("grid_worker", BULA_GRID_1, "BULA-WATER", True),  # the household's agent
    ("grid_worker", BULA_GRID_1, "ACCUSE", False),  # works in the accused village (Art. 30)
    ("mining_court", "", "SWAP", True),
    ("mining_court", "", "SUJIGOU", False),  # mining-related, but the street committee's case
    ("planner", "", "BULA-WATER", False),
    ("field_staff", "", "BULA-WATER", False),
    ("township_officer", YOUYI, "BULA-WATER", False),  # out of scope
]


@pytest.mark.parametrize(("role", "scope", "reference", "unmasked"), PII_BY_ROLE)
def test_who_sees_petitioners_unmasked(banner, role, scope, reference, unmasked):
    assert can_see_pii(staff(role, scope), Case.objects.get(reference=reference)) is unmasked


def test_field_staff_see_petitioners_masked_and_nothing_is_recorded(banner):
    surveyor = staff("field_staff", "")

    [petitioner] = petitioner_view(surveyor, Case.objects.get(reference="BULA-WATER"))

    assert (petitioner["name"], petitioner["phone"], petitioner["id_number"], petitioner["masked"]) == (
        "史某",
        "138****0000",
        "1506**********1234",
        True,
    )
    assert not PersonalDataAccess.objects.exists()


def test_a_planner_sees_no_personal_data_at_all(banner):
    planner = staff("planner")
    parcel = ParcelFactory(code=f"{BULA}JD00001", holder_name="史文华", geom=box(110.81, 39.61, 110.82, 39.62))

    assert petitioner_view(planner, Case.objects.get(reference="BULA-WATER")) == []
    assert parcel_holder(planner, parcel) == ""
    assert not PersonalDataAccess.objects.exists()


def test_every_unmasked_view_is_recorded_once_per_look(banner):
    admin = staff("banner_admin")
    water = Case.objects.get(reference="BULA-WATER")
    PartyFactory(case=water, name="史文明")

    assert len(petitioner_view(admin, water, purpose="约访")) == 2
    petitioner_view(admin, water)

    assert list(PersonalDataAccess.objects.order_by("id").values_list("purpose", flat=True)) == [
        "约访",
        "查看信访人 view petitioners",
    ]


def test_parcel_holders_whole_for_the_village_officer_masked_for_the_field(banner):
    parcel = ParcelFactory(code=f"{BULA}JD00001", holder_name="欧阳娜娜", geom=box(110.81, 39.61, 110.82, 39.62))

    assert parcel_holder(staff("village_officer", BULA), parcel) == "欧阳娜娜"
    assert parcel_holder(staff("village_officer", SHAGEDU_VILLAGE), parcel) == "欧阳某"
    assert parcel_holder(staff("field_staff"), parcel) == "欧阳某"
    assert PersonalDataAccess.objects.get().parcel == parcel


@pytest.mark.parametrize(
    ("role", "scope", "reference", "acts"),
    [
        ("village_officer", BULA, "BULA-WATER", True),
        ("village_officer", BULA, None, True),
        ("township_officer", SHAGEDU, "BULA-WATER", True),
        ("mining_court", "", "SWAP", True),
        ("mining_court", "", "SUJIGOU", False),
        ("planner", "", "BULA-WATER", False),
        ("planner", "", None, False),
        ("field_staff", "", None, True),  # field staff open a case where they stand...
        ("field_staff", "", "BULA-WATER", False),  # ...but do not move cases along
    ],
)
def test_who_may_act(banner, role, scope, reference, acts):
    case = Case.objects.get(reference=reference) if reference else None

    assert can_act(staff(role, scope), case) is acts


@pytest.mark.parametrize(
    ("given", "masked"),
    [("王建国", "王某"), ("欧阳娜娜", "欧阳某"), ("司马光", "司马某"), ("欧阳", "欧某"), ("巴特尔", "巴某"), ("", "")],
)
def test_names_are_masked_as_the_seed_writes_them(given, masked):
    assert mask_name(given) == masked


@pytest.mark.parametrize(("given", "masked"), [("13800000000", "138****0000"), ("0477123", "*******"), ("", "")])
def test_phones_are_masked(given, masked):
    assert mask_phone(given) == masked


@pytest.mark.parametrize(("given", "masked"), [("150622198001011234", "1506**********1234"), ("", "")])
def test_id_numbers_are_masked(given, masked):
    assert mask_id(given) == masked


def add_staff(*args: str) -> str:
    out = StringIO()
    call_command("add_staff", *args, stdout=out)
    return out.getvalue()


def test_add_staff_creates_a_township_officer_with_a_generated_password(banner):
    out = add_staff("wang", "--role", "township_officer", "--scope", YOUYI)

    profile = StaffProfile.objects.get(user__username="wang")
    assert (profile.role, profile.scope_code, profile.unit.code) == ("township_officer", YOUYI, f"TC-{YOUYI}")
    assert out.startswith(f"created wang: role=township_officer scope={YOUYI} unit=TC-{YOUYI}")
    password = re.search(r"generated password \(shown once\): (\S+)", out).group(1)
    assert profile.user.check_password(password)


def test_add_staff_twice_updates_and_keeps_the_password(banner):
    add_staff("li", "--role", "village_officer", "--scope", BULA, "--password", "first-password-1")

    out = add_staff("li", "--role", "grid_worker", "--scope", BULA_GRID_1)

    profile = StaffProfile.objects.get(user__username="li")
    assert out.startswith("updated li: role=grid_worker")
    assert "password" not in out
    assert (profile.role, profile.scope_code, profile.unit) == ("grid_worker", BULA_GRID_1, None)
    assert profile.user.check_password("first-password-1")
    assert StaffProfile.objects.filter(user__username="li").count() == 1


def test_add_staff_keeps_the_scope_when_only_the_password_changes(banner):
    add_staff("zhao", "--role", "village_officer", "--scope", BULA)

    add_staff("zhao", "--role", "village_officer", "--password", "second-password-2")

    profile = StaffProfile.objects.get(user__username="zhao")
    assert (profile.scope_code, profile.unit.code) == (BULA, f"VC-{BULA}")
    assert profile.user.check_password("second-password-2")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "township_officer"], "role township_officer needs scope: township; got no scope"),
        (["--role", "township_officer", "--scope", BULA], "needs scope: township; got village"),
        (["--role", "village_officer", "--scope", "15062210120"], "not a 9-digit township, 12-digit village or grid"),
        (["--role", "village_officer", "--scope", "150622101299"], "no village 150622101299 in force"),
        (["--role", "grid_worker", "--scope", f"{BULA}-099"], f"no grid {BULA}-099 in force"),
        (["--role", "planner", "--scope", YOUYI], "role planner needs scope: banner (no scope)"),
        (["--role", "banner_admin", "--unit", "XX-1"], "no unit XX-1"),
    ],
)
def test_add_staff_refuses_a_scope_that_does_not_fit(banner, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        add_staff("bad", *args)
    assert not get_user_model().objects.filter(username="bad").exists()


def test_add_staff_refuses_an_unknown_role():
    with pytest.raises(CommandError, match="invalid choice"):
        add_staff("bad", "--role", "mayor")


def test_demo_staff_one_per_role_and_safe_to_run_twice(banner):
    first = create_demo_staff("demo-password-1")
    second = create_demo_staff("demo-password-1")

    assert first == second
    assert {role for _, role, _ in first} == {
        "banner_admin",
        "township_officer",
        "village_officer",
        "grid_worker",
        "mining_court",
        "planner",
        "field_staff",
    }
    assert StaffProfile.objects.count() == 7
    grid_worker = StaffProfile.objects.get(role="grid_worker").user
    assert Grid.objects.get(code=BULA_GRID_1).worker_user == grid_worker
    assert grid_worker.check_password("demo-password-1")
    township = StaffProfile.objects.get(role="township_officer")
    assert (township.scope_code, township.unit.code) == (YOUYI, f"TC-{YOUYI}")


# Deciding (issue 12, item 4): the holder's tier or above decides; lower tiers and agents record facts.


def _banner_tier_case_in_bula(banner) -> Case:
    return CaseFactory(
        reference="BANNER-TIER",
        township_code=SHAGEDU,
        village_code=BULA,
        grid_code=BULA_GRID_1,
        tier="banner",
        unit=banner["BL-150622"],
        procedure="petition",
    )


DECIDERS = [
    ("township_officer", SHAGEDU, "BANNER-TIER", False),  # a banner body's matter in the township's area
    ("grid_worker", BULA_GRID_1, "BANNER-TIER", False),
    ("grid_worker", BULA_GRID_1, "BULA-WATER", False),  # the agent of a village matter decides nothing
    ("village_officer", BULA, "BULA-WATER", True),
    ("township_officer", SHAGEDU, "BULA-WATER", True),  # above the holder
    ("township_officer", YOUYI, "SUJIGOU", True),
    ("banner_admin", "", "BANNER-TIER", True),
    ("banner_admin", "", "SWAP", False),  # a court's matter is the court's (诉访分离)
    ("mining_court", "", "SWAP", True),
]


@pytest.mark.parametrize(("role", "scope", "reference", "decides"), DECIDERS)
def test_only_the_holders_tier_or_above_decides(banner, role, scope, reference, decides):
    _banner_tier_case_in_bula(banner)
    case = Case.objects.get(reference=reference)
    user = staff(role, scope)
    assert may_decide(user, case) is decides
    assert may_perform(user, case, "reject") is decides
    assert may_perform(user, case, "serve") is can_act(user, case)  # recording a fact needs acting at all


def test_a_township_officer_cannot_reject_a_banner_tier_case_through_the_api_or_the_page(banner):
    from django.test import Client
    from rest_framework.test import APIClient

    case = _banner_tier_case_in_bula(banner)
    officer = staff("township_officer", SHAGEDU)
    api = APIClient()
    api.force_authenticate(officer)
    answer = api.post(
        f"/api/cases/{case.reference}/transitions/", {"action": "reject", "reason": "不属实"}, format="json"
    )
    assert answer.status_code == 403 and "承办层级" in answer.json()["detail"]
    assert "reject" not in api.get(f"/api/cases/{case.reference}/").json()["allowed_actions"]
    page = Client()
    page.force_login(officer)
    body = {"action": "reject", "version": case.version, "reason": "不属实"}
    assert page.post(f"/cases/{case.reference}/actions/", body).status_code == 403
    case.refresh_from_db()
    assert case.status == "reported" and not case.events.filter(action="reject").exists()


# -- Case text and exact points (issue 12 item 6) -----------------------------------------------


@pytest.mark.parametrize(("role", "scope", "reference", "readable"), PII_BY_ROLE)
def test_case_text_goes_to_those_who_handle_the_case_as_names_do(banner, role, scope, reference, readable):
    from geo_disputes.services.cases.access import can_read_case_text

    assert can_read_case_text(staff(role, scope), Case.objects.get(reference=reference)) is readable


def test_planners_and_field_staff_read_no_case_text_anywhere(banner):
    from geo_disputes.services.cases.access import can_read_case_text

    for role, scope in (("planner", ""), ("field_staff", ""), ("field_staff", BULA)):
        user = staff(role, scope)
        assert not any(can_read_case_text(user, case) for case in visible_cases(user)), (role, scope)
    accused = staff("village_officer", BULA)  # the accused committee's officer: not even its text
    assert not can_read_case_text(accused, Case.objects.get(reference="ACCUSE"))


def test_the_list_form_of_the_rule_agrees_with_the_one_case_form(banner):
    from geo_disputes.services.cases.access import can_read_case_text, text_readable

    for role, scope, *_ in PII_BY_ROLE:
        user = staff(role, scope)
        rows = dict(visible_cases(user).annotate(ok=text_readable(user)).values_list("reference", "ok"))
        assert rows == {ref: can_read_case_text(user, Case.objects.get(reference=ref)) for ref in rows}, role


def test_a_coarse_point_lies_on_the_500_m_grid_within_about_350_m(banner):
    from geo_disputes.services.cases.access import case_point_for

    case = Case.objects.get(reference="BULA-WATER")
    case.location = Point(111.0512345, 39.5487654, srid=4326)
    case.save(update_fields=["location"])
    exact = (case.location.x, case.location.y)
    for role, scope in (("planner", ""), ("field_staff", "")):
        shown = case_point_for(staff(role, scope), case)
        assert shown != pytest.approx(exact, abs=1e-6) and on_coarse_grid(*shown)
        assert metres_apart(shown, exact) <= 500 / 2**0.5 + 1
    assert case_point_for(staff("village_officer", BULA), case) == pytest.approx(exact, abs=1e-7)


def test_contract_numbers_are_for_the_roles_that_handle_cases(banner):
    from geo_disputes.services.cases.access import can_read_contract_numbers

    for role, scope in (("planner", ""), ("field_staff", "")):
        assert not can_read_contract_numbers(staff(role, scope)), role
    for role, scope in (("banner_admin", ""), ("village_officer", BULA), ("mining_court", "")):
        assert can_read_contract_numbers(staff(role, scope)), role


def test_a_planner_cannot_find_an_exact_point_by_narrowing_the_box_or_naming_a_parcel(banner):
    """The point a planner gets is coarse, but the `bbox` filter ran on the exact point: a box a few metres
    wide around a guess told whether the case is there, so halving boxes finds any household to the metre;
    and `parcel=<code>` says which parcel (a household's land, drawn exactly by the parcels layer) a case
    concerns. Both must behave as if the case stood at its coarse point and had no parcels (item 6)."""
    from rest_framework.test import APIClient

    from geo_disputes.models import CaseParcel
    from geo_disputes.services.cases.access import coarse_point

    from .factories import ParcelFactory

    case = Case.objects.get(reference="BULA-WATER")
    case.location = Point(111.0512345, 39.5487654, srid=4326)
    case.save(update_fields=["location"])
    parcel = ParcelFactory(code=f"{BULA}JD00001")
    CaseParcel.objects.create(case=case, parcel=parcel)
    coarse = coarse_point(case.location)
    near_exact = "111.0512,39.5487,111.0513,39.5488"
    near_coarse = f"{coarse.x - 1e-4},{coarse.y - 1e-4},{coarse.x + 1e-4},{coarse.y + 1e-4}"
    for role, scope in (("planner", ""), ("field_staff", "")):
        client = APIClient()
        client.force_authenticate(staff(role, scope))
        for url in (f"/api/cases/?bbox={near_exact}", f"/api/case-points/?bbox={near_exact}"):
            assert "BULA-WATER" not in client.get(url).content.decode(), (role, url)
        assert "BULA-WATER" in client.get(f"/api/cases/?bbox={near_coarse}").content.decode(), role
        assert "BULA-WATER" not in client.get(f"/api/cases/?parcel={parcel.code}").content.decode(), role
    handler = APIClient()
    handler.force_authenticate(staff("village_officer", BULA))
    assert "BULA-WATER" in handler.get(f"/api/cases/?bbox={near_exact}").content.decode()
    assert "BULA-WATER" in handler.get(f"/api/cases/?parcel={parcel.code}").content.decode()


def test_a_wide_box_answers_a_planner_as_the_coarse_points_decide(banner):
    """The box filter skips the coarse point for exact points more than the margin inside the box (the coarse
    one is then inside too); across boxes wide and narrow, edges near and far, the answer is still exactly the
    cases whose coarse point lies in the box."""
    import random

    from geo_disputes.services.cases.access import coarse_point
    from geo_disputes.services.cases.case_queries import CaseFilter, filter_cases

    planner = staff("planner", "")
    rng = random.Random(16)
    cases = list(visible_cases(planner))
    for case in cases:
        case.location = Point(rng.uniform(110.9, 111.2), rng.uniform(39.4, 39.7), srid=4326)
    Case.objects.bulk_update(cases, ["location"])
    shown = {c.reference: coarse_point(c.location) for c in Case.objects.filter(pk__in=[c.pk for c in cases])}
    boxes = [(110.9, 39.4, 111.2, 39.7), (111.0, 39.5, 111.1, 39.6), (111.02, 39.52, 111.04, 39.53)]
    boxes += [(rng.uniform(110.9, 111.1), rng.uniform(39.4, 39.6), rng.uniform(111.1, 111.2), rng.uniform(39.6, 39.7))]
    for bbox in boxes:
        found = set(
            filter_cases(visible_cases(planner), CaseFilter(bbox=bbox), planner).values_list("reference", flat=True)
        )
        expected = {ref for ref, p in shown.items() if bbox[0] <= p.x <= bbox[2] and bbox[1] <= p.y <= bbox[3]}
        assert found == expected, bbox
