"""The planner's emerging hot-spot layer in headless Chromium against the live test server.

Story: a planner turns on 新兴热点 (off by default, nothing asked for until then), sees the hexagons
coloured by category and a legend naming the categories in Chinese, on a 390 px phone; switches the
step to 年 and is told in Chinese that two years are too few time steps.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from .scene import build_cases, build_scene
from .test_analysis_maps_browser import show_layer, wait_planner
from .test_maps_browser import assert_clean, open_map, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def world(transactional_db):
    """The shared scene, its spread cases moved back over the 14 months before the clump's (2025-01 …
    2026-02), so months give ~21 steps and years only 2."""
    from geo_disputes.models import Case

    scene = build_scene()
    cases = build_cases(scene)
    for k, case in enumerate(cases.spread):
        when = timezone.make_aware(dt.datetime(2025 + (k % 14) // 12, (k % 14) % 12 + 1, 15, 9))
        Case.objects.filter(pk=case.pk).update(received_at=when)
    return scene, cases


def test_the_planner_turns_on_emerging_hot_spots_and_reads_the_legend(page, live_server, world):
    _, cases = world
    page.set_viewport_size({"width": 390, "height": 844})
    open_map(page, live_server, "/maps/planner/")
    wait_planner(page, markers=len(cases.all))
    assert page.evaluate("() => !GeoDisputesMaps.current.map.hasLayer(GeoDisputesMaps.current.groups.emerging)")
    assert page.locator(".gd-emerging-legend").count() == 0
    # Leaflet's own control titles in the page's language, not "Zoom in" / "Zoom out" / "Layers".
    assert page.get_attribute(".leaflet-control-zoom-in", "title") == "放大"
    assert page.get_attribute(".leaflet-control-zoom-out", "title") == "缩小"
    assert page.get_attribute(".leaflet-control-layers-toggle", "title") == "图层"
    assert not [url for url in page.traffic.requests if "/api/emerging-hotspots/" in url]

    show_layer(page, "emerging")
    page.wait_for_function(
        "() => GeoDisputesMaps.current.layers.emerging.count() > 0 && !GeoDisputesMaps.current.layers.emerging.pending"
        " && document.querySelector('.gd-emerging-legend .status').textContent.includes('个时间步')",
        timeout=20_000,
    )
    legend = page.locator(".gd-emerging-legend")
    # On the phone the category rows start folded: the title, the step and the status stay in view, inside
    # the map, under its top controls, and the step select takes a tap (nothing lies over it).
    rows = legend.locator(".rows")
    assert not rows.is_visible()
    assert_legends_inside_the_map(page)
    step = legend.locator("select")
    assert step.is_visible()
    step.click(trial=True)  # Playwright's hit test: the select itself receives the tap
    assert "个时间步" in legend.locator(".status").inner_text()
    legend.get_by_role("button", name="新兴热点（时空趋势）").click()
    assert rows.is_visible()
    text = legend.inner_text()
    for label in ("新兴热点（时空趋势）", "新热点", "增强热点", "减弱热点", "持续冷点", "无明显模式", "个时间步"):
        assert label in text, label
    # Open, with the rate legend under it, it still stays inside the map and scrolls inside itself.
    assert_legends_inside_the_map(page)
    assert step.is_visible()
    step.click(trial=True)
    scrolls = (
        "() => { const r = document.querySelector('.gd-emerging-legend'); return r.scrollHeight > r.clientHeight; }"
    )
    assert page.evaluate(scrolls)
    box = legend.bounding_box()
    width = page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (box, width)
    requests = [url for url in page.traffic.requests if "/api/emerging-hotspots/" in url]
    assert len(requests) == 1 and "step=month" in requests[0]
    categories = page.evaluate(
        "() => GeoDisputesMaps.current.layers.emerging.geojson.getLayers().map(l => l.feature.properties.category)"
    )
    # The clump's 36 cases all fall in the last months (2026-03 …): a run of hot steps at the end.
    assert len(categories) >= 30 and "no_pattern" in categories and "consecutive_hot" in categories
    fills = page.evaluate(
        "() => GeoDisputesMaps.current.layers.emerging.geojson.getLayers()"
        ".filter(l => l.feature.properties.category === 'consecutive_hot').map(l => l.options.fillColor)"
    )
    assert set(fills) == {"#ff6d00"}
    screenshot(page, "planner-emerging")
    # A hexagon's popup: its category, trend and one row per step, built as text (no HTML from the API).
    popup = page.evaluate(
        """() => { const ctx = GeoDisputesMaps.current;
                   const hex = ctx.layers.emerging.geojson.getLayers()
                     .find(l => l.feature.properties.category === 'consecutive_hot');
                   hex.openPopup(); const node = hex.getPopup().getElement();
                   return {text: node.innerText, rows: node.querySelectorAll('table.steps tr').length}; }"""
    )
    assert popup["text"].startswith("连续热点") and "趋势 z" in popup["text"], popup
    assert popup["rows"] == 1 + len(page.evaluate("() => GeoDisputesMaps.current.layers.emerging.meta.steps"))

    legend.locator("select").select_option("year")
    page.wait_for_function("() => document.querySelector('.gd-emerging-legend .status.problem')", timeout=20_000)
    status = legend.locator(".status").inner_text()
    # The Chinese half of the service's reason only: no English half, no field name ("step："); 年 → advise 月.
    assert status.startswith("时间步不足，未做新兴热点分析：请改用更短的步长（如“月”）"), status
    assert "新兴热点分析至少需要 10 个时间步" in status, status
    assert "step" not in status and "emerging hot-spot" not in status and " / " not in status, status
    assert page.evaluate("() => GeoDisputesMaps.current.layers.emerging.count()") == 0

    # The browser's own network log of a 4xx answer (not the page's script): handled, but logged by Chromium.
    refused = "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    assert page.traffic.errors == [refused]
    page.traffic.errors.clear()

    # Refused with 月 already chosen (a short time range): no advice to switch to 月.
    page.route("**/api/emerging-hotspots/**", refuse_steps)
    legend.locator("select").select_option("month")
    page.wait_for_function(
        "() => document.querySelector('.gd-emerging-legend .status.problem')"
        " && document.querySelector('.gd-emerging-legend select').value === 'month'"
        " && !document.querySelector('.gd-emerging-legend .status').textContent.includes('年')",
        timeout=20_000,
    )
    status = legend.locator(".status").inner_text()
    assert status.startswith("时间步不足，未做新兴热点分析：请放宽时间范围。"), status
    assert "月" not in status.split("。")[0] and "只有 7 个" in status, status
    page.unroute("**/api/emerging-hotspots/**")
    page.traffic.errors.clear()
    page.evaluate("() => GeoDisputesMaps.current.map.removeLayer(GeoDisputesMaps.current.groups.emerging)")
    assert page.locator(".gd-emerging-legend").count() == 0
    assert_clean(page)


STEP_REFUSAL = (
    "新兴热点分析至少需要 10 个时间步,只有 7 个"
    " / emerging hot-spot analysis needs at least 10 time steps (month), found 7"
)


def refuse_steps(route):
    """The service's answer for too few time steps, as the API sends it (the field `step`, bilingual)."""
    route.fulfill(status=422, content_type="application/json", json={"step": [STEP_REFUSAL]})


