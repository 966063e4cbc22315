"""Offline capture (issue 17 part 1): the area pack a grid worker keeps on the phone, the service worker
and the manifest that make the field page and the intake form open with no network.

Story: 李 is the grid worker of 双敖包村's grid -001. Her phone keeps her village's outline, grids and
parcels — codes and land use, never a holder's name — and asks again each time she is online; an
unchanged pack costs a 304. She never gets the neighbouring village, whatever she asks for.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from geo_disputes.models import Parcel
from geo_disputes.services.areas.offline_pack import PackRefused, build_pack, pack_villages
from tests.browser.scene import build_scene
from tests.factories import ParcelFactory, StaffFactory, box

pytestmark = pytest.mark.django_db

PACK = "/api/offline-pack/"


@pytest.fixture
def scene():
    return build_scene()


def _client(role: str, scope: str = "") -> APIClient:
    client = APIClient()
    client.force_authenticate(StaffFactory(role=role, scope_code=scope).user)
    return client


def _pack(response) -> dict:
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def test_a_grid_worker_gets_her_own_village_without_holders(scene):
    pack = _pack(_client("grid_worker", "150622106202-001").get(PACK))
    assert [f["id"] for f in pack["villages"]["features"]] == ["150622106202"]
    assert [f["id"] for f in pack["grids"]["features"]] == ["150622106202-001"]
    parcels = {f["id"]: f["properties"] for f in pack["parcels"]["features"]}
    assert set(parcels) == {"150622106202JD00001"}  # not the neighbour's pit or zone parcels
    assert parcels["150622106202JD00001"]["land_use"] == "grassland"
    assert parcels["150622106202JD00001"]["land_use_label"] == "草地"
    text = json.dumps(pack, ensure_ascii=False)
    for personal in ("王建国", "王某", "李某某", "13800000001", "contract", "holder", "worker"):
        assert personal not in text, personal


def test_coordinates_are_rounded_to_five_decimals(scene):
    ParcelFactory(code="150622106202JD00009", geom=box(111.1234567, 39.6012345, 111.1240001, 39.6019999))
    pack = _pack(_client("village_officer", "150622106202").get(PACK))
    ring = next(f for f in pack["parcels"]["features"] if f["id"] == "150622106202JD00009")["geometry"]["coordinates"]
    lons = {point[0] for point in ring[0][0]}
    assert lons == {111.12346, 111.124}


def test_a_township_officer_gets_the_township_s_villages_and_may_name_one(scene):
    client = _client("township_officer", "150622106")
    pack = _pack(client.get(PACK))
    assert [f["id"] for f in pack["villages"]["features"]] == ["150622106202", "150622106203"]
    assert len(pack["parcels"]["features"]) == 3
    one = _pack(client.get(PACK, {"village": "150622106203"}))
    assert [f["id"] for f in one["villages"]["features"]] == ["150622106203"]


def test_nobody_gets_a_village_outside_their_scope(scene):
    response = _client("grid_worker", "150622106202-001").get(PACK, {"village": "150622106203"})
    assert response.status_code == 400 and "village" in response.json()
    assert _client("village_officer", "150622106203").get(PACK, {"village": "150622106202"}).status_code == 400


def test_a_banner_wide_role_names_one_village(scene):
    client = _client("field_staff")
    assert client.get(PACK).status_code == 400
    assert [f["id"] for f in _pack(client.get(PACK, {"village": "150622106203"}))["villages"]["features"]] == [
        "150622106203"
    ]
    assert client.get(PACK, {"village": "999999999999"}).status_code == 400
    assert client.get(PACK, {"village": "1\x002"}).status_code == 400


def test_an_unchanged_pack_is_a_304_and_a_change_a_new_etag(scene):
    client = _client("grid_worker", "150622106202-001")
    first = client.get(PACK)
    etag = first["ETag"]
    assert first["Cache-Control"] == "private, no-cache" and "Cookie" in first["Vary"]
    again = client.get(PACK, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert client.get(PACK, HTTP_IF_NONE_MATCH=f'W/{etag}, "other"').status_code == 304
    Parcel.objects.filter(code="150622106202JD00001").update(land_use=Parcel.LandUse.CULTIVATED)
    changed = client.get(PACK, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_the_pack_needs_a_login(scene):
    assert APIClient().get(PACK).status_code in (401, 403)


def test_the_service_refuses_a_user_without_a_profile(scene, django_user_model):
    user = django_user_model.objects.create(username="no-profile")
    with pytest.raises(PackRefused):
        pack_villages(user)


def test_the_pack_is_one_statement(scene, django_assert_num_queries):
    with django_assert_num_queries(1):
        pack = build_pack(("150622106202",), land_use_labels={})
    assert json.loads(pack.body)["format"] == 1 and pack.etag.startswith('"')
    # The township by name too: the offline answer names it, as the online one does (not a bare code).
    [village] = json.loads(pack.body)["villages"]["features"]
    assert village["properties"]["township_code"] == "150622106" and village["properties"]["township_name"]


def test_the_service_worker_covers_the_whole_site_and_is_always_revalidated(client: Client):
    response = Client().get("/sw.js")  # public: it holds no data, only the shell's file names
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    text = response.content.decode()
    config = json.loads(text.split("var CONFIG = ", 1)[1].split(";\n", 1)[0])
    assert config["pages"] == ["/maps/field/", "/cases/new/", "/jsi18n/"]
    assert "/static/js/offline.js" in config["shell"] and "/static/maps/js/field.js" in config["shell"]
    assert config["hashed"] is False  # the tests' plain names: network first, never a stale kept script
    assert "://" not in text  # vendored: no outside address


def test_the_service_worker_answers_under_make_runs_hashed_static_names(settings, tmp_path):
    """`make run` serves static files by content-hashed names from a manifest; /sw.js was a 500 there (it asked
    the storage for the name of "", which no manifest has), so no phone ever installed the worker."""
    from geo_disputes.views.offline import SHELL_STATIC

    paths = {name: _hashed(name) for name in SHELL_STATIC}
    (tmp_path / "staticfiles.json").write_text(json.dumps({"paths": paths, "version": "1.1", "hash": "x"}))
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "geo_disputes.static_storage.StaticStorage"}}
    response = Client().get("/sw.js")
    assert response.status_code == 200, response.content[:300]
    config = json.loads(response.content.decode().split("var CONFIG = ", 1)[1].split(";\n", 1)[0])
    assert config["hashed"] is True and config["static"] == "/static/"
    assert "/static/js/offline.0123456789ab.js" in config["shell"]
    assert config["fallback"] == "/offline/"


def _hashed(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.0123456789ab{dot}{ext}"


def test_a_page_that_cannot_open_offline_is_answered_by_the_kept_chinese_page(scene, client: Client):
    client.force_login(StaffFactory(role="grid_worker", scope_code="150622106202-001").user)
    html = client.get("/offline/").content.decode()
    assert "没有网络" in html and 'href="/maps/field/"' in html and 'href="/cases/new/"' in html
    text = Client().get("/sw.js").content.decode()
    assert 'request.mode === "navigate"' in text and "CONFIG.fallback" in text


def test_the_manifest_opens_the_field_page(client: Client):
    response = Client().get("/manifest.webmanifest")
    assert response.status_code == 200 and response["Content-Type"] == "application/manifest+json"
    body = json.loads(response.content)
    assert body["start_url"] == "/maps/field/" and body["scope"] == "/" and body["display"] == "standalone"
    assert body["name"] and all(not icon["src"].startswith("http") for icon in body["icons"])


def test_the_field_page_and_the_intake_form_carry_the_offline_parts(scene, client: Client):
    user = StaffFactory(role="grid_worker", scope_code="150622106202-001").user
    client.force_login(user)
    for url in ("/maps/field/", "/cases/new/"):
        html = client.get(url).content.decode()
        assert 'rel="manifest" href="/manifest.webmanifest"' in html, url
        assert 'id="offline"' in html and f'data-user="{user.username}"' in html and "js/offline.js" in html, url
        assert 'data-pack="/api/offline-pack/"' in html and 'id="outbox"' in html, url
