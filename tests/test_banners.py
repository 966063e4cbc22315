"""Several banners in one deployment (issue 16 item 4): each banner's staff see their banner's cases only, a city's
roles see every banner of the city; references are numbered per banner; a case goes to its own banner's bodies;
a second banner's demo loads from its own outline and code lists."""

from __future__ import annotations

import datetime as dt
import io
import math

import mapbox_vector_tile
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from fixtures.banner_demo import EXAMPLE_DIR, BannerDemoError, load_banner, read_source
from geo_disputes.models import Banner, Case, Role, StaffProfile, Unit
from geo_disputes.services.cases.access import ScopeError, visible_cases
from geo_disputes.services.cases.intake import IntakeError, IntakeRequest, Petitioner, open_case
from geo_disputes.services.cases.supervision import supervising_units
from geo_disputes.services.cases.workflow import WorkflowError, perform
from geo_disputes.services.ops.staff import upsert_staff

from .factories import (
    GridFactory,
    MiningAreaFactory,
    ParcelFactory,
    StaffFactory,
    TownshipFactory,
    UnitFactory,
    UserFactory,
    VillageFactory,
    box,
    routing_rule_form,
)

pytestmark = pytest.mark.django_db

A, B = "150622", "150699"  # the home banner and a second one of the same city (1506)
A_TOWN, A_VILLAGE = "150622101", "150622101201"
B_TOWN, B_VILLAGE = "150699100", "150699100201"
IN_A, IN_B = (111.1, 39.6), (109.7, 39.6)


def _banner(code: str, name: str, bbox: tuple, town: str, village: str, prefix: str = "") -> None:
    Banner.objects.create(code=code, name=name, geom=box(*bbox), reference_prefix=prefix)
    TownshipFactory(code=town, name=f"{name}一镇", geom=box(*bbox))
    VillageFactory(code=village, name=f"{name}一村", township_code=town, geom=box(*bbox))
    UnitFactory(code=f"TC-{town}", name=f"{name}一镇党委", kind="township_committee", area_code=town)
    UnitFactory(code=f"VC-{village}", name=f"{name}一村村委会", kind="village_committee", area_code=village)
    UnitFactory(code=f"BL-{code}", name=f"{name}旗领导包案", kind="banner_leadership", area_code=code)
    UnitFactory(code=f"MC-{code}", name=f"{name}矿区法庭", kind="mining_court", area_code=code)
    suffix = "" if code == A else f"-{code}"
    UnitFactory(code=f"BD-petitions{suffix}", name=f"{name}信访局", kind="banner_department", area_code=code)


@pytest.fixture
def two_banners() -> dict[str, list[str]]:
    """Banner A (准格尔旗) and B (示例旗, prefix SLQ), one township and village each, and 3 + 2 cases told there."""
    _banner(A, "准格尔旗", (111.0, 39.5, 111.4, 39.9), A_TOWN, A_VILLAGE)
    _banner(B, "示例旗", (109.6, 39.5, 110.0, 39.9), B_TOWN, B_VILLAGE, prefix="SLQ")
    refs: dict[str, list[str]] = {A: [], B: []}
    for banner, (lon, lat), n in ((A, IN_A, 3), (B, IN_B, 2)):
        for i in range(n):
            case = open_case(_told(lon + i * 0.01, lat, f"{banner}的第{i + 1}件事", petitioner=f"村民{banner}{i}"))
            refs[banner].append(case.reference)
    return refs


def _told(lon: float, lat: float, text: str = "草场被邻户围占", petitioner: str = "王建国") -> IntakeRequest:
    return IntakeRequest(
        category="land_occupation",
        channel="talk_room",
        description=text,
        lon=lon,
        lat=lat,
        petitioners=[Petitioner(name=petitioner, phone="13912345678")],
    )


