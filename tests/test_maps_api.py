"""The endpoints the map pages add or ask: a parcel by code or by holder, the court's parcels
touching mines, and the case and analysis filters the court and planner maps send."""

from __future__ import annotations

import pytest

from geo_disputes.models import PersonalDataAccess

from .browser.scene import build_cases, build_scene
from .factories import ParcelFactory, as_role, box

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene():
    return build_scene()


def test_a_parcel_by_code_comes_with_its_outline_and_where_it_lies(staff_client, scene):
    body = staff_client.get("/api/parcels/150622106202JD00001/").json()
    assert body["type"] == "Feature" and body["id"] == "150622106202JD00001"
    assert body["geometry"]["type"] == "MultiPolygon"
    assert body["properties"]["name"] == "东梁草场" and body["properties"]["land_use_label"] == "草地"
    assert body["properties"]["holder"] == "王某"  # a role-less user sees the masked holder
    context = body["context"]
    assert context["village"] == {"code": "150622106202", "name": "双敖包村"}
    assert context["grid"]["worker"] == {"name": "李某某", "phone": "13800000001"}
    assert context["mining_areas"] == []
    assert context["parcels"] == []  # the parcel itself is `properties`, not repeated


def test_a_parcel_in_the_pit_says_so(staff_client, scene):
    context = staff_client.get("/api/parcels/150622106203JD00001/").json()["context"]
    assert [(m["code"], m["relation"]) for m in context["mining_areas"]] == [("KQ-01", "inside")]
    assert context["village"]["name"] == "哈尔乌素村"


def test_the_holder_is_shown_and_recorded_once_for_a_superuser(api_client, scene, django_user_model):
    api_client.force_authenticate(django_user_model.objects.create_superuser("admin", password="pw-for-tests-only"))
    body = api_client.get("/api/parcels/150622106202JD00001/").json()
    assert body["properties"]["holder"] == "王建国"
    assert PersonalDataAccess.objects.filter(parcel=scene.parcel).count() == 1


def test_an_unknown_parcel_is_a_404_and_anonymous_is_refused(staff_client, api_client, scene):
    assert staff_client.get("/api/parcels/NO-SUCH/").status_code == 404
    assert api_client.get("/api/parcels/150622106202JD00001/").status_code in (401, 403)


def test_the_court_sees_only_parcels_a_mine_touches(staff_client, scene):
    body = staff_client.get("/maps/features/mining-parcels/").json()
    assert body["count"] == 2
    relations = {f["id"]: f["properties"]["mining_relation"] for f in body["features"]}
    assert relations == {"150622106203JD00001": "inside", "150622106203JD00002": "influence_zone"}
    first = body["features"][0]["properties"]
    assert first["mining_area_code"] == "KQ-01" and first["land_use"] == "cultivated" and first["area_mu"] > 0
    assert "holder_name" not in first


def test_the_court_parcels_follow_the_box(staff_client, scene):
    east_of_the_pit = staff_client.get("/maps/features/mining-parcels/", {"bbox": "111.281,39.72,111.3,39.74"}).json()
    assert [f["id"] for f in east_of_the_pit["features"]] == ["150622106203JD00002"]
    assert staff_client.get("/maps/features/mining-parcels/", {"bbox": "1,2"}).status_code == 400


# -- what the map pages ask the cases and analysis APIs (issue 4, part 2) -----------------------


@pytest.fixture
def cases(scene):
    return build_cases(scene)


def refs(body: dict) -> set[str]:
    return {f["id"] for f in body["features"]}


def test_mining_1_selects_the_mining_related_cases(scene, cases):
    admin = as_role("banner_admin")
    body = admin.get("/api/cases/", {"mining": "1", "page_size": 500}).json()
    assert refs(body) == {c.reference for c in cases.pit}
    assert {f["properties"]["tier_label"] for f in body["features"]} == {"矿区法庭"}
    assert admin.get("/api/cases/", {"mining": "0"}).json()["count"] == len(cases.all)
    assert admin.get("/api/cases/", {"mining": "yes"}).json() == {"mining": "use 1 or 0 / 应为 1 或 0: 'yes'"}


