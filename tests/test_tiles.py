"""Vector tiles (issue 16 item 2): Mapbox Vector Tiles built by PostGIS, decoded here with a standard decoder
(mapbox-vector-tile), with the API's scope and masking, and the caching rule (areas: ETag; cases: never stored)."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
from rest_framework.test import APIClient

from geo_disputes.models import Banner

from .factories import ParcelFactory, StaffFactory, UnitFactory, box, intake_body, on_coarse_grid, seed_places

SHUANG, BULA = "150622106202", "150622101206"
EXACT = (111.0071234, 39.5071234)  # in 双敖包村's grid -001 (seed_places)
ACCUSED_AT = (110.8071234, 39.6051234)  # in 不拉村


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def lonlat(z: int, x: int, y: int, px: float, py: float, extent: int = 4096) -> tuple[float, float]:
    """A decoded point (tile units, y up as the decoder gives it) back to WGS84."""
    n = 2**z
    lon = (x + px / extent) / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 1 - py / extent) / n))))
    return lon, lat


@pytest.fixture
def world(db):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    UnitFactory(code="BD-petitions", name="旗信访局", kind="banner_department")
    ParcelFactory(
        code=f"{SHUANG}JD00001",
        holder_name="王建国",
        contract_no="HT-2019-001",
        geom=box(111.005, 39.505, 111.01, 39.51),
    )
    admin = StaffFactory(role="banner_admin").user
    api = APIClient()
    api.force_authenticate(admin)
    mine = api.post("/api/cases/", intake_body(description="MARKTEXT 草场", lon=EXACT[0], lat=EXACT[1]), format="json")
    accusation = api.post(
        "/api/cases/",
        intake_body(
            kind="accusation",
            channel="letter",
            description="检举MARKVC",
            lon=ACCUSED_AT[0],
            lat=ACCUSED_AT[1],
            accused_unit=f"VC-{BULA}",
        ),
        format="json",
    )
    return {"admin": admin, "case": mine.json()["reference"], "accusation": accusation.json()["reference"]}


def fetch(user, layer: str, lon: float, lat: float, z: int, **headers):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    x, y = tile_of(lon, lat, z)
    return client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf", **headers), (z, x, y)


def decode(response) -> dict:
    assert response.status_code == 200, (response.status_code, response.content[:200])
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(response.content)


def test_a_village_tile_decodes_with_its_villages_and_their_codes(world):
    answer, _ = fetch(world["admin"], "villages", *EXACT, 10)
    layers = decode(answer)
    codes = {f["properties"]["code"] for f in layers["villages"]["features"]}
    assert SHUANG in codes
    assert {"code", "name", "township_code"} <= set(layers["villages"]["features"][0]["properties"])


def test_parcel_tiles_never_carry_holders_and_contract_numbers_only_for_handlers(world):
    admin = decode(fetch(world["admin"], "parcels", 111.007, 39.507, 14)[0])["parcels"]["features"]
    planner = decode(fetch(StaffFactory(role="planner").user, "parcels", 111.007, 39.507, 14)[0])["parcels"]["features"]
    assert [f["properties"]["code"] for f in admin] == [f"{SHUANG}JD00001"]
    assert admin[0]["properties"]["contract_no"] == "HT-2019-001" and "contract_no" not in planner[0]["properties"]
    assert all("holder_name" not in f["properties"] for f in admin + planner)
    assert fetch(world["admin"], "parcels", 111.007, 39.507, 8)[0].status_code == 204  # below the layer's zoom


def test_case_tiles_show_the_exact_point_to_handlers_and_the_coarse_one_to_planners(world):
    z = 16
    answer, (z, x, y) = fetch(world["admin"], "cases", *EXACT, z)
    [feature] = decode(answer)["cases"]["features"]
    assert feature["properties"] == {
        "reference": world["case"],
        "category": "land_occupation",
        "status": feature["properties"]["status"],
        "tier": feature["properties"]["tier"],
    }  # codes only: no text
    exact = lonlat(z, x, y, *feature["geometry"]["coordinates"])
    assert abs(exact[0] - EXACT[0]) < 2e-5 and abs(exact[1] - EXACT[1]) < 2e-5
    planner = StaffFactory(role="planner").user
    found = []
    for dx in (-1, 0, 1):  # the coarse point may fall in a neighbouring tile
        for dy in (-1, 0, 1):
            client = APIClient()
            client.force_authenticate(planner)
            response = client.get(f"/tiles/cases/{z}/{x + dx}/{y + dy}.pbf")
            if response.status_code == 200:
                for f in mapbox_vector_tile.decode(response.content)["cases"]["features"]:
                    found.append(lonlat(z, x + dx, y + dy, *f["geometry"]["coordinates"]))
    points = {(round(lon, 5), round(lat, 5)) for lon, lat in found}  # a point in a tile's buffer is in two tiles
    assert len(points) == 1
    [(lon, lat)] = points
    assert abs(lon - EXACT[0]) > 1e-4 or abs(lat - EXACT[1]) > 1e-4  # not the exact point
    assert on_coarse_grid(*found[0]) or any(on_coarse_grid(*p) for p in found)


def test_a_case_tile_holds_only_the_readers_scope_and_never_an_accusation_for_the_accused(world):
    officer = StaffFactory(role="village_officer", scope_code=SHUANG).user
    assert [
        f["properties"]["reference"] for f in decode(fetch(officer, "cases", *EXACT, 12)[0])["cases"]["features"]
    ] == [world["case"]]
    accused = StaffFactory(role="village_officer", scope_code=BULA).user
    assert fetch(accused, "cases", *ACCUSED_AT, 12)[0].status_code == 204
    grid_worker = StaffFactory(role="grid_worker", scope_code=f"{BULA}-001").user
    assert fetch(grid_worker, "cases", *ACCUSED_AT, 12)[0].status_code == 204
    refs = [
        f["properties"]["reference"]
        for f in decode(fetch(world["admin"], "cases", *ACCUSED_AT, 12)[0])["cases"]["features"]
    ]
    assert world["accusation"] in refs  # the control: the tile would carry it


def test_area_tiles_revalidate_and_case_tiles_are_never_stored(world):
    first, (z, x, y) = fetch(world["admin"], "villages", *EXACT, 10)
    assert first["Cache-Control"] == "private, max-age=300" and first["ETag"]
    again, _ = fetch(world["admin"], "villages", *EXACT, 10, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    cases, _ = fetch(world["admin"], "cases", *EXACT, 12)
    assert cases["Cache-Control"] == "private, no-store" and not cases.has_header("ETag")


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/tiles/villages/23/0/0.pbf", 400),
        ("/tiles/villages/3/8/0.pbf", 400),
        ("/tiles/villages/3/0/9.pbf", 400),
        ("/tiles/rivers/3/0/0.pbf", 404),
        ("/tiles/villages/-1/0/0.pbf", 404),
    ],
)
def test_bad_tile_addresses_are_refused(world, url, status):
    client = APIClient()
    client.force_authenticate(world["admin"])
    assert client.get(url).status_code == status


def test_no_token_no_tile(world):
    assert fetch(None, "villages", *EXACT, 10)[0].status_code == 401