def _user(role: str, banner: str, scope: str = ""):
    return StaffFactory(role=role, banner_code=banner, scope_code=scope).user


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_case_belongs_to_the_banner_whose_outline_covers_it_and_is_numbered_in_its_series(two_banners):
    a_refs, b_refs = two_banners[A], two_banners[B]
    assert [r.rsplit("-", 1)[1] for r in a_refs] == ["000001", "000002", "000003"]
    assert [r.rsplit("-", 1)[1] for r in b_refs] == ["000001", "000002"]  # its own series, from 1
    assert all(r.startswith("ZGE-") for r in a_refs) and all(r.startswith("SLQ-") for r in b_refs)
    case = Case.objects.get(reference=b_refs[0])
    assert (case.banner_code, case.township_code, case.village_code) == (B, B_TOWN, B_VILLAGE)
    assert case.unit.area_code.startswith(B)  # B's own committee, never A's
    with pytest.raises(IntakeError) as refused:
        open_case(_told(110.5, 39.6))  # between the two banners: in neither
    assert refused.value.field == "lon"


def test_each_banner_sees_its_own_cases_and_the_city_sees_both(two_banners):
    a_refs, b_refs = set(two_banners[A]), set(two_banners[B])
    seen = {
        "A admin": (_user(Role.BANNER_ADMIN, A), a_refs),
        "A planner": (_user(Role.PLANNER, A), a_refs),
        "A field staff": (_user(Role.FIELD_STAFF, A), a_refs),
        "B admin": (_user(Role.BANNER_ADMIN, B), b_refs),
        "B township officer": (_user(Role.TOWNSHIP_OFFICER, B, B_TOWN), b_refs),
        "city admin": (_user(Role.BANNER_ADMIN, "1506"), a_refs | b_refs),
        "city planner": (_user(Role.PLANNER, "1506"), a_refs | b_refs),
        "another city's admin": (_user(Role.BANNER_ADMIN, "1505"), set()),
        "a village officer given a city code": (_user(Role.VILLAGE_OFFICER, "1506", B_VILLAGE), set()),
    }
    for who, (user, expected) in seen.items():
        assert set(visible_cases(user).values_list("reference", flat=True)) == expected, who
        listed = _api(user).get("/api/cases/", {"page_size": 100}).json()
        assert {f["id"] for f in listed.get("features", [])} == expected, who


def test_another_banners_case_answers_like_a_case_that_does_not_exist(two_banners):
    b_ref = two_banners[B][0]
    a_admin = _page(_user(Role.BANNER_ADMIN, A))
    assert a_admin.get(f"/cases/{b_ref}/").status_code == 404
    assert a_admin.get("/cases/ZGE-2000-999999/").status_code == 404
    assert _api(_user(Role.BANNER_ADMIN, A)).get(f"/api/cases/{b_ref}/").status_code == 404
    hidden = a_admin.get("/cases/go/", {"reference": b_ref})
    unknown = a_admin.get("/cases/go/", {"reference": "SLQ-2000-999999"})
    assert hidden.status_code == unknown.status_code and hidden.get("Location", "").replace(b_ref, "X") == unknown.get(
        "Location", ""
    ).replace("SLQ-2000-999999", "X")
    city = _page(_user(Role.BANNER_ADMIN, "1506"))
    assert city.get(f"/cases/{b_ref}/").status_code == 200


def test_analyses_and_gis_clients_count_only_the_users_banners(two_banners):
    today = timezone.localdate()
    period = {"since": (today - dt.timedelta(days=30)).isoformat(), "until": today.isoformat()}
    for banner, expected in ((A, 3), (B, 2), ("1506", 5)):
        user = _user(Role.BANNER_ADMIN if banner != B else Role.PLANNER, banner)
        stats = _api(user).get("/api/stats/", period).json()
        assert stats["cases_total"] == expected, banner
        items = _api(user).get("/ogc/collections/cases/items", {"limit": 100, "f": "json"}).json()
        assert items["numberReturned"] == expected, banner
        points = _api(user).get("/api/case-points/", {"bbox": "109,39,112,41"}).json()
        assert points["count"] == len(points["points"]) == expected, banner


