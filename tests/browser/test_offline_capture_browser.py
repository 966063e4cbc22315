"""Offline capture in a real browser (issue 17 part 1), on a 390×844 phone.

Story: 王, grid worker of 双敖包村, opens the field page once with signal: the service worker keeps the
page and the intake form, and her village's outlines, grids and parcels are kept on the phone. On the
hill there is no signal: she reloads the page (it opens), taps a spot (the phone answers: her village, her
grid, the grassland parcel), registers two cases with a photo and a third at a point she typed wrong
(outside the banner). They wait in the outbox. Back in signal they send themselves: the server holds two
new cases — not more, even when a lost answer makes the phone send again — each with its photo once, and
the third comes back refused with the server's reason, still on the phone.
"""

from __future__ import annotations

import urllib.request
from urllib.parse import urlsplit

import pytest

from geo_disputes.models import Attachment, Case
from tests.factories import StaffFactory, UserFactory

from .conftest import LOCAL_HOSTS, session_cookie
from .scene import TARGET, build_scene
from .test_attachments_browser import phone_photo
from .test_maps_browser import click_map_at

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _states(page) -> list[str]:
    return page.eval_on_selector_all("#outbox li", "items => items.map(i => i.dataset.state)")


def _register(page, description: str, lon: float, lat: float, photo: bytes | None) -> None:
    page.fill("#id_lon", str(lon))
    page.fill("#id_lat", str(lat))
    page.select_option("#id_datum", "wgs84")
    page.select_option("#id_category", "land_occupation")
    page.select_option("#id_channel", "grid_agent")
    page.fill("#id_description", description)
    page.fill("#id_petitioners-0-name", "王某某")
    page.fill("#id_petitioners-0-phone", "13900001234")
    if photo is not None:
        page.set_input_files(
            "#id_photo_files", files=[{"name": f"{description}.jpg", "mimeType": "image/jpeg", "buffer": photo}]
        )
    before = len(_states(page))
    page.locator("button[type=submit].primary").tap()
    page.wait_for_function("(n) => document.querySelectorAll('#outbox li').length === n", arg=before + 1)


