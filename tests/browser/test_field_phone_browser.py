"""The field page on a 390×844 phone, as a grid worker in 双敖包村 uses it.

Story: she opens the map and finds her own grid, not the whole banner; she taps a spot with no
parcel and the answer slides up over the map with her grid outlined; she presses "我的位置" and
the phone's GPS finds the parcel she stands on; the legend stays folded until she opens it.
"""

from __future__ import annotations

import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.factories import GridFactory, StaffFactory, UserFactory, box

from .conftest import LOCAL_HOSTS, session_cookie
from .scene import TARGET, build_scene
from .test_maps_browser import click_map_at

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
OWN_GRID = (111.095, 39.595, 111.110, 39.610)  # holds TARGET and its parcel


@pytest.fixture
def worker(transactional_db):
    """A grid worker whose scope is a small grid of 双敖包村."""
    scene = build_scene()
    scene.grid.geom = box(111.0, 39.5, 111.05, 39.55)  # the scene's grid gives way to hers
    scene.grid.save()
    user = UserFactory(username="grid-worker-li")
    GridFactory(
        code="150622106202-002", name="双敖包二网格", village_code="150622106202", geom=box(*OWN_GRID), worker_user=user
    )
    StaffFactory(user=user, role="grid_worker", scope_code="150622106202-002")
    return user


@pytest.fixture
def phone(browser, live_server, client, worker):
    """A phone page for the grid worker, with a GPS fix at TARGET granted; outside requests aborted."""
    urllib.request.urlopen(f"{live_server.url}/accounts/login/", timeout=30).close()
    context = browser.new_context(
        viewport=PHONE,
        locale="zh-CN",
        geolocation={"longitude": TARGET[0], "latitude": TARGET[1], "accuracy": 8},
        permissions=["geolocation"],
        is_mobile=True,
        has_touch=True,
    )
    context.add_cookies([session_cookie(live_server, client, worker)])
    outside: list[str] = []

    def route(request_route) -> None:
        url = request_route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOCAL_HOSTS:
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/maps/field/", wait_until="load")
    page.wait_for_function("() => window.GeoDisputesMaps && GeoDisputesMaps.current && GeoDisputesMaps.field")
    yield page
    assert outside == [] and errors == []
    context.close()


def in_viewport(page, selector: str) -> bool:
    """Whether the element is on screen now, without the user scrolling."""
    return page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return r.height > 0 && r.top >= 0 && r.top < window.innerHeight && window.scrollY === 0; }""",
        selector,
    )


def test_the_map_opens_on_the_worker_s_own_grid(phone):
    bounds = phone.evaluate(
        "() => { const b = GeoDisputesMaps.current.map.getBounds();"
        " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"
    )
    west, south, east, north = bounds
    assert west <= OWN_GRID[0] and south <= OWN_GRID[1] and east >= OWN_GRID[2] and north >= OWN_GRID[3]
    assert east - west < 0.1  # the grid fills the screen: not the banner's 1.4 degrees
    assert phone.evaluate("() => GeoDisputesMaps.current.map.getZoom()") >= 13
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_tap_without_a_parcel_answers_on_screen_and_outlines_the_grid(phone):
    click_map_at(phone, 111.108, 39.597)  # in her grid, on no parcel
    result = phone.locator("#lookup-result")
    result.get_by_text("此处无登记地块").wait_for()
    assert in_viewport(phone, "#lookup-result h2"), "the answer must show without scrolling past the forms"
    assert "双敖包二网格" in result.inner_text() and "虚线为所在网格" in result.inner_text()
    phone.wait_for_function("() => GeoDisputesMaps.field.outlined && GeoDisputesMaps.field.outlined.layer === 'grids'")
    assert phone.evaluate("() => GeoDisputesMaps.field.outlined.code") == "150622106202-002"
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    phone.get_by_role("button", name="收起").click()
    assert result.is_hidden()


def test_my_location_looks_up_the_gps_position(phone):
    phone.get_by_role("button", name="◎ 我的位置").click()
    result = phone.locator("#lookup-result")
    result.get_by_text("地块 150622106202JD00001").wait_for()
    assert "GPS 约 8 米" in result.inner_text()
    assert in_viewport(phone, "#lookup-result h2")


def test_the_legend_is_folded_on_a_phone_and_opens_on_a_tap(phone):
    legend = phone.locator(".gd-legend")
    assert legend.evaluate("(d) => d.open") is False
    share = phone.evaluate(
        """() => { const l = document.querySelector('.gd-legend').getBoundingClientRect();
        const m = GeoDisputesMaps.current.map.getContainer().getBoundingClientRect();
        return (l.width * l.height) / (m.width * m.height); }"""
    )
    assert share <= 0.15, share
    phone.locator(".gd-legend summary").click()
    assert legend.evaluate("(d) => d.open") is True
    assert "地类：草地" in legend.inner_text()


def test_a_holder_search_answers_in_the_sheet_without_scrolling(page_for, live_server, transactional_db):
    from django.contrib.auth.models import User

    from .scene import build_cases

    build_cases(build_scene())
    officer = StaffFactory(role="village_officer", scope_code="150622106202").user
    admin = User.objects.create_superuser("holder-searcher", password=None)
    for user, found in ((admin, 3), (officer, 1)):  # the officer's village holds one of his three parcels
        page = page_for(user, PHONE)
        page.goto(f"{live_server.url}/maps/field/", wait_until="load")
        page.wait_for_function("() => window.GeoDisputesMaps && GeoDisputesMaps.field")
        page.fill("#id_holder", "王建国")
        page.click("#lookup-holder button[type=submit]")
        results = page.locator("#holder-results")
        results.get_by_text(f"找到 {found} 块").wait_for()
        if found > 1:  # a list to choose from, on screen in the sheet; one parcel is looked up at once
            first = results.locator("button").first
            box = first.bounding_box()
            assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box
            first.click()
        page.locator("#lookup-result").get_by_text("地块 150622106202JD00001").wait_for()
        top = page.evaluate("() => document.querySelector('#lookup-result h2').getBoundingClientRect().top")
        assert 0 <= top < PHONE["height"], top
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