def test_staff_are_given_a_banner_their_scope_lies_in(two_banners):
    result = upsert_staff("b_officer", Role.TOWNSHIP_OFFICER, B_TOWN, password="x-Pass-12345")
    assert (result.profile.banner_code, result.profile.unit.code) == (B, f"TC-{B_TOWN}")  # from the scope
    with pytest.raises(ScopeError):
        upsert_staff("wrong", Role.TOWNSHIP_OFFICER, B_TOWN, banner=A)  # B's township for an A officer
    with pytest.raises(ScopeError):
        upsert_staff("city_officer", Role.VILLAGE_OFFICER, B_VILLAGE, banner="1506")  # only admins/planners
    court = upsert_staff("b_court", Role.MINING_COURT, "", banner=B)
    assert court.profile.unit.code == f"MC-{B}"  # B's court, not the home banner's
    out = io.StringIO()
    call_command("add_staff", "city_planner", "--role", "planner", "--banner", "1506", stdout=out)
    assert "banner=1506" in out.getvalue()
    with pytest.raises(CommandError, match="1506"):
        call_command(
            "add_staff",
            "x",
            "--role",
            "village_officer",
            "--scope",
            B_VILLAGE,
            "--banner",
            "1506",
            stdout=io.StringIO(),
        )


def test_a_banner_admin_manages_their_own_banners_staff_and_units_only(two_banners):
    b_admin = _user(Role.BANNER_ADMIN, B)
    a_officer = _user(Role.TOWNSHIP_OFFICER, A, A_TOWN)
    b_officer = _user(Role.TOWNSHIP_OFFICER, B, B_TOWN)
    client = _page(b_admin)
    listing = client.get("/admin/geo_disputes/staffprofile/").content.decode()
    assert b_officer.username in listing and a_officer.username not in listing
    assert client.get(f"/admin/geo_disputes/staffprofile/{a_officer.staff.pk}/change/").status_code in (302, 404)
    units = client.get("/admin/geo_disputes/unit/").content.decode()
    assert f"TC-{B_TOWN}" in units and f"TC-{A_TOWN}" not in units
    fresh = UserFactory()
    refused = client.post(
        "/admin/geo_disputes/staffprofile/add/",
        {"user": fresh.pk, "role": "township_officer", "banner_code": A, "scope_code": A_TOWN},
    )
    assert refused.status_code == 200 and not StaffProfile.objects.filter(user=fresh).exists()
    assert "150699" in refused.content.decode()  # names the banner they may set staff in


def test_supervision_above_the_townships_is_each_banners_own(two_banners):
    b_admin = _user(Role.BANNER_ADMIN, B)
    assert [u.code for u in supervising_units(b_admin)] == [f"BD-petitions-{B}", f"BL-{B}"]
    city = _user(Role.BANNER_ADMIN, "1506")
    assert {u.code for u in supervising_units(city)} == {"BD-petitions", f"BL-{A}", f"BD-petitions-{B}", f"BL-{B}"}


def test_the_second_banners_demo_loads_from_its_own_outline_and_code_lists():
    source = read_source(EXAMPLE_DIR)
    counts = load_banner(EXAMPLE_DIR, password="demo-Pass-123")
    assert counts == {"areas": 1 + 3 + 10 + 20 + 30, "units": 28, "users": 6, "cases": 30}
    assert load_banner(EXAMPLE_DIR) == {"areas": 0, "units": 0, "users": 0, "cases": 0}  # a second run: nothing
    cases = Case.objects.filter(banner_code=B)
    assert cases.count() == 30 and not cases.exclude(reference__startswith="SLQ-").exists()
    held = set(cases.values_list("unit__area_code", flat=True))
    assert held and all(code.startswith(B) for code in held)  # routed to the banner's own committees
    codes = {t["code"] for t in source.townships}
    assert set(cases.values_list("township_code", flat=True)) <= codes
    assert Unit.objects.filter(area_code__startswith=B).count() == 28
    city = StaffProfile.objects.get(user__username="city1506_planner")
    assert (city.role, city.banner_code) == (Role.PLANNER, "1506")
    assert visible_cases(city.user).count() == 30


