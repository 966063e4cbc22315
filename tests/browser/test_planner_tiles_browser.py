"""The planner map's outlines as vector tiles (issue 16 item 2): what the first view asks for, the village
rates joined to the tiles by code, a tile's popup built from text, and the page on a 390 px phone."""

from __future__ import annotations

import pytest

from geo_disputes.models import Village

from .scene import build_cases, build_scene
from .test_maps_browser import assert_clean, open_map

pytestmark = pytest.mark.browser

ATTACK = "<img src=x onerror=alert('村')>双敖包村"
PHONE = {"width": 390, "height": 844}
RATES_ON_TILES = """() => {
  const l = GeoDisputesMaps.current.layers['village-rates'];
  return l.count() === 2 && !l.pending && l.tiles && Object.keys(l.tiles._overriddenStyles).length === 2
    && document.querySelectorAll('.leaflet-tile path').length > 0;
}"""


@pytest.fixture
def world(transactional_db):
    scene = build_scene()
    Village.objects.filter(code=scene.village.code).update(name=ATTACK)
    return scene, build_cases(scene)


def test_the_planner_draws_townships_and_village_rates_from_vector_tiles(page, live_server, world):
    open_map(page, live_server, "/maps/planner/")
    page.wait_for_function(RATES_ON_TILES, timeout=15_000)
    requests = page.traffic.requests
    tiles = [url for url in requests if "/tiles/" in url]
    assert any("/tiles/townships/" in url for url in tiles) and any("/tiles/villages/" in url for url in tiles)
    assert len({url.split("/tiles/")[1].split("/")[1] for url in tiles}) == 1  # one zoom: the home view's
    assert not [url for url in requests if "/api/layers/townships/" in url or "output=geojson" in url]
    assert not [url for url in requests if "jquery" in url.lower()]  # the product's pages leave jQuery out
    # The township choice is listed without the outlines.
    assert page.locator("#planner-filters select[name=township] option[value='150622106']").count() == 1
    # The two villages are coloured by their rates (two classes), not left in the layer's grey.
    fills = page.evaluate(
        "() => [...new Set([...document.querySelectorAll('.leaflet-tile path')].map(p => p.getAttribute('fill')))]"
    )
    assert len([f for f in fills if f and f not in ("none", "#e0e0e0")]) >= 1, fills
    # A village's popup, from its tile feature and its rate row: the name as text, never as markup.
    page.evaluate(
        """() => {
          const l = GeoDisputesMaps.current.layers['village-rates'];
          const map = GeoDisputesMaps.current.map;
          l.tiles.fire('click', { latlng: L.latLng(39.7, 111.1), layer: { properties: { code: '150622106202' } } });
        }"""
    )
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    assert ATTACK in popup.inner_text() and "150622106202" in popup.inner_text()
    assert popup.locator("img").count() == 0
    assert_clean(page)


def test_a_click_on_a_village_tile_opens_its_popup(page, live_server, world):
    open_map(page, live_server, "/maps/planner/")
    page.wait_for_function(RATES_ON_TILES, timeout=15_000)
    # Click only once the village's own tile is drawn under the point and the map has stopped moving: the rates
    # being on *some* tile said nothing about this one (CI once clicked before it was drawn, and no popup came).
    point = page.wait_for_function(
        """() => { const map = GeoDisputesMaps.current.map;
                   if (map._animatingZoom || map._panAnim && map._panAnim._inProgress) return null;
                   const p = map.latLngToContainerPoint([39.7, 111.4]);
                   const r = map.getContainer().getBoundingClientRect();
                   const x = r.left + p.x, y = r.top + p.y;
                   const hit = document.elementFromPoint(x, y);
                   return hit && hit.closest('.leaflet-tile') ? [x, y] : null; }""",
        timeout=15_000,
    ).json_value()
    page.mouse.click(*point)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    assert "哈尔乌素村" in popup.inner_text()
    assert_clean(page)


def test_the_planner_on_a_390_px_phone_fits_and_loads_its_tiles(page_for, live_server, world, django_user_model):
    admin = django_user_model.objects.create_superuser("phone-planner", password="pw-for-tests-only")
    page = page_for(admin, PHONE)
    open_map(page, live_server, "/maps/planner/")
    page.wait_for_function(RATES_ON_TILES, timeout=15_000)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator(".folium-map").bounding_box()
    assert box and box["width"] <= PHONE["width"] and box["height"] > 200
    assert any("/tiles/villages/" in url for url in page.traffic.requests)
    assert_clean(page)
