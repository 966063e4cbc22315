"""Routing: the seed's disputes each land on the tier and unit the five matters say, and we can say why."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from geo_disputes.models import CaseEvent, CaseGroup, CaseParcel, RoutingRule, RoutingRuleChange, Township, Unit
from geo_disputes.services.cases.routing import RoutingInput, route, route_case, routing_input
from tests.factories import CaseFactory, ParcelFactory, PartyFactory, box, seed_places

pytestmark = pytest.mark.django_db

YOUYI, SHAGEDU, WEIJIAMAO = "150622004", "150622101", "150622106"
SUJIGOU, BULA, SHUANGAOBAO, SHAGEDU_VILLAGE = "150622004201", "150622101206", "150622106202", "150622101201"


@pytest.fixture
def places():
    seed_places()


def at(village: str, **facts) -> RoutingInput:
    """Routing facts of a matter raised in one village (of its own township)."""
    township = village[:9]
    return RoutingInput(
        township_codes={township}, village_codes={village}, township_code=township, village_code=village, **facts
    )


SEED_STORIES = [
    pytest.param(
        at(SHUANGAOBAO, category="land_occupation", households_affected=1),
        "village",
        f"VC-{SHUANGAOBAO}",
        60,
        id="双敖包村: 8 mu of grassland occupied, one household -> village committee",
    ),
    pytest.param(
        at(BULA, category="utilities", households_affected=1, departments=["water"]),
        "village",
        f"VC-{BULA}",
        60,
        id="不拉村: water cut over arrears, raised through the agent -> village committee",
    ),
    pytest.param(
        at(
            SUJIGOU,
            category="mining_subsidence",
            mining_relation="influence_zone",
            households_affected=41,
            departments=["housing", "justice"],
        ),
        "township",
        f"TC-{YOUYI}",
        50,
        id="苏计沟村: coal mining cracked 41 houses -> 友谊街道 committee",
    ),
    pytest.param(
        at(SHAGEDU_VILLAGE, category="land_contract", mining_relation="inside", households_affected=3),
        "mining_court",
        "MC-150622",
        30,
        id="three land-swap disputes inside a mining area -> mining court",
    ),
    pytest.param(
        at(BULA, category="other", legacy=True),
        "banner",
        "BL-150622",
        10,
        id="a legacy case -> a banner leader takes it",
    ),
    pytest.param(
        RoutingInput(
            category="land_occupation",
            township_codes={SHAGEDU, WEIJIAMAO},
            village_codes={BULA, SHUANGAOBAO},
            township_code=SHAGEDU,
            village_code=BULA,
        ),
        "banner",
        "BL-150622",
        20,
        id="a matter spanning two townships -> banner",
    ),
    pytest.param(
        at(SHAGEDU_VILLAGE, category="neighbour", households_affected=2),
        "village",
        f"VC-{SHAGEDU_VILLAGE}",
        45,
        id="沙圪堵镇: two neighbouring households quarrel over the shared yard -> village",
    ),
]


@pytest.mark.parametrize(("facts", "tier", "unit", "rule_order"), SEED_STORIES)
def test_each_seed_story_lands_on_its_tier_and_unit(places, facts, tier, unit, rule_order):
    decision = route(facts)

    assert (decision.tier, decision.unit.code, decision.rule.order) == (tier, unit, rule_order)
    assert decision.reason.startswith(f"规则#{rule_order} {decision.rule.name} → ")


def test_the_cracked_houses_are_handled_with_housing_and_justice(places):
    decision = route(
        at(SUJIGOU, category="mining_subsidence", households_affected=41, departments=["housing", "justice"])
    )

    assert [u.code for u in decision.partner_units] == ["BD-housing", "BD-justice"]
    assert "涉及41户" in decision.reason and "41 households" in decision.reason


def test_the_mining_court_brings_its_four_partner_bureaus_and_says_why(places):
    decision = route(at(SHAGEDU_VILLAGE, category="land_contract", mining_relation="inside"))

    assert [u.code for u in decision.partner_units] == [
        "BD-natural_resources",
        "BD-forestry_grassland",
        "BD-energy",
        "BD-justice",
    ]
    assert decision.reason.startswith(
        "规则#30 矿区内土地承包/换地及征地补偿纠纷 → 矿区法庭: 类别=土地承包与换地, 位于矿区内"
    )
    assert "rule #30 → mining_court: category=land_contract, inside a mining area" in decision.reason


def test_a_land_dispute_only_in_the_influence_zone_is_not_for_the_mining_court(places):
    decision = route(at(SHAGEDU_VILLAGE, category="mining_compensation", mining_relation="influence_zone"))

    assert (decision.tier, decision.rule.order) == ("township", 100)


def test_neighbours_in_two_villages_are_a_township_matter(places):
    facts = RoutingInput(
        category="neighbour",
        households_affected=2,
        township_codes={SHAGEDU},
        village_codes={BULA, SHAGEDU_VILLAGE},
        township_code=SHAGEDU,
        village_code=BULA,
    )

    decision = route(facts)

    assert (decision.tier, decision.unit.code, decision.rule.order) == ("township", f"TC-{SHAGEDU}", 40)
    assert "跨2个村" in decision.reason


def test_rule_order_decides_when_two_rules_match(places):
    swap = at(SHAGEDU_VILLAGE, category="land_contract", mining_relation="inside", households_affected=3)
    assert route(swap).tier == "mining_court"

    RoutingRule.objects.filter(order=50).update(order=25)  # many households now asked before the mining court

    decision = route(swap)
    assert (decision.tier, decision.rule.order) == ("township", 25)


def test_a_disabled_rule_is_skipped(places):
    swap = at(SHAGEDU_VILLAGE, category="land_contract", mining_relation="inside")
    RoutingRule.objects.filter(order=30).update(active=False)

    decision = route(swap)

    assert (decision.tier, decision.rule.order) == ("township", 100)
    assert decision.partner_units == []


def test_with_no_rule_at_all_the_township_takes_the_case_and_says_so(places):
    RoutingRule.objects.update(active=False)

    decision = route(at(BULA, category="utilities"))

    assert (decision.tier, decision.unit.code, decision.rule) == ("township", f"TC-{SHAGEDU}", None)
    assert decision.reason.startswith("无匹配规则 → 乡镇级")


def test_an_accused_village_committee_never_handles_the_accusation(places):
    accused = Unit.objects.get(code=f"VC-{BULA}")

    decision = route(at(BULA, category="land_occupation", accused_unit_code=accused.code))

    assert (decision.tier, decision.unit.code) == ("township", f"TC-{SHAGEDU}")
    assert "回避(条例第30条)" in decision.reason and "recused" in decision.reason


def test_a_village_without_a_registered_committee_is_named_in_the_reason(places):
    decision = route(at("150622101299", category="land_occupation"))

    assert (decision.tier, decision.unit) == ("village", None)
    assert "未找到该层级责任单位" in decision.reason


def test_a_grid_worker_opens_the_cracked_houses_case_and_it_goes_to_the_street_committee(places, django_user_model):
    agent = django_user_model.objects.create_user("bula_agent")
    case = CaseFactory(
        category="mining_subsidence",
        township_code=YOUYI,
        village_code=SUJIGOU,
        mining_relation="influence_zone",
        households_affected=41,
        departments=["housing", "justice"],
        tier="",
    )
    PartyFactory(case=case)
    version = case.version

    decision = route_case(case, actor=agent)

    case.refresh_from_db()
    assert (case.tier, case.unit.code, case.routing_rule.order) == ("township", f"TC-{YOUYI}", 50)
    assert case.routing_reason == decision.reason
    assert sorted(case.partner_units.values_list("code", flat=True)) == ["BD-housing", "BD-justice"]
    assert case.version == version + 1
    event = CaseEvent.objects.get(case=case, action="route")
    assert (event.actor, event.rule, event.reason) == (agent, case.routing_rule, decision.reason)
    assert event.changes == {"tier": ["", "township"], "unit": ["", f"TC-{YOUYI}"]}


def test_a_parcel_in_another_township_makes_the_case_span_two_townships(places):
    case = CaseFactory(category="land_occupation", township_code=SHAGEDU, village_code=BULA)
    parcel = ParcelFactory(code=f"{SHUANGAOBAO}JD00001", geom=box(111.01, 39.51, 111.02, 39.52))
    CaseParcel.objects.create(case=case, parcel=parcel, source="named")

    facts = routing_input(case)
    decision = route_case(case)

    assert facts.township_codes == {SHAGEDU, WEIJIAMAO} and facts.village_codes == {BULA, SHUANGAOBAO}
    assert (decision.tier, decision.rule.order) == ("banner", 20)


def test_a_case_group_routes_as_one_event(places):
    group = CaseGroup.objects.create(title="不拉村三户灌溉停水", category="utilities")
    members = [
        CaseFactory(category="utilities", township_code=SHAGEDU, village_code=BULA, group=group) for _ in range(3)
    ]
    members[0].departments = ["water"]
    members[0].save(update_fields=["departments"])
    alone = CaseFactory(category="utilities", township_code=SHAGEDU, village_code=BULA)

    facts = routing_input(members[1])

    assert (facts.households_affected, facts.departments) == (3, ["water"])
    assert (route_case(members[1]).tier, members[1].routing_rule.order) == ("township", 50)
    assert route_case(alone).tier == "village"


@pytest.fixture
def admin_client_(client, places):
    admin = get_user_model().objects.create_superuser("root", password="pw-for-tests-only")
    client.force_login(admin)
    client.user = admin
    return client


def rule_form(**overrides) -> dict:
    data = {
        "order": 35,
        "name": "矿区影响区内采煤沉陷 矿区法庭",
        "active": "on",
        "categories": ["mining_subsidence"],
        "mining": "inside_or_zone",
        "tier": "mining_court",
        "partner_departments": ["housing", "justice"],
        "legacy": "",
        "explanation": "试行",
    }
    data.update(overrides)
    return data


def test_a_rule_edited_in_the_admin_is_recorded_with_who_and_what(admin_client_):
    response = admin_client_.post("/admin/geo_disputes/routingrule/add/", rule_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = RoutingRule.objects.get(order=35)
    assert route(at(SUJIGOU, category="mining_subsidence", mining_relation="influence_zone")).rule == rule

    admin_client_.post(f"/admin/geo_disputes/routingrule/{rule.pk}/change/", rule_form(active=""))
    admin_client_.post(f"/admin/geo_disputes/routingrule/{rule.pk}/delete/", {"post": "yes"})

    changes = list(RoutingRuleChange.objects.filter(snapshot__id=rule.pk).order_by("id"))
    assert [(c.action, c.actor) for c in changes] == [("add", admin_client_.user)] + [
        ("change", admin_client_.user),
        ("delete", admin_client_.user),
    ]
    assert changes[0].snapshot["categories"] == ["mining_subsidence"] and changes[0].snapshot["active"] is True
    assert changes[1].snapshot["active"] is False
    assert changes[2].rule is None and not RoutingRule.objects.filter(pk=rule.pk).exists()


def test_the_default_rules_arrived_with_their_history():
    orders = list(RoutingRule.objects.values_list("order", flat=True))
    seeded = RoutingRuleChange.objects.filter(action="seed").values_list("snapshot__order", flat=True)

    assert orders == [10, 20, 30, 40, 45, 50, 55, 60, 100]
    assert sorted(seeded) == orders


def test_the_case_history_cannot_be_deleted_or_edited_in_the_admin(admin_client_):
    case = CaseFactory(township_code=SHAGEDU, village_code=BULA)
    route_case(case)
    event = case.events.get()

    assert admin_client_.get(f"/admin/geo_disputes/caseevent/{event.pk}/delete/").status_code == 403
    assert admin_client_.post(f"/admin/geo_disputes/caseevent/{event.pk}/change/", {}).status_code == 403
    assert admin_client_.post(f"/admin/geo_disputes/case/{case.pk}/change/", {"status": "closed"}).status_code == 403
    assert CaseEvent.objects.filter(pk=event.pk).exists()


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


def test_every_admin_page_works_offline_and_shows_personal_data_masked(admin_client_):
    case = CaseFactory(township_code=SHAGEDU, village_code=BULA)
    PartyFactory(case=case, name="史文华", phone="13812340000")
    route_case(case)
    ParcelFactory(code=f"{BULA}JD00001", holder_name="史文华", geom=box(110.81, 39.61, 110.82, 39.62))
    pages = ["/admin/geo_disputes/routingrule/add/"]
    inline = {i.model for model_admin in admin.site._registry.values() for i in model_admin.inlines}
    for model in apps.get_app_config("geo_disputes").get_models():
        if model in inline and not admin.site.is_registered(model):
            continue  # petitioners: only ever shown within their case
        assert admin.site.is_registered(model), model
        name = model._meta.model_name
        pages.append(reverse(f"admin:geo_disputes_{name}_changelist"))
        first = model.objects.first()
        if first is not None:
            pages.append(reverse(f"admin:geo_disputes_{name}_change", args=[first.pk]))

    for page in pages:
        response = admin_client_.get(page)
        html = response.content.decode()
        assert response.status_code == 200, page
        assert not EXTERNAL.search(html), (page, EXTERNAL.search(html).group(0))
        assert "openlayers" not in html.lower(), page
        assert "史文华" not in html, page  # petitioners and parcel holders appear masked only

    case_page = admin_client_.get(reverse("admin:geo_disputes_case_change", args=[case.pk])).content.decode()
    assert "史某" in case_page and "138****0000" in case_page
    township = Township.objects.get(code=SHAGEDU)
    summary = admin_client_.get(reverse("admin:geo_disputes_township_change", args=[township.pk])).content.decode()
    assert re.search(r"MultiPolygon · [\d.,]+ km² \([\d,]+ 亩\) · bbox 110.8000,39.6000 – 110.9000,39.7000", summary)