def test_a_banners_files_are_checked_naming_the_file_row_and_field(tmp_path):
    for name in ("banner.json", "outline.geojson", "township_units.csv"):
        (tmp_path / name).write_bytes((EXAMPLE_DIR / name).read_bytes())
    rows = (EXAMPLE_DIR / "village_units.csv").read_text(encoding="utf-8").splitlines()
    rows[3] = rows[3].replace("150699100202", "150699900202")  # a village of a township not listed
    (tmp_path / "village_units.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(BannerDemoError, match=r"village_units.csv row 4, code: '150699900202'"):
        read_source(tmp_path)
    assert not Banner.objects.filter(code=B).exists()


def test_a_matter_is_never_handed_to_another_banners_body(two_banners):
    case = Case.objects.get(reference=two_banners[A][0])
    with pytest.raises(WorkflowError) as refused:
        perform(case, "transfer", None, case.version, {"unit": f"TC-{B_TOWN}", "reason": "不属本村"})
    assert refused.value.field == "unit" and B in str(refused.value)
    case.refresh_from_db()
    assert case.unit.code.startswith("VC-150622") or case.unit.code.startswith("TC-150622")  # where it was


def test_a_banner_planners_village_rates_list_their_banners_villages(two_banners):
    rates = {
        banner: {v["code"] for v in _api(_user(Role.PLANNER, banner)).get("/api/village-rates/").json()["villages"]}
        for banner in (A, B, "1506")
    }
    assert rates[A] == {A_VILLAGE} and rates[B] == {B_VILLAGE} and rates["1506"] == {A_VILLAGE, B_VILLAGE}


def test_the_page_header_names_the_users_banner_or_city(two_banners):
    page = _page(_user(Role.BANNER_ADMIN, B)).get("/cases/").content.decode()
    assert "示例旗 · 乡安五事" in page and "准格尔旗" not in page
    assert "全市 1506 · 乡安五事" in _page(_user(Role.PLANNER, "1506")).get("/dashboard/").content.decode()
    assert "准格尔旗 · 乡安五事" in _page(_user(Role.BANNER_ADMIN, A)).get("/cases/").content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/cases/",
        "/dashboard/",
        "/report/monthly/",
        "/queues/",
        "/agenda/",
        "/follow-ups/",
        "/leaders/",
        "/visits/",
        "/maps/planner/",
        "/maps/field/",
        "/maps/court/",
        "/cases/new/",
    ],
)
def test_no_page_of_one_banner_names_another_banners_places_or_cases(two_banners, url):
    response = _page(_user(Role.BANNER_ADMIN, B)).get(url)
    assert response.status_code == 200, url
    page = response.content.decode()
    leaked = [word for word in ("准格尔旗", A_TOWN, A_VILLAGE, *two_banners[A]) if word in page]
    assert not leaked, (url, leaked)


