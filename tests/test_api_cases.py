"""The cases API as a client program uses it: intake, routing explained, the clock, transitions, scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from geo_disputes.models import Banner, Case, CaseEvent, PersonalDataAccess
from geo_disputes.services.areas.coords import wgs84_to_gcj02

from .factories import MiningAreaFactory, ParcelFactory, StaffFactory, box, intake_body, on_coarse_grid, seed_places

pytestmark = pytest.mark.django_db

BULA = (110.82, 39.65)  # 沙圪堵镇 不拉村
SUJIGOU = (111.25, 39.85)  # 友谊街道 苏计沟村 (inside the test mine)


@pytest.fixture
def world():
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    MiningAreaFactory(code="KQ-01", name="哈尔乌素露天煤矿", geom=box(111.22, 39.82, 111.28, 39.88))
    ParcelFactory(
        code="150622106202JD00001", land_use="grassland", holder_name="王建国", geom=box(111.04, 39.54, 111.06, 39.56)
    )


def client_for(role: str, scope: str = "", unit=None) -> APIClient:
    profile = StaffFactory(role=role, scope_code=scope, unit=unit)
    client = APIClient()
    client.force_authenticate(profile.user)
    client.user = profile.user
    return client


def intake(client: APIClient, **overrides) -> dict:
    body = intake_body(**overrides)
    return client.post("/api/cases/", body, format="json")


def act(client: APIClient, reference: str, action: str, **params) -> dict:
    response = client.post(f"/api/cases/{reference}/transitions/", {"action": action, **params}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_grassland_occupied_goes_to_the_village_and_closes_there(world):
    admin = client_for("banner_admin")
    response = intake(admin)
    assert response.status_code == 201, response.json()
    case = response.json()
    assert case["reference"].startswith(f"ZGE-{timezone.localdate().year}-")
    assert (case["tier"], case["unit"]["code"]) == ("village", "VC-150622106202")
    # The default rules (migration 0002): one household's land matter, not mining, is the village's small matter.
    from geo_disputes.models import RoutingRule

    rule = RoutingRule.objects.get(name="一户村内小事 村级化解")
    assert (rule.tier, rule.max_households) == ("village", 1)
    assert case["routing_rule"] == f"#{rule.order} {rule.name}"  # rules are numbered by their order
    reason = case["routing_reason"]
    assert reason.startswith(f"规则#{rule.order} {rule.name} → 村级")
    assert "类别=草场/土地侵占" in reason and "涉及1户" in reason and f"rule #{rule.order} → village" in reason
    assert "程序 procedure: 人民调解" in reason
    assert case["village"] == {"code": "150622106202", "name": "双敖包村"}
    assert [p["code"] for p in case["parcels"]] == ["150622106202JD00001"]
    # Told at the talk room: people's mediation, which runs no petition clock.
    assert (case["procedure"], case["due"]["accept_by"], case["due"]["state"]) == ("mediation", None, "not_timed")
    ref = case["reference"]
    village = client_for("village_officer", "150622106202")
    act(village, ref, "accept", version=case["version"])
    act(village, ref, "assign", person="村支书张某")
    act(village, ref, "agreement", text="退还草地,签订调解协议")
    act(client_for("banner_admin"), ref, "follow_up", by="镇司法所回访员", method="visit", satisfaction="satisfied")
    closed = act(village, ref, "close")
    assert closed["status"] == "closed" and closed["tier"] == "village"
    assert [h["action"] for h in closed["history"]] == [
        "report",
        "route",
        "procedure",
        "accept",
        "assign",
        "agreement",
        "follow_up",
        "close",
    ]


def test_forty_one_cracked_houses_go_to_the_street_committee(world):
    response = intake(
        client_for("grid_worker", "150622004201-001"),
        category="mining_subsidence",
        channel="grid_agent",
        description="采煤导致41户房屋开裂",
        lon=SUJIGOU[0],
        lat=SUJIGOU[1],
        households_affected=41,
        departments=["housing", "justice"],
    )
    assert response.status_code == 201, response.json()
    case = response.json()
    assert case["tier"] == "township" and case["unit"]["code"] == "TC-150622004"
    assert case["mining_area"]["relation"] == "inside"
    assert {"BD-housing", "BD-justice"} <= {u["code"] for u in case["partner_units"]}


def test_land_swap_dispute_inside_a_mine_goes_to_the_mining_court(world):
    case = intake(
        client_for("banner_admin"),
        category="land_contract",
        description="换地后土地承包合同纠纷",
        lon=SUJIGOU[0],
        lat=SUJIGOU[1],
    ).json()
    assert case["tier"] == "mining_court" and case["unit"]["code"] == "MC-150622"
    assert case["procedure"] == "litigation" and case["due"]["accept_by"] is None
    court = client_for("mining_court")
    act(court, case["reference"], "pre_mediate")
    resolved = act(court, case["reference"], "conclude", outcome="mediated", text="现场调解,当场化解")
    assert (resolved["status"], resolved["resolution_method"]) == ("resolved", "mediation")


def test_water_fee_arrears_via_the_agent_from_a_phone_in_gcj02(world):
    lon, lat = wgs84_to_gcj02(*BULA)
    case = intake(
        client_for("grid_worker", "150622101206-001"),
        category="utilities",
        channel="grid_agent",
        description="欠水费3万多元被停水无法浇地",
        lon=lon,
        lat=lat,
        datum="gcj02",
    ).json()
    assert case["village"]["name"] == "不拉村" and case["tier"] == "village"
    # The point lies in no grid of this world, so the agent does not see the case afterwards (nor, since
    # issue 12 item 6, its exact point in the answer); the banner admin reads where it was stored.
    stored = client_for("banner_admin").get(f"/api/cases/{case['reference']}/").json()
    assert abs(stored["location"]["lon"] - BULA[0]) < 1e-6 and stored["datum"] == "gcj02"


def test_legacy_matter_goes_to_the_banner(world):
    case = intake(client_for("banner_admin"), legacy=True, description="历史遗留问题").json()
    assert case["tier"] == "banner" and case["unit"]["code"] == "BL-150622"


@pytest.mark.parametrize(
    "override,field",
    [
        ({"category": "roads"}, "category"),
        ({"channel": "fax"}, "channel"),
        ({"datum": "bd09"}, "datum"),
        ({"lon": "east"}, "lon"),
        ({"lon": 112.9, "lat": 39.5}, "lon"),
        ({"description": ""}, "description"),
        ({"households_affected": -3}, "households_affected"),
        ({"households_affected": "many"}, "households_affected"),
        ({"departments": ["police"]}, "departments"),
        ({"legacy": "yes"}, "legacy"),
        ({"petitioners": [{"name": ""}]}, "petitioners[0].name"),
        ({"petitioners": [{"name": "王某", "id_number": "123"}]}, "petitioners[0].id_number"),
        ({"parcel_code": "NOPE", "lon": None, "lat": None}, "parcel_code"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_intake_is_a_400_naming_the_field_and_writes_nothing(world, override, field):
    response = intake(client_for("banner_admin"), **override)
    assert response.status_code == 400
    assert field in response.json()
    assert Case.objects.count() == 0 and CaseEvent.objects.count() == 0


def test_intake_by_parcel_code_alone(world):
    case = intake(client_for("banner_admin"), lon=None, lat=None, parcel_code="150622106202JD00001").json()
    assert case["village"]["code"] == "150622106202"
    assert [p["code"] for p in case["parcels"]] == ["150622106202JD00001"]


def test_a_repeat_petition_is_linked_not_counted_twice(world):
    admin = client_for("banner_admin")
    first = intake(admin).json()
    again = intake(admin, description="再次反映草地被占").json()
    assert again["repeat_of"] == first["reference"]


def test_illegal_transition_and_stale_edit(world):
    admin = client_for("banner_admin")
    case = intake(admin).json()
    refused = admin.post(f"/api/cases/{case['reference']}/transitions/", {"action": "close"}, format="json")
    assert refused.status_code == 400 and "close" in str(refused.json())
    act(admin, case["reference"], "accept", version=case["version"])
    stale = admin.post(
        f"/api/cases/{case['reference']}/transitions/",
        {"action": "reject", "reason": "不属于受理范围", "version": case["version"]},
        format="json",
    )
    assert stale.status_code == 409 and "reload" in stale.json()["detail"].lower()
    assert Case.objects.get(reference=case["reference"]).status == "accepted"


def test_extension_of_31_days_is_refused(world):
    admin = client_for("banner_admin")
    ref = intake(admin, channel="letter").json()["reference"]
    act(admin, ref, "accept")
    act(admin, ref, "route", route="handling_opinion")
    extend = {
        "action": "extend",
        "reason": "需鉴定",
        "approved_by": "镇长",
        "told_at": timezone.localdate().isoformat(),
    }
    too_long = admin.post(f"/api/cases/{ref}/transitions/", {**extend, "days": 31}, format="json")
    assert too_long.status_code == 400 and "days" in too_long.json()
    no_approver = admin.post(f"/api/cases/{ref}/transitions/", {**extend, "days": 30, "approved_by": ""}, format="json")
    assert no_approver.status_code == 400 and "approved_by" in no_approver.json()
    extended = act(admin, ref, "extend", **{k: v for k, v in extend.items() if k != "action"}, days=30)
    accepted = dt.date.fromisoformat(extended["accepted_at"][:10])
    assert extended["due"]["conclude_by"] >= (accepted + dt.timedelta(days=90)).isoformat()
    assert extended["extension"]["approved_by"] == "镇长"


def test_scope_list_detail_and_masking(world):
    admin = client_for("banner_admin")
    ref = intake(admin).json()["reference"]
    bula_ref = intake(admin, category="utilities", lon=BULA[0], lat=BULA[1], petitioners=[]).json()["reference"]

    village = client_for("village_officer", "150622106202")
    listed = village.get("/api/cases/").json()
    assert [f["properties"]["reference"] for f in listed["features"]] == [ref]
    assert village.get(f"/api/cases/{bula_ref}/").status_code == 404

    planner = client_for("planner")
    assert planner.get("/api/cases/").json()["count"] == 2
    assert planner.get(f"/api/cases/{ref}/").json()["petitioners"] == []
    assert intake(planner).status_code == 403

    field = client_for("field_staff")
    [person] = field.get(f"/api/cases/{ref}/").json()["petitioners"]
    assert person["name"] == "王某" and "12345678" not in person["phone"]
    assert not PersonalDataAccess.objects.filter(user=field.user).exists()
    [person] = village.get(f"/api/cases/{ref}/").json()["petitioners"]
    assert person["name"] == "王建国" and person["id_number"] == "150622197001010011"
    assert PersonalDataAccess.objects.filter(user=village.user, case__reference=ref).count() == 1
    # A map popup asks without personal data: nothing read, nothing recorded, the rest of the case as before.
    recorded = PersonalDataAccess.objects.filter(user=village.user).count()  # the case and its parcel's holder
    popup = village.get(f"/api/cases/{ref}/", {"personal": "0"}).json()
    assert popup["petitioners"] is None and popup["reference"] == ref and popup["history"]
    assert all(p["holder"] is None for p in popup["parcels"]) and popup["parcels"]
    assert "王建国" not in str(popup)
    assert PersonalDataAccess.objects.filter(user=village.user).count() == recorded
    assert village.get(f"/api/cases/{ref}/", {"personal": "no"}).status_code == 400

    assert APIClient().get("/api/cases/").status_code in (401, 403)


def test_list_filters_and_geojson(world):
    admin = client_for("banner_admin")
    intake(admin)
    intake(admin, category="utilities", lon=BULA[0], lat=BULA[1], petitioners=[])
    body = admin.get("/api/cases/", {"category": "utilities"}).json()
    assert body["type"] == "FeatureCollection" and body["count"] == 1
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert feature["properties"]["category_label"] == "用水用电"
    assert feature["properties"]["village_code"] == "150622101206"
    assert admin.get("/api/cases/", {"village": "150622106202", "status": "open"}).json()["count"] == 1
    assert admin.get("/api/cases/", {"bbox": "110.7,39.5,110.9,39.7"}).json()["count"] == 1
    assert admin.get("/api/cases/", {"status": "lost"}).status_code == 400
    assert admin.get("/api/cases/", {"since": "2026-13-01"}).status_code == 400


def close_out(client: APIClient, reference: str, outcome: str) -> dict:
    """A mediation end to end through the API: accept, assign, agreement, a follow-up by someone else, close."""
    act(client, reference, "accept")
    act(client, reference, "assign", person="承办人")
    act(client, reference, "agreement", text=outcome)
    act(client_for("banner_admin"), reference, "follow_up", by="回访员", method="phone", satisfaction="satisfied")
    return act(client, reference, "close")


def test_water_fees_close_at_the_village_through_the_agent(world):
    """The agent carries the matter in and records what happened; the village committee decides it."""
    agent = client_for("grid_worker", "150622101206-001")
    in_grid = (110.805, 39.605)  # inside 不拉村's grid -001, the agent's own grid
    case = intake(agent, category="utilities", channel="grid_agent", lon=in_grid[0], lat=in_grid[1]).json()
    assert case["grid"]["code"] == "150622101206-001"
    assert case["allowed_actions"] == []  # an agent never decides acceptance (issue 12, item 4)
    ref = case["reference"]
    refused = agent.post(f"/api/cases/{ref}/transitions/", {"action": "accept"}, format="json")
    assert refused.status_code == 403 and "承办层级" in refused.json()["detail"]
    village = client_for("village_officer", "150622101206")
    act(village, ref, "accept")
    assert agent.get(f"/api/cases/{ref}/").json()["allowed_actions"] == ["session"]  # it records what happened
    act(agent, ref, "session", at=timezone.now().isoformat(), mediators="网格员 李四")
    act(village, ref, "assign", person="承办人")
    act(village, ref, "agreement", text="先恢复供水,欠费分期按月缴清")
    act(client_for("banner_admin"), ref, "follow_up", by="回访员", method="phone", satisfaction="satisfied")
    closed = act(village, ref, "close")
    assert (closed["status"], closed["tier"], closed["unit"]["code"]) == ("closed", "village", "VC-150622101206")


def test_land_swap_closes_at_the_mining_court(world):
    court = client_for("mining_court")
    case = intake(client_for("banner_admin"), category="land_contract", lon=SUJIGOU[0], lat=SUJIGOU[1]).json()
    ref = case["reference"]
    act(court, ref, "file", number="(2026)内0622民初1号")
    act(court, ref, "conclude", outcome="mediated", text="现场调解,当场化解")
    act(client_for("banner_admin"), ref, "follow_up", by="回访员", method="phone", satisfaction="satisfied")
    closed = act(court, ref, "close")
    assert (closed["status"], closed["tier"], closed["legal"]["number"]) == (
        "closed",
        "mining_court",
        "(2026)内0622民初1号",
    )


def test_neighbours_close_at_the_village_with_the_deputies(world):
    village = client_for("village_officer", "150622101206")
    case = intake(
        client_for("banner_admin"),
        category="neighbour",
        channel="deputy_station",
        description="邻居占用公共空地饲养牲畜",
        lon=BULA[0],
        lat=BULA[1],
        households_affected=2,
    ).json()
    assert case["tier"] == "village"
    assert case["procedure"] == "mediation"
    closed = close_out(village, case["reference"], "人大代表参与调解")
    assert closed["status"] == "closed"


def test_forty_one_households_close_together_at_the_street_committee(world):
    from geo_disputes.models import Case as CaseModel
    from geo_disputes.services.cases.groups import apply_to_group, form_group

    admin = client_for("banner_admin")
    references = [
        intake(
            admin,
            category="mining_subsidence",
            channel="visit",
            description="房屋开裂",
            procedure="mediation",
            lon=SUJIGOU[0] + i * 0.0001,
            lat=SUJIGOU[1],
            petitioners=[{"name": f"王{i}号", "phone": f"139000000{i:02d}"}],
        ).json()["reference"]
        for i in range(41)
    ]
    group = form_group("王家圪楞社41户房屋开裂", list(CaseModel.objects.filter(reference__in=references)))
    for action, params in (
        ("accept", {}),
        ("assign", {"person": "街道党工委书记"}),
        ("agreement", {"text": "鉴定、评估、调解"}),
        (
            "confirm",
            {
                "court": "准格尔旗人民法院",
                "number": "(2026)内0622民特1号",
                "applied_at": timezone.localdate().isoformat(),
                "ruled_at": timezone.localdate().isoformat(),
            },
        ),
        ("close", {}),
    ):
        apply_to_group(group, action, **params)
    members = CaseModel.objects.filter(group=group)
    assert set(members.values_list("status", "tier", "unit__code")) == {("closed", "township", "TC-150622004")}
    assert members.count() == 41 and len({m.petitioners.get().name for m in members}) == 41


def test_list_counts_up_to_a_limit_and_pages_on_past_it(world, monkeypatch):
    """Busy views say "at least N" instead of counting every case; paging still reaches every case."""
    from .factories import CaseFactory

    monkeypatch.setattr("geo_disputes.services.cases.case_queries.COUNT_LIMIT", 4)  # the list: case_collection
    CaseFactory.create_batch(9)
    planner = client_for("planner")
    first = planner.get("/api/cases/", {"page_size": 2}).json()
    assert first["count"] == 4 and first["count_exact"] is False and first["next"]
    seen = [f["id"] for f in first["features"]]
    url = first["next"]
    while url:
        page = planner.get(url).json()
        seen += [f["id"] for f in page["features"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 9  # the last page has no next, though the count said "at least 4"
    exact = planner.get("/api/cases/", {"page_size": 2, "count": "exact"}).json()
    assert exact["count"] == 9 and "count_exact" not in exact
    small = planner.get("/api/cases/", {"category": "utilities"}).json()
    assert "count_exact" not in small  # under the limit the count is exact
    refused = planner.get("/api/cases/", {"count": "all"})
    assert refused.status_code == 400 and "limited, exact" in refused.json()["count"]


# -- What planners and field staff read (issue 12 item 6) -----------------------------------------

SECRET = "王建国家的草场被邻居李四围占8亩"
OFF_GRID = (111.0512345, 39.5487654)  # inside 双敖包村 and its parcel, on no 500 m grid node


def handled_case() -> tuple[str, APIClient]:
    """A case with every kind of free text: description, transition reasons, a named person, an agreement."""
    ref = intake(client_for("banner_admin"), description=SECRET, lon=OFF_GRID[0], lat=OFF_GRID[1]).json()["reference"]
    village = client_for("village_officer", "150622106202")
    act(village, ref, "accept", reason="村民李四承认围占")
    act(village, ref, "assign", person="村支书张三丰", reason="由张三丰负责调解")
    act(village, ref, "agreement", text="李四退还草地", mediators="调解员赵六")
    return ref, village


def test_planners_and_field_staff_get_no_case_text_and_a_coarse_point_by_the_api(world):
    ref, village = handled_case()
    for reader in (client_for("planner"), client_for("field_staff")):
        detail = reader.get(f"/api/cases/{ref}/").json()
        text = str(detail)
        for secret in (SECRET, "李四", "张三丰", "赵六", "HT-"):
            assert secret not in text, secret
        assert detail["description"] != SECRET and "经办人员" in detail["description"]
        assert detail["responsible_person"] != "村支书张三丰" and detail["parcels"] == []
        assert all("李四" not in (h["reason"] or "") for h in detail["history"])
        point = (detail["location"]["lon"], detail["location"]["lat"])
        assert on_coarse_grid(*point) and point != pytest.approx(OFF_GRID, abs=1e-6)
        assert (detail["submitted"]["lon"], detail["submitted"]["lat"]) == pytest.approx(point)
        # What stays: the aggregates.
        assert (detail["category"], detail["tier"], detail["unit"]["code"]) == (
            "land_occupation",
            "village",
            "VC-150622106202",
        )
        assert detail["village"]["name"] == "双敖包村" and detail["received_at"] and detail["status"]
        [feature] = [f for f in reader.get("/api/cases/").json()["features"] if f["id"] == ref]
        assert SECRET[:10] not in feature["properties"]["summary"]
        assert on_coarse_grid(*feature["geometry"]["coordinates"])


def test_the_handling_officer_still_reads_everything(world):
    ref, village = handled_case()
    detail = village.get(f"/api/cases/{ref}/").json()
    assert detail["description"] == SECRET and detail["responsible_person"] == "村支书张三丰"
    assert (detail["location"]["lon"], detail["location"]["lat"]) == pytest.approx(OFF_GRID, abs=1e-7)
    assert "村民李四承认围占" in [h["reason"] for h in detail["history"]]
    assert any(h["changes"].get("responsible_person") == ["", "村支书张三丰"] for h in detail["history"])
    assert detail["parcels"][0]["contract_no"].startswith("HT-")
    [feature] = village.get("/api/cases/").json()["features"]
    assert feature["properties"]["summary"] == SECRET
    assert feature["geometry"]["coordinates"] == pytest.approx(list(OFF_GRID), abs=1e-6)


def test_the_reused_list_statement_never_carries_one_reader_s_view_to_another(world, monkeypatch):
    """The case list's page statement is compiled once per reader and day and reused (geojson.PAGE_STATEMENTS):
    readers taking turns on the same list each get their own view, the same as a freshly built statement's."""
    from geo_disputes.services.geojson import PAGE_STATEMENTS

    ref, village = handled_case()
    planner, admin = client_for("planner"), client_for("banner_admin")
    PAGE_STATEMENTS.clear()
    fresh = {name: c.get("/api/cases/").json() for name, c in (("village", village), ("planner", planner))}
    for _ in range(2):  # the second round runs on the statements the first compiled
        for name, reader in (("planner", planner), ("village", village), ("admin", admin)):
            [feature] = [f for f in reader.get("/api/cases/").json()["features"] if f["id"] == ref]
            if name == "village":
                assert feature == fresh["village"]["features"][0]
                assert feature["properties"]["summary"] == SECRET
            elif name == "planner":
                assert feature == fresh["planner"]["features"][0]
                assert SECRET[:10] not in feature["properties"]["summary"]
                assert on_coarse_grid(*feature["geometry"]["coordinates"])
            else:
                assert feature["geometry"]["coordinates"] == pytest.approx(list(OFF_GRID), abs=1e-6)
    assert len(PAGE_STATEMENTS._entries) == 3  # one per reader
    # The next day the deadlines are counted from that day: a new statement, not yesterday's.
    import geo_disputes.services.cases.case_queries as cases_api  # the list: case_collection

    tomorrow = cases_api.local_today() + dt.timedelta(days=1)
    monkeypatch.setattr(cases_api, "local_today", lambda: tomorrow)
    [feature] = village.get("/api/cases/").json()["features"]
    assert len(PAGE_STATEMENTS._entries) == 4
    assert feature["properties"]["summary"] == SECRET
