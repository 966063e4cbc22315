"""The map pages in headless Chromium: offline, layers drawn from the API, field lookup, escaping.

Story: a grid worker in 双敖包村 reads a position off a phone map (GCJ-02), types it in and
gets the parcel, the village and her own grid; a mining-court clerk opens the pit and sees
who operates it. Nothing leaves the machine, nothing logs an error, no name runs as code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geo_disputes.services.areas.coords import wgs84_to_gcj02

from .scene import TARGET, build_scene

pytestmark = pytest.mark.browser

ATTACK_VILLAGE = "<img src=x onerror=alert('village')>"
ATTACK_PARCEL = "<script>alert('parcel')</script>东梁"
ATTACK_MINE = "<img src=x onerror=alert('mine')>矿"
LOAD_BUDGET_MS = 5000


@pytest.fixture
def scene(transactional_db):
    return build_scene()


def open_map(page, live_server, path: str) -> float:
    """Open a map page; the milliseconds from navigation start to the `load` event."""
    page.goto(f"{live_server.url}{path}", wait_until="load")
    page.wait_for_function("() => window.GeoDisputesMaps && GeoDisputesMaps.current")
    load_ms = page.evaluate("() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd; }")
    shots = os.environ.get("MAP_SCREENSHOT_DIR")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
    return load_ms


def wait_count(page, key: str, n: int) -> None:
    page.wait_for_function(
        "([k, n]) => GeoDisputesMaps.current.layers[k].count() === n && !GeoDisputesMaps.current.layers[k].pending",
        arg=[key, n],
        timeout=10_000,
    )


def counts(page) -> dict[str, int]:
    return page.evaluate(
        "() => Object.fromEntries(Object.entries(GeoDisputesMaps.current.layers).map(([k, l]) => [k, l.count()]))"
    )


def view(page, lon: float, lat: float, zoom: int) -> None:
    """Move the map as a user would end up (no animation, so nothing undoes it)."""
    page.wait_for_function("() => !GeoDisputesMaps.current.map._animatingZoom")
    page.evaluate(
        "([lat, lon, z]) => GeoDisputesMaps.current.map.setView([lat, lon], z, {animate: false})", [lat, lon, zoom]
    )


def click_map_at(page, lon: float, lat: float) -> None:
    """Click the map where the point (lon, lat) is drawn (as a finger or mouse would, at its pixel)."""
    point = page.evaluate(
        "([lat, lon]) => { const m = GeoDisputesMaps.current.map; const p = m.latLngToContainerPoint([lat, lon]);"
        " const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }",
        [lat, lon],
    )
    page.mouse.click(*point)


def screenshot(page, name: str) -> None:
    shots = os.environ.get("MAP_SCREENSHOT_DIR")
    if shots:
        page.screenshot(path=str(Path(shots) / f"{name}.png"))


def report(page, path: str, load_ms: float) -> None:
    """Print the timings (seen with `pytest -s`): `load`, and when the villages were first drawn."""
    villages_ms = page.evaluate("() => GeoDisputesMaps.current.layers.villages.drawnAt")
    print(f"\n{path}: load {load_ms:.0f} ms, villages drawn {villages_ms:.0f} ms after navigation start")


def assert_clean(page) -> None:
    traffic = page.traffic
    assert traffic.outside == [], f"requests leaving 127.0.0.1: {traffic.outside}"
    assert traffic.errors == [], f"console errors: {traffic.errors}"
    assert traffic.dialogs == [], f"dialogs opened: {traffic.dialogs}"
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0


def test_the_field_page_draws_its_layers_from_the_api_and_stays_offline(page, live_server, scene):
    load_ms = open_map(page, live_server, "/maps/field/")
    wait_count(page, "townships", 1)
    wait_count(page, "villages", 2)
    wait_count(page, "mining-areas", 1)
    assert counts(page)["grids"] == 0 and counts(page)["parcels"] == 0  # banner view: too small to draw
    overlays = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert [o.strip() for o in overlays] == [
        "苏木乡镇/街道",
        "嘎查村/社区",
        "网格（12级以上）",
        "矿区",
        "地块（14级以上）",
        "查询结果",
    ]
    for control in (".leaflet-control-scale", ".leaflet-control-zoom-fullscreen", ".gd-legend"):
        assert page.locator(control).count() == 1, control
    assert page.locator(".leaflet-tile").count() == 0  # MAP_BASEMAP=none: our boundaries are the base
    assert page.evaluate(
        "() => [GeoDisputesMaps.current.map.getMinZoom(), GeoDisputesMaps.current.map.getMaxZoom()]"
    ) == [
        7,
        19,
    ]
    view(page, *TARGET, 15)
    wait_count(page, "parcels", 1)
    wait_count(page, "grids", 1)
    assert page.evaluate("() => GeoDisputesMaps.current.layers.parcels.drawn.has('150622106202JD00001')")
    screenshot(page, "field")
    assert_clean(page)
    assert any("/api/layers/parcels/?bbox=" in url for url in page.traffic.requests)
    assert load_ms < LOAD_BUDGET_MS
    report(page, "/maps/field/", load_ms)


def look_up_target_parcel(page, lon: float, lat: float, datum: str):
    """Type a position into the field page's look-up and wait for the answer naming the scene's parcel."""
    page.fill("#id_lon", f"{lon:.6f}")
    page.fill("#id_lat", f"{lat:.6f}")
    page.select_option("#id_datum", datum)
    page.click("#lookup-point button[type=submit]")
    result = page.locator("#lookup-result")
    result.get_by_text("地块 150622106202JD00001").wait_for()
    return result


def test_the_grid_worker_of_the_grid_sees_the_parcel_holder_masked(page_for, live_server, scene):
    """Grid workers see a parcel's holder as surname + 某 (access.parcel_holder), on the field page too."""
    from tests.factories import StaffFactory

    worker = StaffFactory(role="grid_worker", scope_code="150622106202-001").user
    page = page_for(worker, {"width": 390, "height": 844})
    open_map(page, live_server, "/maps/field/")
    text = look_up_target_parcel(page, *TARGET, "wgs84").inner_text()
    assert "王某" in text and "王建国" not in text
    assert "不在矿区及其影响区" in text and "双敖包一网格" in text