def test_the_home_page_error_pages_admin_and_gis_landing_name_the_users_banner(two_banners):
    client = _page(_user(Role.BANNER_ADMIN, B))
    for url, status in (("/", 200), ("/no-such-page/", 404), ("/admin/", 200)):
        response = client.get(url)
        page = response.content.decode()
        assert response.status_code == status, url
        assert "示例旗矛盾纠纷地图" in page and "准格尔旗" not in page, url
    assert "<h1>示例旗矛盾纠纷地图</h1>" in client.get("/").content.decode()
    # The 404 page's look-up box shows a number of the user's own series, not the home banner's.
    year = timezone.localdate().year
    missing = client.get("/no-such-page/").content.decode()
    assert f'placeholder="SLQ-{year}-000001"' in missing and "ZGE-" not in missing
    home = _page(_user(Role.BANNER_ADMIN, A)).get("/no-such-page/").content.decode()
    assert f'placeholder="ZGE-{year}-000001"' in home
    assert f'placeholder="ZGE-{year}-000001"' in Client().get("/no-such-page/").content.decode()  # not logged in
    assert _api(_user(Role.PLANNER, B)).get("/ogc/?f=json").json()["title"].startswith("示例旗")
    # The home banner's staff and a superuser keep the home banner's name.
    assert "<h1>准格尔旗矛盾纠纷地图</h1>" in _page(_user(Role.BANNER_ADMIN, A)).get("/").content.decode()
    assert _api(_user(Role.PLANNER, A)).get("/ogc/?f=json").json()["title"].startswith("准格尔旗")


def test_a_banners_staff_cannot_register_a_case_in_another_banner(two_banners):
    """Answered as a point outside every banner: no unit, grid worker or reference count of the other banner."""
    body = {
        "category": "land_occupation",
        "channel": "talk_room",
        "kind": "claim",
        "description": "在邻旗登记",
        "lon": IN_A[0],
        "lat": IN_A[1],
        "datum": "wgs84",
        "petitioners": [{"name": "王建国", "phone": "13912345678"}],
    }
    before = Case.objects.count()
    answer = _api(_user(Role.BANNER_ADMIN, B)).post("/api/cases/", body, format="json")
    assert answer.status_code == 400 and list(answer.json()) == ["lon"]
    assert "不在本旗范围内" in str(answer.json()["lon"]) and A_VILLAGE not in answer.content.decode()
    assert Case.objects.count() == before
    # Its own banner's point goes through; the city's staff register in either banner.
    assert (
        _api(_user(Role.BANNER_ADMIN, B)).post("/api/cases/", {**body, "lon": IN_B[0]}, format="json").status_code
        == 201
    )
    assert _api(_user(Role.BANNER_ADMIN, "1506")).post("/api/cases/", body, format="json").status_code == 201


# -- Areas (issue 25): a banner's staff see their banner's townships, villages, grids, parcels and mines only ---------

A_PARCEL, B_PARCEL = f"{A_VILLAGE}JD00001", f"{B_VILLAGE}JD00001"
A_GRID, B_GRID = f"{A_VILLAGE}-019", f"{B_VILLAGE}-001"
A_MINE, B_MINE = "KQ-01", "KQ-09"
A_HOLDER = "梁生琪"
IN_A_PARCEL = (111.2575, 39.7275)  # inside A's parcel, inside A's mine


@pytest.fixture
def banner_areas(two_banners) -> dict[str, list[str]]:
    """Each banner's grid, mine and a parcel in its mine (A's held by 梁生琪, with a contract number)."""
    GridFactory(code=A_GRID, geom=box(111.2, 39.7, 111.3, 39.8), households=31, population=97)
    GridFactory(code=B_GRID, geom=box(109.8, 39.7, 109.9, 39.8))
    MiningAreaFactory(code=A_MINE, name="甲矿", geom=box(111.25, 39.72, 111.27, 39.74))
    MiningAreaFactory(code=B_MINE, name="乙矿", geom=box(109.81, 39.72, 109.83, 39.74))
    ParcelFactory(code=A_PARCEL, holder_name=A_HOLDER, contract_no="HT-A-1", geom=box(111.255, 39.725, 111.26, 39.73))
    ParcelFactory(code=B_PARCEL, holder_name="李守田", contract_no="HT-B-1", geom=box(109.815, 39.725, 109.82, 39.73))
    return two_banners


def _ids(body: dict) -> list[str]:
    return sorted(str(f["id"]) for f in body["features"])


SECOND = [(Role.BANNER_ADMIN, B), (Role.PLANNER, B)]


