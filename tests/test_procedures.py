"""The seed's examples, each down its own procedure from intake to its real end, as a client program drives them.

People's mediation for the grassland, the water fees and the 41 cracked houses (agreement, then
judicial confirmation within 30 days); the mining court's land-swap settlements (pre-litigation
mediation, never a petition clock, never a leaders' review); a petition answered by a handling
opinion, served, reviewed and re-reviewed, then refused when the same person lodges it again.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from geo_disputes.models import Banner, Case, FollowUp
from geo_disputes.services.cases.clock import local_today

from .factories import (
    MiningAreaFactory,
    ParcelFactory,
    StaffFactory,
    UnitFactory,
    box,
    intake_body,
    seed_places,
)

pytestmark = pytest.mark.django_db

BULA = (110.82, 39.65)  # 沙圪堵镇 不拉村
SUJIGOU = (111.25, 39.85)  # 友谊街道 苏计沟村, inside the test mine
SUJIGOU_OUTSIDE_MINE = (111.21, 39.81)
PETITIONER = {"name": "李桂兰", "phone": "13800001111", "id_number": "150622196503030022"}


@pytest.fixture
def world():
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    UnitFactory(code="BD-petitions", name="旗信访局", kind="banner_department")
    MiningAreaFactory(code="KQ-01", name="哈尔乌素露天煤矿", geom=box(111.22, 39.82, 111.28, 39.88))
    ParcelFactory(
        code="150622106202JD00001", land_use="grassland", holder_name="王建国", geom=box(111.04, 39.54, 111.06, 39.56)
    )


@pytest.fixture
def admin() -> APIClient:
    client = APIClient()
    client.force_authenticate(StaffFactory(role="banner_admin").user)
    return client


def follower() -> APIClient:
    """Someone other than the handler, who records the follow-up (回访由非承办人进行)."""
    client = APIClient()
    client.force_authenticate(StaffFactory(role="banner_admin").user)
    return client


def post(client: APIClient, **overrides) -> dict:
    response = client.post("/api/cases/", intake_body(**overrides), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def act(client: APIClient, reference: str, action: str, **params) -> dict:
    response = client.post(f"/api/cases/{reference}/transitions/", {"action": action, **params}, format="json")
    assert response.status_code == 200, (action, response.json())
    return response.json()


def refused(client: APIClient, reference: str, action: str, **params) -> dict:
    response = client.post(f"/api/cases/{reference}/transitions/", {"action": action, **params}, format="json")
    assert response.status_code == 400, (action, response.json())
    return response.json()


def today() -> str:
    return local_today().isoformat()


def test_grassland_told_at_the_talk_room_is_mediated_in_the_village_with_no_petition_clock(world, admin):
    case = post(admin)
    assert (case["procedure"], case["tier"]) == ("mediation", "village")
    assert case["due"]["conclude_by"] is None and case["due"]["accept_by"] is None
    assert case["due"]["state"] == "not_timed"
    ref = case["reference"]
    act(admin, ref, "accept")
    case = act(admin, ref, "session", mediators="村调委会 张主任", reason="知情人现场指认")
    assert case["mediation"]["sessions"][0]["mediators"] == "村调委会 张主任"
    case = act(admin, ref, "agreement", text="占用方退还8亩草地,双方签订调解协议。")
    assert case["status"] == "resolved" and case["mediation"]["outcome"] == "agreement"
    assert case["due"]["confirm_apply_by"] is not None
    assert "request_review" not in case["allowed_actions"] and "escalate" not in case["allowed_actions"]
    case = act(follower(), ref, "follow_up", by="镇司法所 回访员", method="phone", satisfaction="satisfied")
    assert case["satisfaction"] == "satisfied" and case["follow_ups"][0]["by"] == "镇司法所 回访员"
    assert act(admin, ref, "close")["status"] == "closed"


def test_the_agents_water_fee_mediation_restores_supply_and_closes(world, admin):
    case = post(
        admin,
        category="utilities",
        channel="grid_agent",
        description="欠水费3万多元被停水,无法浇地",
        lon=BULA[0],
        lat=BULA[1],
    )
    assert (case["procedure"], case["unit"]["code"]) == ("mediation", "VC-150622101206")
    ref = case["reference"]
    act(admin, ref, "accept")
    act(admin, ref, "assign", person="不拉村网格员(代办员)")
    case = act(admin, ref, "agreement", text="先恢复供水,欠费按月分期缴清。", mediators="代办员、水务公司")
    assert case["resolution_method"] == "mediation"
    assert act(admin, ref, "close")["status"] == "closed"


def test_the_41_households_reach_an_agreement_that_the_court_confirms_within_30_days(world, admin):
    members = [
        post(
            admin,
            category="mining_subsidence",
            channel="visit",
            procedure="mediation",
            description="王家圪楞社:煤矿开采导致房屋开裂",
            lon=SUJIGOU_OUTSIDE_MINE[0],
            lat=SUJIGOU_OUTSIDE_MINE[1],
            households_affected=41 if i == 0 else 1,
            petitioners=[{"name": f"住户{i}", "phone": f"1390000{i:04d}"}],
        )
        for i in range(3)
    ]
    ref = members[0]["reference"]
    assert members[0]["procedure"] == "mediation" and members[0]["tier"] == "township"
    act(admin, ref, "accept")
    act(admin, ref, "session", mediators="街道调委会、住建局、司法局", reason="房屋安全鉴定、损失评估")
    agreement_day = local_today()
    case = act(admin, ref, "agreement", text="按评估结果赔偿修缮", agreement_at=agreement_day.isoformat())
    window = dt.date.fromisoformat(case["due"]["confirm_apply_by"])
    assert window >= agreement_day + dt.timedelta(days=30)
    late = refused(
        admin,
        ref,
        "confirm",
        court="准格尔旗人民法院",
        number="(2026)内0622民特1号",
        applied_at=(window + dt.timedelta(days=1)).isoformat(),
        ruled_at=(window + dt.timedelta(days=2)).isoformat(),
    )
    assert "applied_at" in late
    case = act(
        admin,
        ref,
        "confirm",
        court="准格尔旗人民法院",
        number="(2026)内0622民特1号",
        applied_at=today(),
        ruled_at=today(),
    )
    assert case["resolution_method"] == "judicial_confirmation"
    assert case["mediation"]["judicial_confirmation"]["number"] == "(2026)内0622民特1号"


def test_a_land_swap_at_the_mining_court_is_settled_by_pre_litigation_mediation_never_escalated_or_reviewed(
    world, admin
):
    case = post(
        admin, category="land_contract", channel="visit", lon=SUJIGOU[0], lat=SUJIGOU[1], description="换地后四至不清"
    )
    assert (case["tier"], case["procedure"]) == ("mining_court", "litigation")
    assert case["due"]["accept_by"] is None and case["due"]["conclude_by"] is None
    assert not {"escalate", "request_review", "supervise", "extend"} & set(case["allowed_actions"])
    ref = case["reference"]
    # The court's matter is the court's alone (诉访分离): the banner admin may look, not decide.
    answer = admin.post(f"/api/cases/{ref}/transitions/", {"action": "pre_mediate"}, format="json")
    assert answer.status_code == 403
    court = APIClient()
    court.force_authenticate(StaffFactory(role="mining_court").user)
    act(court, ref, "pre_mediate", body="矿区法庭 会同自然资源局")
    case = act(court, ref, "conclude", outcome="mediated", number="(2026)内0622民诉前调1号", text="现场调解,当场化解")
    assert (case["status"], case["resolution_method"], case["tier"]) == ("resolved", "mediation", "mining_court")
    assert "request_review" not in case["allowed_actions"]
    refused(admin, ref, "request_review")


def test_a_petition_is_answered_served_reviewed_re_reviewed_and_then_not_accepted_again(world, admin):
    petition = dict(
        category="land_occupation",
        channel="letter",
        description="对村里土地调整不服,来信请求处理",
        petitioners=[dict(PETITIONER)],
        households_affected=3,
    )
    case = post(admin, **petition)
    assert (case["procedure"], case["tier"], case["unit"]["code"]) == ("petition", "township", "TC-150622106")
    assert case["due"]["accept_by"] and case["due"]["next_due_kind"] == "accept_by"
    ref = case["reference"]
    act(admin, ref, "accept")
    case = act(admin, ref, "route", route="handling_opinion")
    assert case["due"]["conclude_by"] and case["due"]["next_due_kind"] == "conclude_by"
    case = act(admin, ref, "opinion", outcome="not_support", text="经核查,调整符合村规民约,不予支持。")
    assert case["status"] == "resolved" and case["due"]["review_request_by"] is None  # not served yet
    refused(admin, ref, "request_review")
    case = act(admin, ref, "serve", served_at=today(), method="in_person")
    served = local_today()
    assert dt.date.fromisoformat(case["due"]["review_request_by"]) >= served + dt.timedelta(days=30)
    # A satisfied answer on the follow-up takes no right away.
    act(follower(), ref, "follow_up", by="旗信访局回访员", method="phone", satisfaction="basically_satisfied")
    case = act(admin, ref, "request_review", reason="不服处理意见")
    assert (case["status"], case["tier"], case["unit"]["code"]) == ("review_requested", "banner", "BL-150622")
    assert case["due"]["next_due_kind"] == "review_decide_by"
    case = act(admin, ref, "review_decision", outcome="uphold", text="维持原处理意见。")
    assert case["petition"]["review_outcome"] == "uphold"
    act(admin, ref, "serve", served_at=today(), method="post")
    case = act(admin, ref, "request_review", reason="申请复核")
    assert case["petition"]["review_round"] == 2 and case["petition"]["review_external"] is True
    assert case["tier"] == "banner"  # the city re-reviews; the banner keeps the file
    case = act(admin, ref, "review_decision", outcome="uphold", text="复核维持。")
    case = act(admin, ref, "serve", served_at=today(), method="in_person")
    refused(admin, ref, "request_review")
    act(admin, ref, "close")

    again = post(admin, **{**petition, "category": "other", "channel": "visit"})
    assert again["status"] == "not_accepted"
    assert "复核" in Case.objects.get(reference=again["reference"]).not_accepted_reason
    assert again["repeat_of"] == ref  # the banner admin may see the original


def test_a_repeat_under_another_category_links_to_the_open_original_and_runs_no_clock(world, admin):
    first = post(admin, channel="letter", petitioners=[dict(PETITIONER)])
    assert first["procedure"] == "petition"
    repeat = post(admin, channel="phone", category="neighbour", petitioners=[dict(PETITIONER)])
    assert (repeat["status"], repeat["repeat_of"]) == ("repeat", first["reference"])
    assert repeat["due"]["next_due"] is None and repeat["due"]["accept_by"] is None
    assert repeat["allowed_actions"] == []


def test_a_repeat_does_not_reveal_its_original_to_someone_who_cannot_see_it(world, admin):
    first = post(admin, channel="letter", petitioners=[dict(PETITIONER)])
    other_village = APIClient()
    other_village.force_authenticate(StaffFactory(role="banner_admin").user)
    grid_worker = APIClient()
    grid_worker.force_authenticate(StaffFactory(role="grid_worker", scope_code="150622101206-001").user)
    # The grid worker registers the same person's matter at their own place: linked silently.
    body = intake_body(channel="grid_agent", petitioners=[dict(PETITIONER)], lon=BULA[0], lat=BULA[1])
    body["category"] = "land_occupation"
    response = grid_worker.post("/api/cases/", body, format="json")
    assert response.status_code == 201
    # Far from the first one (another township), so not the same matter: a case of its own.
    assert response.json()["repeat_of"] is None
    assert first["reference"] not in response.content.decode()


def test_a_group_visit_records_at_most_five_representatives_and_the_rest_as_members(world, admin):
    crowd = [{"name": f"村民{i}", "phone": f"1380000{i:04d}"} for i in range(8)]
    case = post(admin, channel="visit", petitioners=crowd, households_affected=8)
    flags = [p["representative"] for p in case["petitioners"]]
    assert flags == [True] * 5 + [False] * 3
    too_many = [{**p, "representative": True} for p in crowd[:6]]
    response = admin.post("/api/cases/", intake_body(channel="visit", petitioners=too_many), format="json")
    assert response.status_code == 400 and "petitioners" in response.json()


def test_an_accusation_goes_down_the_discipline_procedure(world, admin):
    case = post(admin, kind="accusation", channel="letter", description="举报村干部侵占补偿款")
    assert case["procedure"] == "discipline"
    assert case["due"]["accept_by"] is None
    assert "纪检监察" in case["routing_reason"]


def test_a_petition_led_into_arbitration_stops_the_petition_clock_and_records_the_arbitration(world, admin):
    case = post(admin, channel="letter", category="land_contract", households_affected=2)
    ref = case["reference"]
    act(admin, ref, "accept")
    case = act(admin, ref, "route", route="arbitration", body="旗农村土地承包仲裁委员会")
    assert (case["status"], case["procedure"]) == ("led_into", "arbitration")
    assert case["due"]["conclude_by"] is None and case["due"]["state"] == "not_timed"
    act(admin, ref, "file", number="准农仲字(2026)第3号", filed_at=today())
    case = act(admin, ref, "conclude", outcome="judged", text="裁决确认承包关系")
    assert case["resolution_method"] == "arbitration"


def test_a_failed_mediation_becomes_a_petition_whose_clock_starts_then(world, admin):
    case = post(admin)
    ref = case["reference"]
    act(admin, ref, "accept")
    act(admin, ref, "fail", reason="双方分歧较大,调解不成")
    case = act(admin, ref, "convert", reason="当事人要求信访处理")
    assert (case["procedure"], case["status"]) == ("petition", "reported")
    assert case["due"]["accept_by"] == (local_today() + dt.timedelta(days=15)).isoformat() or case["due"]["accept_by"]
    assert case["holder_received_at"] >= case["received_at"]


def test_follow_up_is_not_typed_by_the_handler_and_can_record_an_unreachable_petitioner(world, admin):
    case = post(admin)
    ref = case["reference"]
    act(admin, ref, "accept", person="张主任")
    act(admin, ref, "agreement", text="退还草地")
    answer = refused(follower(), ref, "follow_up", by="张主任", method="phone", satisfaction="satisfied")
    assert "by" in answer
    case = act(follower(), ref, "follow_up", by="镇综治中心", method="phone", unreachable=True)
    assert case["follow_ups"][0]["unreachable"] is True and case["satisfaction"] == ""
    assert FollowUp.objects.filter(case__reference=ref).count() == 1
    assert refused(admin, ref, "evaluate", satisfaction="satisfied")


def test_a_forwarded_letter_from_the_petitions_bureau_may_be_objected_to_within_5_working_days(world, admin):
    received = timezone.now() - dt.timedelta(days=2)
    case = post(admin, channel="letter", forwarded_by="BD-petitions", received_at=received.isoformat())
    assert case["forwarded_by"]["code"] == "BD-petitions"
    assert case["due"]["object_by"] is not None
    ref = case["reference"]
    missing = refused(admin, ref, "object", reason="不属本单位职责")
    assert "consent_by" in missing
    case = act(admin, ref, "object", reason="不属本单位职责", consent_by="旗信访局 王科长")
    assert (case["unit"]["code"], case["status"]) == ("BD-petitions", "transferred")


def test_a_matter_for_several_bodies_is_led_by_the_one_they_agree_on_the_other_co_handles(world, admin):
    case = post(admin, channel="letter", households_affected=3, departments=["housing", "justice"])
    ref = case["reference"]
    assert {u["code"] for u in case["partner_units"]} == {"BD-housing", "BD-justice"}
    unknown = refused(admin, ref, "lead", unit="BD-water", decided_by="agreed")
    assert "BD-water" in unknown["unit"]
    case = act(admin, ref, "lead", unit="BD-housing", decided_by="旗信访联席会议(共同上级)", reason="以住建为主")
    assert (case["unit"]["code"], case["tier"]) == ("BD-housing", "banner")
    assert {u["code"] for u in case["partner_units"]} == {"BD-justice", "TC-150622106"}


def test_a_one_household_petition_by_letter_is_answered_by_the_township_with_the_village_helping(world, admin):
    case = post(admin, channel="letter")
    assert (case["procedure"], case["tier"], case["unit"]["code"]) == ("petition", "township", "TC-150622106")
    assert "乡镇人民政府" in case["routing_reason"]
    told = post(admin, channel="talk_room", petitioners=[])
    assert (told["procedure"], told["tier"]) == ("mediation", "village")


def test_an_accusation_is_held_by_the_discipline_commission_not_a_committee_of_the_area(world, admin):
    UnitFactory(code="BD-discipline", name="旗纪委监委", kind="banner_department")
    case = post(admin, kind="accusation", channel="letter", accused_unit="TC-150622106", description="举报镇干部")
    assert (case["procedure"], case["unit"]["code"], case["tier"]) == ("discipline", "BD-discipline", "banner")
    village = APIClient()
    village.force_authenticate(StaffFactory(role="village_officer", scope_code="150622106202").user)
    seen = village.get(f"/api/cases/{case['reference']}/")
    assert seen.status_code == 404 or all(p["masked"] for p in seen.json()["petitioners"])


def test_the_person_who_recorded_the_outcome_cannot_record_the_follow_up(world, admin):
    ref = post(admin)["reference"]
    act(admin, ref, "accept")
    act(admin, ref, "agreement", text="退还草地")
    answer = refused(admin, ref, "follow_up", by="另一人", method="phone", satisfaction="satisfied")
    assert "回访由非承办人进行" in answer["by"]
    colleague = APIClient()
    colleague.force_authenticate(StaffFactory(role="banner_admin").user)
    assert act(colleague, ref, "follow_up", by="旗信访局回访员", method="phone", satisfaction="satisfied")


@pytest.mark.parametrize(
    "action, params, field",
    [
        ("supervise", {"kind": "urge", "reason": "x", "deadline": "9999-12-31"}, "deadline"),
        ("supervise", {"kind": "urge", "reason": "理" * 2001, "deadline": "2027-03-31"}, "reason"),
        ("session", {"at": "9999-12-31T23:00:00-10:00"}, "at"),
    ],
)
def test_far_dates_and_huge_texts_are_refused_naming_the_field(world, admin, action, params, field):
    ref = post(admin, channel="letter")["reference"]
    if action == "session":
        ref = post(admin, petitioners=[])["reference"]
        act(admin, ref, "accept")
    answer = refused(admin, ref, action, **params)
    assert field in answer


def test_a_repeat_registered_by_someone_who_cannot_see_the_original_reveals_nothing_and_goes_to_its_holder(
    world, admin
):
    original = post(
        admin, category="utilities", channel="letter", lon=BULA[0], lat=BULA[1], petitioners=[dict(PETITIONER)]
    )
    agent = APIClient()
    agent.force_authenticate(StaffFactory(role="grid_worker", scope_code="150622101206-001").user)
    assert agent.get(f"/api/cases/{original['reference']}/").status_code == 404
    in_grid = (110.805, 39.605)
    body = intake_body(
        category="utilities", channel="grid_agent", lon=in_grid[0], lat=in_grid[1], petitioners=[dict(PETITIONER)]
    )
    answer = agent.post("/api/cases/", body, format="json")
    assert answer.status_code == 201
    shown = answer.json()
    # Exactly what a new matter of a person with no other matter looks like.
    assert (shown["status"], shown["repeat_of"]) == ("reported", None)
    assert original["reference"] not in answer.content.decode()
    detail = agent.get(f"/api/cases/{shown['reference']}/")
    assert "link_repeat" not in {h["action"] for h in detail.json()["history"]}
    assert original["reference"] not in detail.content.decode()
    held = admin.get(f"/api/cases/{original['reference']}/").json()
    [note] = [h for h in held["history"] if h["action"] == "possible_repeat"]
    assert note["changes"]["case"] == shown["reference"]


def test_a_refusal_through_the_api_says_why_in_chinese_and_english(world, admin):
    ref = post(admin, channel="letter")["reference"]
    answer = refused(admin, ref, "supervise", kind="urge", reason="x", deadline="2001-01-01")
    assert answer["deadline"].startswith("限期不能早于今天") and "already past" in answer["deadline"]


def test_an_opinion_right_after_acceptance_records_the_art_31_item_6_route_and_a_led_matter_gets_none(world, admin):
    ref = post(admin, channel="letter")["reference"]
    act(admin, ref, "accept")
    case = act(admin, ref, "opinion", outcome="explain", text="依据政策解释说明")
    assert (case["status"], case["petition"]["route"], case["petition"]["opinion"]) == (
        "resolved",
        "handling_opinion",
        "explain",
    )
    led = post(admin, channel="letter", category="land_contract", households_affected=2)["reference"]
    act(admin, led, "accept")
    act(admin, led, "route", route="litigation")
    assert "opinion" not in act(admin, led, "file", number="(2026)内0622民初9号")["allowed_actions"]


def test_a_review_decision_needs_only_its_outcome(world, admin):
    ref = post(admin, channel="letter")["reference"]
    act(admin, ref, "accept")
    act(admin, ref, "opinion", outcome="not_support", text="不予支持")
    act(admin, ref, "serve", served_at=today(), method="in_person")
    act(admin, ref, "request_review")
    case = act(admin, ref, "review_decision", outcome="revoke")
    assert (case["petition"]["review_outcome"], case["outcome"]) == ("revoke", "撤销")