def assert_legends_inside_the_map(page) -> None:
    """Every shown legend lies inside the map's box and below its top controls (zoom, layers button)."""
    boxes = page.evaluate(
        """() => { const map = GeoDisputesMaps.current.map.getContainer();
                   const box = (n) => { const r = n.getBoundingClientRect();
                                        return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
                   return {map: box(map),
                           tops: [...map.querySelectorAll('.leaflet-top .leaflet-control')].map(box),
                           legends: [...map.querySelectorAll('.gd-legend')].filter(n => n.offsetParent).map(box)}; }"""
    )
    outer = boxes["map"]
    assert boxes["legends"]
    for legend in boxes["legends"]:
        assert outer["top"] <= legend["top"] and legend["bottom"] <= outer["bottom"] + 0.5, (legend, outer)
        assert outer["left"] <= legend["left"] and legend["right"] <= outer["right"] + 0.5, (legend, outer)
        for control in boxes["tops"]:
            beside = control["right"] <= legend["left"] or legend["right"] <= control["left"]
            assert beside or control["bottom"] <= legend["top"], (control, legend)


def test_the_emerging_layer_speaks_english_when_it_is_chosen(page, live_server, world):
    page.goto(f"{live_server.url}/maps/field/", wait_until="load")
    with page.expect_navigation(wait_until="load"):
        page.click("footer.site button[value=en]")
    open_map(page, live_server, "/maps/planner/")
    overlays = page.locator(".leaflet-control-layers-overlays").inner_text()
    assert "Emerging hot spots (space-time trends)" in overlays
    show_layer(page, "emerging")
    page.wait_for_function(
        "() => GeoDisputesMaps.current.layers.emerging.count() > 0 && !GeoDisputesMaps.current.layers.emerging.pending",
        timeout=20_000,
    )
    toggle = page.locator(".gd-emerging-legend button.toggle")
    if toggle.get_attribute("aria-expanded") == "false":  # folded at first on a narrow screen
        toggle.click()
    text = page.locator(".gd-emerging-legend").inner_text()
    for label in ("Time step", "Month", "New hot spot", "Intensifying cold spot", "No pattern detected", "cases"):
        assert label in text, label
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    # A refusal in English only: the English half of the service's reason, no field name.
    page.route("**/api/emerging-hotspots/**", refuse_steps)
    page.locator(".gd-emerging-legend select").select_option("quarter")
    page.wait_for_function("() => document.querySelector('.gd-emerging-legend .status.problem')", timeout=20_000)
    status = page.locator(".gd-emerging-legend .status").inner_text()
    assert "emerging hot-spot analysis needs at least 10 time steps (month), found 7" in status, status
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in status) and "step:" not in status, status
    # Leaflet's own control titles in English too (and in Chinese on the Chinese page: the other test).
    assert page.get_attribute(".leaflet-control-zoom-in", "title") == "Zoom in"