@pytest.mark.parametrize(("role", "banner"), SECOND)
def test_gis_clients_list_and_fetch_their_banners_areas_only(banner_areas, role, banner):
    client = _api(_user(role, banner))
    expected = {
        "townships": [B_TOWN],
        "villages": [B_VILLAGE],
        "grids": [B_GRID],
        "parcels": [B_PARCEL],
        "mining-areas": [B_MINE],
        "influence-zones": [B_MINE],
    }
    for collection, codes in expected.items():
        body = client.get(f"/ogc/collections/{collection}/items?f=json").json()
        assert (_ids(body), body["numberMatched"]) == (codes, 1), collection
    for collection, code in (
        ("villages", A_VILLAGE),
        ("parcels", A_PARCEL),
        ("grids", A_GRID),
        ("mining-areas", A_MINE),
    ):
        assert client.get(f"/ogc/collections/{collection}/items/{code}?f=json").status_code == 404, collection
    assert client.get(f"/ogc/collections/parcels/items/{B_PARCEL}?f=json").status_code == 200
    extents = {
        c["extent"]["spatial"]["bbox"][0][0] for c in client.get("/ogc/collections?f=json").json()["collections"]
    }
    assert extents == {109.6}  # B's outline, not the union with A's


@pytest.mark.parametrize(("role", "banner"), SECOND)
def test_map_layers_and_tiles_hold_their_banners_areas_only(banner_areas, role, banner):
    client = _api(_user(role, banner))
    for layer, codes in (
        ("parcels", [B_PARCEL]),
        ("grids", [B_GRID]),
        ("villages", [B_VILLAGE]),
        ("mining-areas", [B_MINE]),
    ):
        body = client.get(f"/api/layers/{layer}/").json()
        assert (_ids(body), body["count"]) == (codes, 1), layer
    for layer, z in (("parcels", 14), ("grids", 12), ("villages", 12), ("mining-areas", 12)):
        assert _tile_codes(client, layer, z, IN_A_PARCEL) == [], layer
    assert _ids(client.get("/maps/features/mining-parcels/").json()) == [B_PARCEL]


def _tile_codes(client: APIClient, layer: str, z: int, at: tuple[float, float]) -> list[str]:
    """The codes in the tile of `layer` at zoom `z` holding the point `at` (decoded as tests/test_tiles.py does)."""
    n = 2**z
    x = int((at[0] + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(at[1]))) / math.pi) / 2 * n)
    response = client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf")
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.status_code
    layers = mapbox_vector_tile.decode(response.content)
    return sorted(f["properties"]["code"] for f in layers.get(layer, {"features": []})["features"])


def test_the_home_banner_sees_its_own_areas_and_the_city_sees_both(banner_areas):
    home, city = _api(_user(Role.BANNER_ADMIN, A)), _api(_user(Role.PLANNER, "1506"))
    assert _ids(home.get("/ogc/collections/villages/items?f=json").json()) == [A_VILLAGE]
    assert _ids(home.get("/api/layers/parcels/").json()) == [A_PARCEL]
    assert _tile_codes(home, "parcels", 14, IN_A_PARCEL) == [A_PARCEL]
    assert _tile_codes(home, "grids", 12, IN_A_PARCEL) == [A_GRID]
    assert home.get(f"/ogc/collections/parcels/items/{A_PARCEL}?f=json").json()["properties"]["contract_no"] == "HT-A-1"
    assert _ids(city.get("/ogc/collections/villages/items?f=json").json()) == [A_VILLAGE, B_VILLAGE]
    assert _ids(city.get("/api/layers/mining-areas/").json()) == [A_MINE, B_MINE]
    assert _tile_codes(city, "parcels", 14, IN_A_PARCEL) == [A_PARCEL]
    assert city.get(f"/ogc/collections/grids/items/{A_GRID}?f=json").status_code == 200


