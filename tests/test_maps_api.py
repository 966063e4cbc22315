"""The two endpoints the map pages add: a parcel by code, and the court's parcels touching mines."""

from __future__ import annotations

import pytest

from geo_disputes.models import PersonalDataAccess

from .browser.scene import build_scene

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
