"""The mining court's map at a desk (1440×900), as a court clerk preparing a hearing uses it.

Story: she opens the map and sees the open cases, closed ones only when she asks; an open case is
on top of a closed one at the same spot; the pit's centre and its influence zone both open the
mine; the legend shows whole; she prints the hearing map; she opens a case and comes Back to the
same zoom.
"""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point

from geo_disputes.models.cases import Category, MiningRelation, Tier
from tests.factories import CaseFactory

from .scene import build_scene
from .test_maps_browser import assert_clean, click_map_at, open_map, view, wait_count

pytestmark = pytest.mark.browser

DESK = {"width": 1440, "height": 900}
SPOT = (111.266, 39.735)  # inside the pit, away from its centre


@pytest.fixture
def court(transactional_db):
    """The scene's pit with an open and a closed case at the same spot and one at the pit's centre."""
    scene = build_scene()

    def case(status: str, lon: float, lat: float):
        return CaseFactory(
            status=status,
            category=Category.MINING_SUBSIDENCE,
            tier=Tier.MINING_COURT,
            mining_area_code=scene.mine.code,
            mining_relation=MiningRelation.INSIDE,
            location=Point(lon, lat, srid=4326),
        )

    opened = case("in_handling", *SPOT)
    closed = case("closed", *SPOT)  # registered later: without the rule it would be drawn on top
    centre = case("reported", 111.27, 39.73)
    return scene, opened, closed, centre


def test_open_cases_by_default_and_the_open_one_on_top(page_for, live_server, court, django_user_model):
    _, opened, closed, centre = court
    page = page_for(django_user_model.objects.create_superuser("clerk"), DESK)
    open_map(page, live_server, "/maps/court/")
    wait_count(page, "cases", 2)  # the two open ones
    assert page.locator("#id_status").input_value() == "open"
    page.select_option("#id_status", "done")
    page.click("#court-filters button[type=submit]")
    wait_count(page, "cases", 1)
    page.select_option("#id_status", "all")
    page.click("#court-filters button[type=submit]")
    wait_count(page, "cases", 3)
    view(page, *SPOT, 16)
    click_map_at(page, *SPOT)
    popup = page.locator(".leaflet-popup-content").last  # a closing popup fades out
    popup.wait_for()
    assert opened.reference in popup.inner_text() and closed.reference not in popup.inner_text()
    assert popup.locator("a").first.get_attribute("href") == f"/cases/{opened.reference}/"
    assert_clean(page)


def test_the_mine_s_centre_and_its_zone_open_the_mine(page_for, live_server, court, django_user_model):
    scene, _, _, centre = court
    page = page_for(django_user_model.objects.create_superuser("clerk"), DESK)
    open_map(page, live_server, "/maps/court/")
    wait_count(page, "cases", 2)
    page.locator(".gd-mine-centre").click()
    popup = page.locator(".leaflet-popup-content").last  # a closing popup fades out
    popup.wait_for()
    assert "哈尔乌素露天煤矿" in popup.inner_text() and "经营主体" in popup.inner_text()
    assert centre.reference not in popup.inner_text()
    page.locator("#mine-detail h2").get_by_text("哈尔乌素露天煤矿").wait_for()
    page.keyboard.press("Escape")
    page.evaluate("() => GeoDisputesMaps.current.map.closePopup()")
    page.evaluate("() => { document.querySelector('#mine-detail').hidden = true; }")

    click_map_at(page, 111.2855, 39.7445)  # in the influence zone, outside the pit
    popup.wait_for()
    assert "哈尔乌素露天煤矿" in popup.inner_text() and "经营主体" in popup.inner_text()
    assert page.locator("#mine-detail").is_visible()

    # The hearing map of the mine just chosen.
    link = page.locator("#hearing-print")
    assert link.inner_text().startswith("打印庭审用图")
    href = link.get_attribute("href")
    assert href == "/maps/court/print/?mining_area=KQ-01"
    response = page.request.get(f"{live_server.url}{href}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert_clean(page)


def test_the_legend_shows_whole_without_scrolling(page_for, live_server, court, django_user_model):
    page = page_for(django_user_model.objects.create_superuser("clerk"), DESK)
    open_map(page, live_server, "/maps/court/")
    legend = page.locator(".gd-legend")
    assert legend.evaluate("(d) => d.open") is True
    assert legend.evaluate("(d) => d.scrollHeight <= d.clientHeight + 1")
    fits = page.evaluate(
        """() => { const l = document.querySelector('.gd-legend').getBoundingClientRect();
        const m = GeoDisputesMaps.current.map.getContainer().getBoundingClientRect();
        return l.top >= m.top && l.bottom <= m.bottom && l.height < m.height / 2; }"""
    )
    assert fits
    for label in ("矿区", "矿区影响区", "地类：草地"):
        assert label in legend.inner_text()


def test_back_from_a_case_returns_to_the_same_view(page_for, live_server, court, django_user_model):
    _, opened, _, _ = court
    page = page_for(django_user_model.objects.create_superuser("clerk"), DESK)
    open_map(page, live_server, "/maps/court/")
    wait_count(page, "cases", 2)
    view(page, *SPOT, 13)
    page.wait_for_function("() => location.hash.startsWith('#map=13/')")
    click_map_at(page, *SPOT)
    page.locator(".leaflet-popup-content a").first.click()
    page.wait_for_url(f"**/cases/{opened.reference}/")
    page.go_back()
    page.wait_for_function("() => window.GeoDisputesMaps && GeoDisputesMaps.current")
    assert page.evaluate("() => GeoDisputesMaps.current.map.getZoom()") == 13
    centre = page.evaluate("() => GeoDisputesMaps.current.map.getCenter()")
    assert abs(centre["lng"] - SPOT[0]) < 1e-3 and abs(centre["lat"] - SPOT[1]) < 1e-3
