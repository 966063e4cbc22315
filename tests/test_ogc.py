"""OGC API – Features at /ogc/ (issue 16 item 1): the standard's documents, paging, filters and the API's scope and
masking — and GDAL's OAPIF driver reading it through a live server with a token, as a GIS client would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from urllib.parse import urlencode

import pytest
from django.test import Client
from rest_framework.test import APIClient

from geo_disputes.models import Banner, Case, Village
from geo_disputes.services.ops.tokens import issue

from .factories import StaffFactory, UnitFactory, VillageFactory, box, intake_body, on_coarse_grid, seed_places

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
GEOJSON_CLASS = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"
SHUANG, BULA = "150622106202", "150622101206"
EXACT = (111.0071234, 39.5071234)  # in 双敖包村's grid -001; its digits mark the exact point in any answer


@pytest.fixture
def world(db):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    UnitFactory(code="BD-petitions", name="旗信访局", kind="banner_department")
    admin = StaffFactory(role="banner_admin").user
    api = APIClient()
    api.force_authenticate(admin)
    refs = []
    for n, (lon, lat, text) in enumerate(
        [
            (*EXACT, "MARKTEXT 草场被占"),
            (111.008, 39.508, "邻里纠纷"),
            (110.81, 39.65, "不拉村的用水纠纷"),
        ]
    ):
        body = intake_body(
            description=text, lon=lon, lat=lat, petitioners=[{"name": f"王某{n}", "phone": "", "id_number": ""}]
        )
        answer = api.post("/api/cases/", body, format="json")
        assert answer.status_code == 201, answer.content
        refs.append(answer.json()["reference"])
    return {"admin": admin, "refs": refs}


def get(user, url: str, **headers):
    client = APIClient()
    client.force_authenticate(user)
    return client.get(url, **headers)


def test_the_landing_page_links_conformance_and_collections(world):
    doc = get(world["admin"], "/ogc/").json()
    rels = {link["rel"]: link["href"] for link in doc["links"]}
    assert rels["conformance"].startswith("http://testserver/ogc/conformance")
    assert rels["data"].startswith("http://testserver/ogc/collections")
    assert {CORE, GEOJSON_CLASS} <= set(get(world["admin"], "/ogc/conformance").json()["conformsTo"])
    definition = get(world["admin"], rels["service-desc"].replace("http://testserver", ""))
    assert definition["Content-Type"].startswith("application/vnd.oai.openapi+json")
    api = definition.json()
    assert api["openapi"].startswith("3.0") and "/collections/cases/items" in api["paths"]
    limit = next(p for p in api["paths"]["/collections/villages/items"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 5000
    ids = [c["id"] for c in get(world["admin"], "/ogc/collections").json()["collections"]]
    assert ids == ["townships", "villages", "grids", "mining-areas", "influence-zones", "parcels", "cases"]


def test_without_a_token_a_client_gets_401_and_a_browser_the_login_page(world):
    assert APIClient().get("/ogc/collections/cases/items").status_code == 401
    page = Client().get("/ogc/collections", HTTP_ACCEPT="text/html")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")


def test_items_page_with_limit_offset_and_links(world):
    url = "/ogc/collections/villages/items?limit=2"
    first = get(world["admin"], url)
    assert first["Content-Type"] == "application/geo+json"
    doc = first.json()
    total = Village.objects.count()
    assert doc["type"] == "FeatureCollection" and doc["numberReturned"] == 2 and doc["numberMatched"] == total
    nxt = next(link["href"] for link in doc["links"] if link["rel"] == "next")
    seen = [f["id"] for f in doc["features"]]
    while nxt:
        doc = get(world["admin"], nxt.replace("http://testserver", "")).json()
        seen += [f["id"] for f in doc["features"]]
        nxt = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
    assert sorted(seen) == sorted(Village.objects.values_list("code", flat=True))  # every village once
    assert doc["numberReturned"] == total % 2 or 2


def test_bbox_property_filters_and_datetime(world):
    admin = world["admin"]
    boxed = get(admin, "/ogc/collections/cases/items?bbox=111.0,39.5,111.1,39.6").json()
    assert {f["id"] for f in boxed["features"]} == set(world["refs"][:2])
    by_village = get(admin, f"/ogc/collections/cases/items?village_code={BULA}").json()
    assert [f["id"] for f in by_village["features"]] == [world["refs"][2]]
    assert get(admin, "/ogc/collections/cases/items?datetime=2001-01-01/2001-12-31").json()["features"] == []
    assert len(get(admin, "/ogc/collections/cases/items?datetime=2001-01-01/..").json()["features"]) == 3
    # A village redrawn: the old version is the one in force before the change.
    VillageFactory(
        code="150622999201",
        name="旧村",
        geom=box(110.2, 39.3, 110.3, 39.4),
        valid_from="2019-01-01",
        valid_to="2020-12-31",
    )
    old = get(admin, "/ogc/collections/villages/items?datetime=2020-06-01&code=150622999201").json()
    now = get(admin, "/ogc/collections/villages/items?code=150622999201").json()
    assert [f["id"] for f in old["features"]] == ["150622999201"] and now["features"] == []


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("foo=1", "foo"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=10,10,5,5", "bbox"),
        ("bbox-crs=EPSG:4326", "bbox-crs"),
        ("datetime=yesterday", "datetime"),
        ("datetime=2026-02-01/2026-01-01", "datetime"),
        ("f=xml", "f"),
        ("holder_name=王建国", "holder_name"),  # not a queryable: holders are never in bulk
    ],
)
def test_bad_parameters_are_400_naming_them(world, query, parameter):
    answer = get(world["admin"], f"/ogc/collections/parcels/items?{query}")
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "InvalidParameterValue" and answer.json()["parameter"] == parameter


def test_unknown_collection_and_item_are_404(world):
    assert get(world["admin"], "/ogc/collections/nope").status_code == 404
    assert get(world["admin"], "/ogc/collections/cases/items/ZGE-2099-000001").status_code == 404


def test_the_cases_collection_answers_as_the_json_api_for_every_role(world):
    """Same scope, same masking: the OGC page and the API list hold the same features for each role."""
    users = {
        "admin": world["admin"],
        "planner": StaffFactory(role="planner").user,
        "village_officer": StaffFactory(role="village_officer", scope_code=SHUANG).user,
        "other_village": StaffFactory(role="village_officer", scope_code="150622004201").user,
        "field_staff": StaffFactory(role="field_staff", scope_code=SHUANG).user,
    }
    for role, user in users.items():
        ogc = get(user, "/ogc/collections/cases/items?limit=100").json()
        api = get(user, "/api/cases/?page_size=100").json()
        assert _features(ogc) == _features(api), role
    planner = json.dumps(get(users["planner"], "/ogc/collections/cases/items?limit=100").json(), ensure_ascii=False)
    assert "MARKTEXT" not in planner and "111.007123" not in planner  # no text, no exact point
    assert world["refs"][0] in planner
    officer = get(users["village_officer"], "/ogc/collections/cases/items").json()
    assert {f["id"] for f in officer["features"]} == set(world["refs"][:2])
    assert get(users["other_village"], "/ogc/collections/cases/items").json()["features"] == []
    assert get(users["other_village"], f"/ogc/collections/cases/items/{world['refs'][0]}").status_code == 404


def _features(doc: dict) -> list:
    return [(f["id"], f["geometry"], f["properties"]) for f in doc["features"]]


def test_the_accused_side_gets_nothing_of_an_accusation(world):
    api = APIClient()
    api.force_authenticate(world["admin"])
    body = intake_body(
        kind="accusation",
        channel="letter",
        description="检举MARKVC 村委会",
        lon=110.8071,
        lat=39.6051,
        accused_unit=f"VC-{BULA}",
    )
    accusation = api.post("/api/cases/", body, format="json").json()["reference"]
    officer = StaffFactory(role="village_officer", scope_code=BULA).user
    text = get(officer, "/ogc/collections/cases/items?limit=100").content.decode()
    assert accusation not in text and "MARKVC" not in text
    assert get(officer, f"/ogc/collections/cases/items/{accusation}").status_code == 404
    assert accusation in get(world["admin"], "/ogc/collections/cases/items?limit=100").content.decode()


def test_parcels_never_carry_holders_and_contract_numbers_only_for_handlers(world):
    from .factories import ParcelFactory

    ParcelFactory(
        code=f"{SHUANG}JD00001", holder_name="王建国", contract_no="HT-2019-001", geom=box(111.0, 39.5, 111.001, 39.501)
    )
    admin = get(world["admin"], "/ogc/collections/parcels/items").content.decode()
    planner = get(StaffFactory(role="planner").user, "/ogc/collections/parcels/items").content.decode()
    assert "王建国" not in admin and "王建国" not in planner
    assert "HT-2019-001" in admin and "HT-2019-001" not in planner


def test_html_pages_are_chinese_and_escape_what_they_show(world):
    page = Client()
    page.force_login(world["admin"])
    for url in (
        "/ogc/",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/villages",
        "/ogc/collections/cases/items?limit=5",
        f"/ogc/collections/cases/items/{world['refs'][0]}",
    ):
        answer = page.get(url, HTTP_ACCEPT="text/html,application/xhtml+xml")
        assert answer.status_code == 200 and answer["Content-Type"].startswith("text/html"), url
        assert '<html lang="zh-hans">' in answer.content.decode(), url
    listed = page.get("/ogc/collections/cases/items?f=html").content.decode()
    assert "草场被占" in listed or "MARKTEXT" in listed  # the handler's summary shown, escaped by the template


# -- GDAL's OAPIF driver against a live server -------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="gdal-bin is installed by bin/system-deps")
def test_gdal_reads_the_villages_and_the_cases_as_the_token_allows(live_server, transactional_db, tmp_path):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    UnitFactory(code="BD-petitions", name="旗信访局", kind="banner_department")
    admin = StaffFactory(role="banner_admin").user
    api = APIClient()
    api.force_authenticate(admin)
    for n in range(12):  # more than GDAL's page of 10: the next link is followed
        body = intake_body(description=f"MARKTEXT{n} 草场", lon=EXACT[0] + n / 10000, lat=EXACT[1])
        assert api.post("/api/cases/", body, format="json").status_code == 201
    planner = StaffFactory(role="planner").user

    def ogr2ogr(user, layer: str) -> dict:
        _token, secret = issue(user, "gdal")
        out = tmp_path / f"{user.username}-{layer}.json"
        env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Token {secret}"}
        done = subprocess.run(
            ["ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{live_server.url}/ogc", layer],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(out.read_text())

    villages = ogr2ogr(admin, "villages")
    assert sorted(f["properties"]["code"] for f in villages["features"]) == sorted(
        Village.objects.values_list("code", flat=True)
    )
    cases = ogr2ogr(admin, "cases")
    assert len(cases["features"]) == Case.objects.count() == 12
    assert any("MARKTEXT" in (f["properties"].get("summary") or "") for f in cases["features"])
    masked = ogr2ogr(planner, "cases")
    assert len(masked["features"]) == 12
    assert not any("MARKTEXT" in json.dumps(f, ensure_ascii=False) for f in masked["features"])
    assert all(on_coarse_grid(*f["geometry"]["coordinates"]) for f in masked["features"])
    nobody = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{live_server.url}/ogc", "cases"],
        env={k: v for k, v in os.environ.items() if k != "GDAL_HTTP_HEADERS"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert nobody.returncode != 0  # no token, no data


HOSTILE = ["'", "\x00", "<script>", "1e309", "-1", "9" * 40, "..", "/", "a" * 5000, "\u202e"]


@pytest.mark.parametrize("collection_id", ["villages", "parcels", "cases"])
def test_hostile_values_of_every_parameter_never_answer_500(world, collection_id):
    admin = world["admin"]
    names = ["limit", "offset", "bbox", "bbox-crs", "datetime", "f", "code", "category", "village_code", "status"]
    for name in names:
        for value in HOSTILE:
            answer = get(admin, f"/ogc/collections/{collection_id}/items?{urlencode({name: value})}")
            assert answer.status_code in (200, 400), (name, value, answer.status_code)
    for feature in ("'", "<x>", "%00", "a" * 500):
        assert get(admin, f"/ogc/collections/{collection_id}/items/{feature}").status_code in (400, 404)