def test_a_grid_worker_types_a_phone_coordinate_and_finds_the_parcel(page, live_server, scene):
    open_map(page, live_server, "/maps/field/")
    result = look_up_target_parcel(page, *wgs84_to_gcj02(*TARGET), "gcj02")
    text = result.inner_text()
    for expected in ("双敖包村（150622106202）", "双敖包一网格", "李某某", "13800000001", "东梁草场", "草地", "GCJ-02"):
        assert expected in text, expected
    assert "不在矿区及其影响区" in text  # the point is far from the mine and its zone
    assert "王建国" in text and "王某" not in text  # this page is a superuser's: the holder whole
    href = result.get_by_text("在此登记事项").get_attribute("href")
    assert href.startswith("/cases/new/?") and "datum=wgs84" in href and "lon=111.1025" in href
    page.wait_for_function(
        "() => GeoDisputesMaps.field.outline !== null && GeoDisputesMaps.field.outline !== undefined"
    )

    # The same numbers taken as WGS84 land ~570 m east of the parcel (the answer's sheet put away first).
    page.get_by_role("button", name="收起").click()
    page.select_option("#id_datum", "wgs84")
    page.click("#lookup-point button[type=submit]")
    result.get_by_text("此处无登记地块").wait_for()
    assert "双敖包村" in result.inner_text()
    screenshot(page, "field-lookup")
    assert_clean(page)