def test_mining_1_is_the_court_s_own_scope(scene, cases):
    """What the court sees at all is what `mining=1` selects for anyone: one rule, in access.py."""
    court = as_role("mining_court").get("/api/cases/", {"page_size": 500}).json()
    admin = as_role("banner_admin").get("/api/cases/", {"mining": "1", "page_size": 500}).json()
    assert refs(court) == refs(admin) and court["count"] == len(cases.pit)


def test_parcel_selects_the_cases_linked_to_it(scene, cases):
    admin = as_role("banner_admin")
    body = admin.get("/api/cases/", {"parcel": scene.parcel.code}).json()
    assert refs(body) == {cases.on_parcel.reference}
    assert admin.get("/api/cases/", {"parcel": scene.pit_parcel.code}).json()["count"] == 0
    assert admin.get("/api/cases/", {"parcel": "<x>"}).status_code == 400


def test_the_analysis_layers_take_the_planner_s_status_and_tier_filters(scene, cases):
    admin = as_role("banner_admin")
    everything = admin.get("/api/clusters/", {"eps_m": 500, "min_points": 5}).json()
    court_only = admin.get("/api/clusters/", {"eps_m": 500, "min_points": 5, "tier": "mining_court"}).json()
    closed = admin.get("/api/clusters/", {"status": "closed"}).json()
    assert everything["n_cases"] == len(cases.all)
    assert court_only["n_cases"] == len(cases.pit)
    assert closed["n_cases"] == sum(c.status == "closed" for c in cases.all)
    assert admin.get("/api/clusters/", {"township": "150622999"}).json()["n_cases"] == 0
    rates = admin.get("/api/village-rates/", {"tier": "mining_court"}).json()["villages"]
    assert {v["code"]: v["cases"] for v in rates} == {"150622106202": 0, "150622106203": len(cases.pit)}
    refused = admin.get("/api/hotspots/", {"tier": "mining_court"})  # 12 cases: too few for Gi*
    assert refused.status_code == 422 and "30" in refused.json()["detail"]
    assert admin.get("/api/hotspots/", {"status": "closed"}).json()["n_incidents"] == closed["n_cases"]
    assert admin.get("/api/hotspots/", {"tier": "nope"}).status_code == 400


def test_a_village_officer_s_map_requests_return_only_their_village(scene, cases):
    """Every case layer of the planner and court maps goes through /api/cases/ or the analysis
    APIs, all narrowed by services.cases.access.visible_cases: a village officer sees their village only."""
    officer = as_role("village_officer", scene.village.code)
    own = {c.reference for c in cases.all if c.village_code == scene.village.code}
    whole = "110.0,39.0,112.0,40.5"
    assert refs(officer.get("/api/cases/", {"bbox": whole, "page_size": 500}).json()) == own
    assert refs(officer.get("/api/cases/", {"bbox": whole, "mining": "1"}).json()) == set()  # the pit is next door
    assert officer.get("/api/clusters/").json()["n_cases"] == len(own)
    rates = officer.get("/api/village-rates/").json()["villages"]
    assert [v["code"] for v in rates] == [scene.village.code]
    neighbour = as_role("village_officer", scene.neighbour.code)
    assert refs(neighbour.get("/api/cases/", {"bbox": whole, "mining": "1", "page_size": 500}).json()) == {
        c.reference for c in cases.pit
    }


# -- GET /api/parcels/?holder= ------------------------------------------------------------------


def test_a_banner_admin_finds_parcels_by_holder_and_each_view_is_recorded(scene):
    admin = as_role("banner_admin")
    body = admin.get("/api/parcels/", {"holder": "王建国"}).json()
    codes = [r["code"] for r in body["results"]]
    assert body["count"] == 3 and body["truncated"] is False  # the factory's default holder, on all three
    assert codes == sorted(codes) and scene.parcel.code in codes
    first = next(r for r in body["results"] if r["code"] == scene.parcel.code)
    assert first["holder"] == "王建国" and first["village_code"] == "150622106202"
    assert 111.100 < first["point"]["lon"] < 111.105 and 39.600 < first["point"]["lat"] < 39.605
    assert PersonalDataAccess.objects.filter(user__username=admin.handler._force_user.username).count() == 3