def test_a_tiles_etag_is_its_banners(banner_areas):
    """The same (empty) tile of two banners' readers carries different ETags: one never validates the other's."""
    a, b = _api(_user(Role.BANNER_ADMIN, A)), _api(_user(Role.BANNER_ADMIN, B))
    url = "/tiles/parcels/14/1000/1000.pbf"  # nobody's parcels there
    assert a.get(url)["ETag"] != b.get(url)["ETag"]


def test_another_banners_parcel_holder_and_point_answer_as_unknown(banner_areas):
    other = _api(_user(Role.BANNER_ADMIN, B))
    assert other.get(f"/api/parcels/{A_PARCEL}/").status_code == 404
    assert other.get("/api/parcels/", {"holder": A_HOLDER}).json() == {"count": 0, "truncated": False, "results": []}
    elsewhere = other.get("/api/locate/", {"lon": 100.0, "lat": 30.0})
    refused = other.get("/api/locate/", {"lon": IN_A_PARCEL[0], "lat": IN_A_PARCEL[1]})
    assert (elsewhere.status_code, refused.status_code) == (404, 404)
    assert "不在本旗范围内" in refused.json()["detail"] and A_VILLAGE not in refused.content.decode()
    assert other.get("/api/locate/", {"lon": 109.8175, "lat": 39.7275}).json()["grid"]["code"] == B_GRID
    for user in (_user(Role.BANNER_ADMIN, A), _user(Role.BANNER_ADMIN, "1506")):
        client = _api(user)
        assert client.get(f"/api/parcels/{A_PARCEL}/").json()["properties"]["holder"] == A_HOLDER
        found = client.get("/api/parcels/", {"holder": A_HOLDER}).json()
        assert (found["count"], [r["code"] for r in found["results"]]) == (1, [A_PARCEL])
        located = client.get("/api/locate/", {"lon": IN_A_PARCEL[0], "lat": IN_A_PARCEL[1]}).json()
        assert (located["grid"]["code"], [m["code"] for m in located["mining_areas"]]) == (A_GRID, [A_MINE])


def test_the_court_map_lists_and_prints_the_users_banners_mines_only(banner_areas):
    other = _page(_user(Role.BANNER_ADMIN, B))
    page = other.get("/maps/court/").content.decode()
    assert f'value="{B_MINE}"' in page and f'value="{A_MINE}"' not in page
    assert other.get("/maps/court/print/", {"mining_area": A_MINE}).status_code == 404
    assert other.get("/maps/court/print/", {"mining_area": "KQ-77"}).status_code == 404
    assert other.get("/maps/court/print/", {"mining_area": B_MINE})["Content-Type"] == "application/pdf"
    home = _page(_user(Role.MINING_COURT, A))
    assert f'value="{A_MINE}"' in home.get("/maps/court/").content.decode()
    assert home.get("/maps/court/print/", {"mining_area": A_MINE})["Content-Type"] == "application/pdf"


def test_the_shared_routing_rules_are_the_citys_to_edit_once_a_second_banner_is_loaded(two_banners):
    """One set of rules routes every banner's cases: 示例旗's admin editing them would re-route 准格尔旗's."""
    from geo_disputes.models import RoutingRule, RoutingRuleChange

    rule = RoutingRule.objects.order_by("order").first() or RoutingRule.objects.create(
        order=1, name="村内小事", tier="village", procedure="mediation", explanation="测试"
    )
    form = routing_rule_form(rule, name=rule.name + "(修订)")
    url = f"/admin/geo_disputes/routingrule/{rule.pk}/change/"
    changes = RoutingRuleChange.objects.count()
    for banner in (B, A):
        client = _page(_user(Role.BANNER_ADMIN, banner))
        assert client.get(url).status_code == 200  # read, not edit
        assert client.post(url, form).status_code == 403, banner
    assert RoutingRuleChange.objects.count() == changes
    city = _page(_user(Role.BANNER_ADMIN, "1506"))
    assert city.post(url, form).status_code == 302
    rule.refresh_from_db()
    assert rule.name.endswith("(修订)")