def test_a_parcel_code_or_a_tap_shows_the_same_answer(page, live_server, scene):
    open_map(page, live_server, "/maps/field/?code=150622106202JD00001")
    result = page.locator("#lookup-result")
    result.get_by_text("地块 150622106202JD00001").wait_for()  # a shared link answers itself
    assert "双敖包一网格" in result.inner_text()
    page.wait_for_function("() => GeoDisputesMaps.field.outline")

    view(page, 111.102, 39.601, 16)
    point = page.evaluate(
        "() => { const m = GeoDisputesMaps.current.map; const p = m.latLngToContainerPoint([39.6035, 111.1035]);"
        " const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }"
    )
    page.mouse.click(*point)
    page.wait_for_function(
        "() => Math.abs(parseFloat(document.querySelector('#lookup-result dd').textContent) - 111.1035) < 1e-4"
    )
    assert "地块 150622106202JD00001" in result.inner_text()
    assert_clean(page)


def test_the_court_page_shows_mines_zones_and_the_parcels_they_touch(page, live_server, scene):
    load_ms = open_map(page, live_server, "/maps/court/")
    for key, n in (("townships", 1), ("mining-areas", 1), ("mining-zones", 1)):
        wait_count(page, key, n)
    view(page, 111.27, 39.73, 13)
    wait_count(page, "villages", 2)
    wait_count(page, "mining-parcels", 2)
    wait_count(page, "grids", 1)  # 双敖包村's grid reaches 111.25, inside the view
    styles = page.evaluate(
        "() => [...GeoDisputesMaps.current.layers['mining-parcels'].drawn.values()].map(l => l.options.fillColor)"
    )
    assert sorted(styles) == ["#e57373", "#f9d35b"]  # homestead, cultivated
    point = page.evaluate(
        "() => { const m = GeoDisputesMaps.current.map; const p = m.latLngToContainerPoint([39.737, 111.276]);"
        " const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }"
    )
    page.mouse.click(*point)
    detail = page.locator("#mine-detail")
    detail.get_by_text("准能集团").wait_for()
    assert "C1500002009061110022222" in detail.inner_text() and "哈尔乌素露天煤矿" in detail.inner_text()
    screenshot(page, "court")
    assert_clean(page)
    assert load_ms < LOAD_BUDGET_MS
    report(page, "/maps/court/", load_ms)


def test_names_that_look_like_html_show_as_text(page, live_server, scene):
    scene.village.name = ATTACK_VILLAGE
    scene.village.save()
    scene.parcel.name = ATTACK_PARCEL
    scene.parcel.save()
    scene.mine.name = ATTACK_MINE
    scene.mine.save()
    open_map(page, live_server, "/maps/field/?code=150622106202JD00001")
    result = page.locator("#lookup-result")
    result.get_by_text("地块 150622106202JD00001").wait_for()
    assert ATTACK_VILLAGE in result.inner_text() and ATTACK_PARCEL in result.inner_text()
    view(page, *TARGET, 15)
    wait_count(page, "parcels", 1)
    tooltip = page.evaluate(
        "() => { const l = GeoDisputesMaps.current.layers.parcels.drawn.get('150622106202JD00001');"
        " l.openTooltip(); return l.getTooltip().getElement().textContent; }"
    )
    assert tooltip == ATTACK_PARCEL

    page.goto(f"{live_server.url}/maps/court/")
    page.wait_for_function("() => window.GeoDisputesMaps && GeoDisputesMaps.current")
    wait_count(page, "mining-zones", 1)  # the first view follows the zones; then ours
    view(page, 111.27, 39.73, 13)
    wait_count(page, "villages", 2)
    wait_count(page, "mining-areas", 1)
    popup = page.evaluate(
        "() => { const l = GeoDisputesMaps.current.layers.villages.drawn.get('150622106202');"
        " l.openPopup(); return l.getPopup().getElement().textContent; }"
    )
    assert ATTACK_VILLAGE in popup
    page.evaluate("() => GeoDisputesMaps.current.layers['mining-areas'].drawn.get('KQ-01').fire('click')")
    page.locator("#mine-detail h2").wait_for()
    assert page.locator("#mine-detail h2").inner_text() == ATTACK_MINE
    page.wait_for_timeout(200)  # let an onerror handler fire if an <img> had been created
    assert page.evaluate("() => document.querySelectorAll('script:not([src])').length") == 2
    assert_clean(page)