def test_a_village_officer_finds_only_parcels_of_their_village(scene):
    officer = as_role("village_officer", scene.village.code)
    body = officer.get("/api/parcels/", {"holder": "建国"}).json()
    assert [r["code"] for r in body["results"]] == [scene.parcel.code] and body["count"] == 1
    assert body["results"][0]["holder"] == "王建国"
    township = as_role("township_officer", "150622106").get("/api/parcels/", {"holder": "王建国"}).json()
    assert township["count"] == 3


@pytest.mark.parametrize("role,scope", [("grid_worker", "150622106202-001"), ("field_staff", ""), ("planner", "")])
def test_roles_that_see_holders_masked_cannot_search_by_holder(scene, role, scope):
    response = as_role(role, scope).get("/api/parcels/", {"holder": "王建国"})
    assert response.status_code == 403 and "承包户" in response.json()["detail"]
    assert PersonalDataAccess.objects.count() == 0


def test_a_holder_search_needs_two_characters_and_a_login(scene, api_client):
    admin = as_role("banner_admin")
    assert admin.get("/api/parcels/", {"holder": "王"}).status_code == 400
    assert admin.get("/api/parcels/").status_code == 400
    assert admin.get("/api/parcels/", {"holder": "无此人"}).json() == {"count": 0, "truncated": False, "results": []}
    assert api_client.get("/api/parcels/", {"holder": "王建国"}).status_code in (401, 403)


def test_a_holder_search_lists_at_most_twenty(scene):
    for i in range(25):
        ParcelFactory(code=f"150622106202JD{100 + i:05d}", holder_name="李多田", geom=box(111.0, 39.5, 111.001, 39.501))
    body = as_role("banner_admin").get("/api/parcels/", {"holder": "李多田"}).json()
    assert body["count"] == 25 and body["truncated"] is True and len(body["results"]) == 20


# -- contract numbers are for the roles that handle cases (issue 12 item 6) ------------------------


def _contract_numbers(client, url: str, **query) -> set[str]:
    body = client.get(url, query).json()
    features = body["features"] if "features" in body else [body]
    return {f["properties"].get("contract_no") or "" for f in features} - {""}


def test_planners_and_field_staff_get_no_contract_numbers(scene):
    urls = ("/api/layers/parcels/", "/maps/features/mining-parcels/", "/api/parcels/150622106202JD00001/")
    for role in ("planner", "field_staff"):
        client = as_role(role)
        for url in urls:
            assert _contract_numbers(client, url) == set(), (role, url)
        located = client.get("/api/locate/", {"lon": 111.05, "lat": 39.55}).json()
        assert all(not p["contract_no"] for p in located["parcels"]), role
    court, admin = as_role("mining_court"), as_role("banner_admin")
    assert _contract_numbers(court, "/maps/features/mining-parcels/")
    for url in urls:
        assert all(n.startswith("HT-") for n in _contract_numbers(admin, url)) and _contract_numbers(admin, url), url


def test_a_planner_s_cluster_hulls_have_no_case_s_exact_point_as_a_vertex(scene, cases):
    exact = {(round(c.location.x, 6), round(c.location.y, 6)) for c in cases.all}

    def vertices(role: str) -> set[tuple[float, float]]:
        body = as_role(role).get("/api/clusters/", {"eps_m": 500, "min_points": 5, "members": "false"}).json()
        assert body["features"], role
        return {
            (round(x, 6), round(y, 6))
            for f in body["features"]
            for ring in f["geometry"]["coordinates"]
            for x, y in ring
        }

    assert not vertices("planner") & exact  # drawn around the members' coarse points
    assert vertices("banner_admin") & exact  # the handlers' hulls are drawn on the exact points
