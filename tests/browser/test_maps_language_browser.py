"""The map pages in complete Chinese (issue 14): the planner's panel with its analyses open, the court map with a
mine's detail, the field page with an answer, and the case page's small map — no interface English."""

from __future__ import annotations

import re

import pytest

from .scene import build_cases, build_scene
from .test_analysis_maps_browser import show_layer, wait_planner
from .test_language_phone_browser import ALLOWED
from .test_maps_browser import open_map

pytestmark = pytest.mark.browser
# Names of methods and statistics a planner reads as names (as "GeoJSON" or "Leaflet"), and map attributions.
MAP_ALLOWED = ALLOWED | {"DBSCAN", "Gi", "Moran", "I", "Getis", "Ord", "FDR", "Marshall", "OpenStreetMap", "OSM"}
# k nearest neighbours, p and z values (the statistics' letters), A4/A3 paper, HT-… contract numbers (codes)
MAP_ALLOWED |= {"k", "p", "z", "PDF", "A", "HT"}


@pytest.fixture
def world(transactional_db):
    scene = build_scene()
    return scene, build_cases(scene)


def english(page) -> set[str]:
    text = page.evaluate("() => document.body.innerText")
    return {w for w in re.findall(r"[A-Za-z]+", text) if w not in MAP_ALLOWED}


def test_planner_court_and_field_pages_show_no_interface_english(page, live_server, world):
    scene, cases = world
    open_map(page, live_server, "/maps/planner/")
    wait_planner(page, markers=len(cases.all))
    for key in ("clusters", "hotspots", "heat"):
        show_layer(page, key)
    page.wait_for_function("() => GeoDisputesMaps.current.layers.clusters.count() > 0", timeout=15_000)
    page.wait_for_function("() => !GeoDisputesMaps.current.layers.hotspots.pending", timeout=15_000)
    assert english(page) == set(), "planner"
    open_map(page, live_server, "/maps/court/")
    assert english(page) == set(), "court"
    open_map(page, live_server, "/maps/field/?code=150622106202JD00001")
    page.locator("#lookup-result").get_by_text("地块 150622106202JD00001").wait_for()
    assert english(page) == set(), "field"
    page.goto(f"{live_server.url}/cases/{cases.all[0].reference}/", wait_until="load")
    page.wait_for_function("() => document.querySelector('#case-map .leaflet-pane')")
    assert english(page) == set(), "case page"


def test_the_map_pages_speak_english_when_it_is_chosen(page, live_server, world):
    scene, cases = world
    page.goto(f"{live_server.url}/maps/field/", wait_until="load")
    with page.expect_navigation(wait_until="load"):
        page.click("footer.site button[value=en]")
    assert page.evaluate("() => document.documentElement.lang") == "en"
    open_map(page, live_server, "/maps/field/?code=150622106202JD00001")
    page.locator("#lookup-result").get_by_text("Parcel 150622106202JD00001").wait_for()
    assert "Field lookup" in page.inner_text("main h1") and "Land use" in page.inner_text("#lookup-result")
    open_map(page, live_server, "/maps/planner/")
    wait_planner(page, markers=len(cases.all))
    show_layer(page, "clusters")
    page.wait_for_function("() => GeoDisputesMaps.current.layers.clusters.count() > 0", timeout=15_000)
    panel = page.inner_text(".map-panel")
    assert "Planning analysis" in panel and "Parameters" in panel and "In view:" in panel
    assert "Legend" in page.inner_text(".gd-legend:not(.gd-rate-legend) summary")
    rates = page.locator(".gd-rate-legend")  # folds like the page legend (folded at first on a phone)
    if not rates.evaluate("node => node.open"):
        rates.locator("summary").click()
    assert "Cases per 100 households" in rates.inner_text() and "No household data" in rates.inner_text()
    assert page.get_attribute(".leaflet-control-layers-toggle", "title") == "Layers"
    open_map(page, live_server, "/maps/court/")
    assert "Mining court" in page.inner_text("main h1")
