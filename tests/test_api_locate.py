"""The "where is this?" API and the area layers, as a client program uses them."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from geo_disputes.models import Banner
from geo_disputes.services.areas.coords import wgs84_to_gcj02
from geo_disputes.services.ops import tokens

from .factories import GridFactory, MiningAreaFactory, ParcelFactory, TownshipFactory, VillageFactory, box

pytestmark = pytest.mark.django_db


@pytest.fixture
def areas():
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(111.0, 39.5, 111.4, 39.9))
    TownshipFactory(code="150622106", name="魏家峁镇", geom=box(111.0, 39.5, 111.4, 39.9))
    VillageFactory(code="150622106202", name="双敖包村", township_code="150622106", geom=box(111.0, 39.5, 111.4, 39.9))
    GridFactory(
        code="150622106202-001", village_code="150622106202", worker_name="李某某", geom=box(111.0, 39.5, 111.4, 39.9)
    )
    MiningAreaFactory(code="KQ-03", name="魏家峁露天煤矿", geom=box(111.25, 39.72, 111.27, 39.74))
    for i in range(30):
        x = 111.0 + i * 0.01
        ParcelFactory(
            code=f"150622106202JD{i:05d}",
            holder_name="王建国",
            land_use="grassland",
            geom=box(x, 39.55, x + 0.005, 39.555),
        )


def test_anonymous_is_refused(api_client, areas):
    assert api_client.get("/api/locate/", {"lon": 111.0025, "lat": 39.5525}).status_code in (401, 403)
    assert api_client.get("/api/layers/villages/").status_code in (401, 403)


def test_token_authentication(areas, django_user_model):
    user = django_user_model.objects.create_user("field1", password="pw-for-tests-only")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {tokens.issue(user)[1]}")
    assert client.get("/api/locate/", {"lon": 111.0025, "lat": 39.5525}).status_code == 200


def test_locate_answers_every_level(staff_client, areas):
    body = staff_client.get("/api/locate/", {"lon": 111.0025, "lat": 39.5525, "datum": "wgs84"}).json()
    assert body["point"] == {"lon": 111.0025, "lat": 39.5525}
    assert body["township"] == {"code": "150622106", "name": "魏家峁镇"}
    assert body["village"] == {"code": "150622106202", "name": "双敖包村"}
    assert body["grid"]["code"] == "150622106202-001" and body["grid"]["worker"]["name"] == "李某某"
    assert body["mining_areas"] == []
    [parcel] = body["parcels"]
    assert parcel["code"] == "150622106202JD00000"
    assert parcel["land_use"] == "grassland"
    assert 345 < parcel["area_mu"] < 370  # 0.005° x 0.005° here ≈ 428 m x 556 m
    assert parcel["holder"] == "王某"  # a role-less user sees the masked holder only


def test_locate_in_the_pit_and_from_a_phone(staff_client, areas):
    body = staff_client.get("/api/locate/", {"lon": 111.26, "lat": 39.73}).json()
    assert [(m["name"], m["relation"]) for m in body["mining_areas"]] == [("魏家峁露天煤矿", "inside")]
    lon, lat = wgs84_to_gcj02(111.0025, 39.5525)
    phone = staff_client.get("/api/locate/", {"lon": lon, "lat": lat, "datum": "gcj02"}).json()
    assert [p["code"] for p in phone["parcels"]] == ["150622106202JD00000"]
    assert abs(phone["point"]["lon"] - 111.0025) < 1e-6


@pytest.mark.parametrize(
    "query,field",
    [
        ({"lat": 39.5}, "lon"),
        ({"lon": "east", "lat": 39.5}, "lon"),
        ({"lon": "nan", "lat": 39.5}, "lon"),
        ({"lon": 111.0, "lat": "inf"}, "lat"),
        ({"lon": 111.0, "lat": 139.5}, "lat"),
        ({"lon": 111.0, "lat": 39.5, "datum": "bd09"}, "datum"),
        ({"lon": 111.0, "lat": 39.5, "on": "yesterday"}, "on"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(staff_client, areas, query, field):
    response = staff_client.get("/api/locate/", query)
    assert response.status_code == 400
    assert field in response.json()


def test_outside_the_banner_is_a_404_with_a_message(staff_client, areas):
    response = staff_client.get("/api/locate/", {"lon": 112.5, "lat": 39.6})
    assert response.status_code == 404
    assert "不在本旗范围内" in response.json()["detail"]


def test_layer_is_a_feature_collection_built_in_postgis(staff_client, areas):
    response = staff_client.get("/api/layers/villages/")
    assert response["Content-Type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["count"] == 1 and "crs" not in body
    [feature] = body["features"]
    assert feature["id"] == "150622106202"
    assert feature["properties"]["name"] == "双敖包村"
    assert feature["geometry"]["type"] == "MultiPolygon"


def test_layer_bbox_and_pagination(staff_client, areas):
    body = staff_client.get("/api/layers/parcels/", {"bbox": "111.0,39.5,111.095,39.6", "page_size": 4}).json()
    assert body["count"] == 10  # the parcels starting at x = 111.00 … 111.09
    assert len(body["features"]) == 4 and body["previous"] is None
    page3 = staff_client.get(body["next"].replace("page=2", "page=3")).json()
    assert [f["id"] for f in page3["features"]] == ["150622106202JD00008", "150622106202JD00009"]
    assert page3["next"] is None
    assert "holder_name" not in page3["features"][0]["properties"]
    assert page3["features"][0]["properties"]["land_use"] == "grassland"


def test_mining_areas_and_zones(staff_client, areas):
    areas_ = staff_client.get("/api/layers/mining-areas/").json()["features"]
    zones = staff_client.get("/api/layers/mining-zones/").json()["features"]
    assert areas_[0]["properties"]["name"] == "魏家峁露天煤矿" and "id" in areas_[0]["properties"]
    assert zones[0]["properties"]["influence_buffer_m"] == 1000
    assert zones[0]["geometry"]["coordinates"] != areas_[0]["geometry"]["coordinates"]


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "111.2,39.5,111.1,39.6", "nan,39,111,40"])
def test_bad_bbox(staff_client, areas, bbox):
    response = staff_client.get("/api/layers/grids/", {"bbox": bbox})
    assert response.status_code == 400 and "bbox" in response.json()


def test_unknown_layer(staff_client):
    assert staff_client.get("/api/layers/roads/").status_code == 404