def test_offline_lookup_and_outbox_sync_exactly_once(browser, live_server, client, transactional_db):
    build_scene()
    worker = UserFactory(username="grid-worker-wang")
    StaffFactory(user=worker, role="grid_worker", scope_code="150622106202-001")
    urllib.request.urlopen(f"{live_server.url}/accounts/login/", timeout=30).close()
    context = browser.new_context(
        viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True, service_workers="allow"
    )
    context.add_cookies([session_cookie(live_server, client, worker)])
    outside: list[str] = []
    errors: list[str] = []
    # Recorded, not routed: a routed context would sit between the service worker and the network.
    context.on(
        "request",
        lambda r: (
            urlsplit(r.url).hostname in LOCAL_HOSTS or r.url.startswith(("data:", "blob:")) or outside.append(r.url)
        ),
    )
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc) + " @ " + page.url + " " + (exc.stack or "")[:300]))

    # Online, once: the worker takes control, the shell and both pages are kept, the village pack too.
    page.goto(f"{live_server.url}/maps/field/", wait_until="load")
    page.wait_for_function("() => window.GDOffline && GDOffline.workerReady && GDOffline.pack")
    page.wait_for_function(
        "() => caches.open('gd-pages').then(c => Promise.all(['/maps/field/', '/cases/new/', '/offline/'].map("
        "u => c.match(u))))"
        ".then(hits => hits.every(Boolean))"
    )
    assert "双敖包村" in page.inner_text("#offline-pack") and "KB" in page.inner_text("#offline-pack")
    page.reload(wait_until="load")  # now under the worker's control: its folium assets are kept as it loads
    page.wait_for_function("() => navigator.serviceWorker.controller && GDOffline.workerReady")
    page.wait_for_timeout(500)

    context.set_offline(True)
    response = page.reload(wait_until="load")
    assert response is not None and response.from_service_worker
    page.wait_for_function(
        "() => window.GeoDisputesMaps && GeoDisputesMaps.field && window.GDOffline && GDOffline.pack"
    )
    assert page.evaluate("() => navigator.onLine") is False
    # The map shows the kept outlines (not a grey square) and says what it shows.
    page.wait_for_function("() => GeoDisputesMaps.field.kept && GeoDisputesMaps.field.kept.getLayers().length === 3")
    assert "本机保存的本村边界" in page.inner_text("#lookup-status")
    # A page that is not kept (the case list, from the menu): the kept Chinese page, not the browser's dino.
    other = context.new_page()
    other.goto(f"{live_server.url}/cases/", wait_until="load")
    assert "没有网络" in other.inner_text("h1") and other.locator("a[href='/maps/field/']").count() >= 1
    other.close()

    click_map_at(page, *TARGET)
    result = page.locator("#lookup-result")
    result.get_by_text("地块 150622106202JD00001（离线）").wait_for()
    text = result.inner_text()
    assert "双敖包村" in text and "双敖包一网格" in text and "草地" in text
    assert "（150622106）" in text and "苏木乡镇\n150622106" not in text  # the township by name
    assert "王建国" not in text  # no holder on the phone
    assert page.evaluate("() => GeoDisputesMaps.field.outlined.code") == "150622106202JD00001"

    with page.expect_navigation():
        result.get_by_role("link", name="在此登记事项").tap()
    assert page.url.startswith(f"{live_server.url}/cases/new/?")
    page.wait_for_function("() => window.GDOffline && GDOffline.ready")
    assert float(page.input_value("#id_lon")) == pytest.approx(TARGET[0], abs=0.002)  # the kept form, from the link

    photo = phone_photo()
    _register(page, "离线登记一:草场被占", TARGET[0], TARGET[1], photo)
    _register(page, "离线登记二:围栏被拆", 111.101, 39.601, photo[:-2] + b"\xff\xd9")
    _register(page, "离线登记三:坐标输错", 100.0, 30.0, None)  # outside the banner
    assert _states(page) == ["waiting", "waiting", "waiting"]
    assert "无网络" in page.inner_text("#outbox")
    assert Case.objects.count() == 0

    context.set_offline(False)  # the `online` event sends the outbox by itself
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#outbox li')).map(i => i.dataset.state).join() === "
        "'synced,synced,refused'",
        timeout=30000,
    )
    assert Case.objects.count() == 2
    first, second = Case.objects.order_by("received_at")
    assert {first.description, second.description} == {"离线登记一:草场被占", "离线登记二:围栏被拆"}
    assert first.village_code == "150622106202" and first.grid_code == "150622106202-001"
    assert first.datum == "wgs84"
    assert Attachment.objects.filter(case=first).count() == 1 and Attachment.objects.filter(case=second).count() == 1
    items = page.locator("#outbox li")
    assert first.reference in items.nth(0).inner_text() or first.reference in items.nth(1).inner_text()
    refused = items.nth(2).inner_text()
    assert "被拒绝" in refused and "lon" in refused  # the server's reason, on the phone

    # A lost answer: the phone still thinks the first is waiting and sends it again, photo and all.
    page.evaluate(
        """() => GDOffline.drafts().then(ds => { const d = ds[0]; d.state = 'waiting'; d.answer = null;
        d.photos.forEach(p => p.sent = false);
        return new Promise(r => { const o = indexedDB.open('gd-offline', 1); o.onsuccess = () => {
          const t = o.result.transaction('outbox', 'readwrite');
          t.objectStore('outbox').put(d); t.oncomplete = r; }; }); })
        .then(() => GDOffline.sync())"""
    )
    assert _states(page)[0] == "synced"
    assert Case.objects.count() == 2  # the Idempotency-Key replayed the first answer
    assert Attachment.objects.count() == 2  # the photo's SHA-256 was already on the case
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    # The ray casting itself: a ring with a hole (a homestead cut out of a grassland), and a multipolygon.
    ring = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]]
    polygon = {"type": "Polygon", "coordinates": [ring, hole]}
    multi = {"type": "MultiPolygon", "coordinates": [[hole], [[[5, 5], [6, 5], [6, 6], [5, 5]]]]}
    inside = "([g, x, y]) => GDOffline.containsPoint(g, x, y)"
    assert page.evaluate(inside, [polygon, 3, 3]) and not page.evaluate(inside, [polygon, 1.5, 1.5])
    assert not page.evaluate(inside, [polygon, 5, 1]) and page.evaluate(inside, [multi, 5.8, 5.5])
    assert page.evaluate(inside, [multi, 1.5, 1.5]) and not page.evaluate(inside, [multi, 5.2, 5.8])

    # She logs out (a shared phone): her kept pages and her village pack go; her drafts stay hers.
    with page.expect_navigation():
        page.evaluate("() => document.querySelector(\"form[action$='/logout/']\").requestSubmit()")
    page.wait_for_function("() => caches.has('gd-pages').then(kept => !kept)")
    kept = page.evaluate(
        """() => new Promise(r => { const o = indexedDB.open('gd-offline', 1); o.onsuccess = () => {
          const t = o.result.transaction(['packs', 'outbox']);
          const packs = t.objectStore('packs').count(), drafts = t.objectStore('outbox').count();
          t.oncomplete = () => r([packs.result, drafts.result]); }; })"""
    )
    assert kept == [0, 3]
    assert outside == [] and errors == []
    context.close()
