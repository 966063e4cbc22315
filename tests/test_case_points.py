"""/api/case-points/: the planner map's cases as compact rows, or counts per grid cell.

Story: a village officer opens the planner's map and gets her village's cases and no one else's; a
planner gets positions, categories and statuses but nothing personal; the filters of /api/cases/
narrow the points the same way; zoomed out over more cases than the point limit, the banner comes as
counts per cell that add up to every case in view; a mistyped box is refused naming the field.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from geo_disputes.services.cases.case_points import POINT_FIELDS, cell_size, view_zoom

from .browser.scene import build_cases, build_scene
from .factories import PartyFactory, as_role, metres_apart, on_coarse_grid

pytestmark = pytest.mark.django_db

BANNER = "110.5,39.0,111.8,40.2"


@pytest.fixture
def scene():
    return build_scene()


@pytest.fixture
def cases(scene):
    return build_cases(scene)


def points(client: APIClient, **query) -> dict:
    response = client.get("/api/case-points/", {"bbox": BANNER, **query})
    assert response.status_code == 200, response.content
    return response.json()


def refs(body: dict) -> set[str]:
    assert body["mode"] == "points"
    i = body["fields"].index("reference")
    return {row[i] for row in body["points"]}


def listed(client: APIClient, **query) -> set[str]:
    """The references /api/cases/ gives for the same query: the scope and filters points must match."""
    body = client.get("/api/cases/", {"bbox": BANNER, "page_size": 5000, **query}).json()
    return {f["id"] for f in body["features"]}


def test_a_village_officer_gets_only_her_village_s_cases(scene, cases):
    officer = as_role("village_officer", scene.neighbour.code)
    body = points(officer)
    own = {c.reference for c in cases.all if c.village_code == scene.neighbour.code}
    assert 0 < len(own) < len(cases.all)
    assert refs(body) == own == listed(officer) and body["count"] == len(own)


def test_a_row_is_reference_position_category_and_status_and_nothing_personal(scene, cases):
    target = cases.clump[3]
    PartyFactory(case=target, name="王建国", phone="13912345678", id_number="150622197001010011")
    planner = as_role("planner")
    body = points(planner)
    assert body["fields"] == POINT_FIELDS == ["reference", "lon", "lat", "category", "status"]
    assert body["count"] == len(cases.all) == len(body["points"])
    row = next(r for r in body["points"] if r[0] == target.reference)
    # A planner's point is coarse (access.coarse_point); the banner admin's is exact.
    assert on_coarse_grid(row[1], row[2]) and metres_apart((row[1], row[2]), target.location.coords) < 360
    exact = next(r for r in points(as_role("banner_admin"))["points"] if r[0] == target.reference)
    assert exact[1:3] == pytest.approx([target.location.x, target.location.y], abs=1e-6)
    assert body["categories"][row[3]] == target.category and body["statuses"][row[4]] == target.status
    text = planner.get("/api/case-points/", {"bbox": BANNER}).content.decode()
    for personal in ("王建国", "13912345678", "150622197001010011", target.description):
        assert personal not in text


def test_the_filters_of_the_case_list_narrow_the_points_the_same_way(scene, cases):
    admin = as_role("banner_admin")
    for query in (
        {"category": "mining_subsidence"},
        {"status": "open"},
        {"status": "reported", "category": "land_occupation"},
        {"township": "150622106", "since": "2026-03-20"},
        {"village": scene.village.code},
        {"mining": "1"},
        {"bbox": "111.10,39.60,111.11,39.61"},
    ):
        assert refs(points(admin, **query)) == listed(admin, **query), query
    assert refs(points(admin, category="mining_subsidence")) == {c.reference for c in cases.pit}
    assert points(admin, category="family") == {**points(admin, category="family"), "count": 0, "points": []}


def test_over_the_point_limit_cells_count_every_visible_case_in_the_box(scene, cases):
    for client, expected in (
        (as_role("planner"), len(cases.all)),
        (
            as_role("village_officer", scene.neighbour.code),
            sum(c.village_code == scene.neighbour.code for c in cases.all),
        ),
    ):
        for zoom in (8, 11, 14):
            body = points(client, zoom=zoom, max_points=5)
            assert body["mode"] == "cells" and body["fields"] == ["lon", "lat", "count", "category"]
            assert sum(row[2] for row in body["points"]) == body["count"] == expected
        fine = points(client, zoom=14, max_points=5)["points"]
        coarse = points(client, zoom=8, max_points=5)["points"]
        assert len(coarse) < len(fine)  # cells grow as the map zooms out
    # The clump (36 land-occupation cases within ~400 m) is one cell at zoom 11, its top category theirs
    # (for the banner admin, on exact points: a planner's coarse points may straddle a cell edge).
    body = points(as_role("banner_admin"), zoom=11, max_points=5)
    top = max(body["points"], key=lambda row: row[2])
    assert top[2] >= 36 and body["categories"][top[3]] == "land_occupation"
    box = "111.0,39.5,111.2,39.7"
    in_box = listed(as_role("planner"), bbox=box)
    assert sum(row[2] for row in points(as_role("planner"), bbox=box, max_points=3)["points"]) == len(in_box)


def test_without_a_zoom_the_cell_follows_the_width_of_the_box():
    assert view_zoom((110.0, 39.0, 112.0, 40.0)) == pytest.approx(9.5, abs=0.1)
    assert view_zoom(None) == 9.0
    # A cell is meant to be 48 screen pixels square on the web map (EPSG:3857 tiles of 256 px, 2^zoom across the
    # world). Measured with pyproj, not with our formula: project the cell's corners and divide by the metres a
    # pixel spans at that zoom.
    from pyproj import Transformer

    to_web = Transformer.from_crs(4326, 3857, always_xy=True)
    for zoom, lat in ((10, 39.8), (13, 39.3), (8, 40.2)):
        dx, dy = cell_size(zoom, lat)
        metres_per_px = 2 * 3.141592653589793 * 6378137 / (256 * 2**zoom)
        x0, y0 = to_web.transform(111.0, lat - dy / 2)
        x1, y1 = to_web.transform(111.0 + dx, lat + dy / 2)
        assert (x1 - x0) / metres_per_px == pytest.approx(48, abs=1e-6)
        assert (y1 - y0) / metres_per_px == pytest.approx(48, rel=0.01)  # square on screen, at the cell's latitude


def test_a_bad_box_zoom_or_limit_is_refused_naming_the_field(scene):
    admin = as_role("banner_admin")
    for query, field in (
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "111,40,110,39"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"zoom": "x"}, "zoom"),
        ({"zoom": "40"}, "zoom"),
        ({"max_points": "0"}, "max_points"),
        ({"category": "nope"}, "category"),
        ({"since": "2026-13-01"}, "since"),
    ):
        response = admin.get("/api/case-points/", query)
        assert response.status_code == 400 and field in response.json(), (query, response.content)


def test_anonymous_is_refused_and_a_role_that_sees_nothing_gets_no_point(scene, cases):
    assert APIClient().get("/api/case-points/").status_code in (401, 403)
    nobody = as_role("village_officer", "")  # a village officer without a village sees no case
    body = points(nobody)
    assert body["count"] == 0 and body["points"] == []
    assert points(nobody, max_points=1)["points"] == []


def test_field_staff_get_coarse_points_and_cells_as_planners_do(scene, cases):
    """Issue 12 item 6: no exact point leaves the server for field staff, in either mode."""
    field = as_role("field_staff")
    exact = {(round(c.location.x, 6), round(c.location.y, 6)) for c in cases.all}
    rows = points(field)["points"]
    assert rows and all(on_coarse_grid(r[1], r[2]) for r in rows)
    cells = points(field, zoom=16, max_points=5)["points"]  # small cells: many hold a single case
    assert cells and not {(r[0], r[1]) for r in cells} & exact
