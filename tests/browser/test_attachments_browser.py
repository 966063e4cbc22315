"""Attachments in a real browser (issue 15).

Story 1 (390×844 phone): a grid worker of 双敖包村 registers a cracked wall. She taps 拍照 (a file input with
`capture`, which opens the phone's camera), the photo's EXIF place is offered and she takes it as the case's
location, and the photo is saved with the registration; the case page shows its thumbnail.

Story 2 (a slow line): a township clerk attaches a 3 MB scan; the line drops during the second chunk; the page
retries, resumes at the server's offset and the file arrives whole (one attachment, byte for byte).
"""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
from urllib.parse import urlsplit

import pytest
from PIL import Image
from PIL.ExifTags import IFD

from geo_disputes.models import Attachment, Case
from geo_disputes.services.cases import attachment_store as store
from tests.factories import StaffFactory, UserFactory

from .conftest import LOCAL_HOSTS, session_cookie
from .scene import build_scene

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PHOTO_AT = (111.1234567, 39.6543210)  # in 双敖包村 and its grid (scene)


def phone_photo() -> bytes:
    image = Image.new("RGB", (1200, 900), (170, 150, 120))
    for x in range(300, 900):  # a crack
        image.putpixel((x, 450 + (x % 37) - 18), (40, 30, 20))
    exif = Image.Exif()
    lon, lat = PHOTO_AT
    exif.get_ifd(IFD.GPSInfo).update({1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon), 18: "WGS-84"})
    exif.get_ifd(IFD.Exif).update({0x9003: "2026:12:01 09:30:00", 0x9011: "+08:00"})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    d = int(value)
    m = int((value - d) * 60)
    return (float(d), float(m), (value - d - m / 60) * 3600)


def _context(browser, live_server, client, user, viewport, **extra):
    urllib.request.urlopen(f"{live_server.url}/accounts/login/", timeout=30).close()
    context = browser.new_context(viewport=viewport, locale="zh-CN", **extra)
    context.add_cookies([session_cookie(live_server, client, user)])
    outside: list[str] = []

    def route(request_route) -> None:
        url = request_route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOCAL_HOSTS:
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    context.route("**/*", route)
    return context, outside


def test_a_grid_worker_photographs_the_damage_and_attaches_it_at_intake(browser, live_server, client, transactional_db):
    build_scene()
    worker = UserFactory(username="grid-worker-zhao")
    StaffFactory(user=worker, role="grid_worker", scope_code="150622106202-001")
    context, outside = _context(browser, live_server, client, worker, PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/cases/new/", wait_until="load")

    camera = page.locator("#id_photo_camera")
    assert camera.get_attribute("capture") == "environment" and "image/" in camera.get_attribute("accept")
    shutter = page.locator("label[for=id_photo_camera]")
    box = shutter.bounding_box()
    assert box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"]  # a thumb-sized button on screen
    data = phone_photo()
    with page.expect_file_chooser() as chooser:  # tapping 拍照 opens the camera's chooser
        shutter.tap()
    chooser.value.set_files(files=[{"name": "IMG_20261201_093000.jpg", "mimeType": "image/jpeg", "buffer": data}])

    offer = page.locator("#photo-place")
    offer.wait_for(state="visible")
    assert "111.123457, 39.654321(WGS84)" in offer.inner_text()
    assert "2026:12:01 09:30:00" in offer.inner_text()
    offer.locator("button").tap()
    assert page.input_value("#id_lon") == "111.1234567" and page.input_value("#id_lat") == "39.6543210"
    assert page.input_value("#id_datum") == "wgs84"
    assert "IMG_20261201_093000.jpg" in page.inner_text("#photo-names")

    page.fill("#id_description", "院墙开裂,怀疑采煤沉陷")
    page.fill("#id_petitioners-0-name", "赵某某")
    page.fill("#id_petitioners-0-phone", "13900001234")
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > 391).slice(0, 8)
        .map(e => e.tagName + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))"""
    )
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], wide
    with page.expect_navigation():
        page.locator("button[type=submit].primary").tap()

    case = Case.objects.get(description="院墙开裂,怀疑采煤沉陷")
    assert page.url.rstrip("/").endswith(case.reference)
    attachment = Attachment.objects.get(case=case)
    assert attachment.added_by == worker and attachment.kind == "site_photo"
    assert store.read_bytes(attachment.sha256) == data  # the photo as the phone took it
    assert abs(case.location.x - PHOTO_AT[0]) < 1e-6 and abs(case.location.y - PHOTO_AT[1]) < 1e-6
    thumb = page.locator("#attachments ~ ul.attachments img").first
    thumb.wait_for()
    thumb.scroll_into_view_if_needed()  # loading="lazy": fetched when it comes into view
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert outside == [] and errors == []
    context.close()


def test_a_large_scan_resumes_after_the_line_drops(browser, live_server, client, transactional_db):
    build_scene()
    clerk = UserFactory(username="township-clerk")
    StaffFactory(user=clerk, role="banner_admin")
    from django.contrib.gis.geos import Point

    from tests.factories import CaseFactory

    case = CaseFactory(location=Point(111.1025, 39.6025, srid=4326), village_code="150622106202")
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    sheet = canvas.Canvas(out)
    sheet.drawString(72, 720, "scan")
    sheet.save()
    data = out.getvalue() + b"\n%" + os.urandom(3 * 1024 * 1024)  # a 3 MB scan: three chunks and a bit
    context, outside = _context(browser, live_server, client, clerk, {"width": 1280, "height": 900})
    dropped: list[str] = []

    def flaky(request_route) -> None:  # the second chunk's first attempt never arrives
        request = request_route.request
        if request.method == "PUT" and "bytes 1048576-" in (request.headers.get("content-range") or "") and not dropped:
            dropped.append(request.headers["content-range"])
            request_route.abort("connectionreset")
        else:
            request_route.fallback()

    context.route("**/uploads/**", flaky)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/cases/{case.reference}/", wait_until="load")
    page.select_option("#id_attach_kind", "agreement")
    page.set_input_files(
        "#id_attach_file", files=[{"name": "协议扫描.pdf", "mimeType": "application/pdf", "buffer": data}]
    )
    with page.expect_navigation(timeout=60_000):
        page.click("#attach-form button[type=submit]")
    assert dropped, "the test's dropped chunk never happened"
    rows = list(Attachment.objects.filter(case=case))
    assert len(rows) == 1 and rows[0].sha256 == hashlib.sha256(data).hexdigest() and rows[0].kind == "agreement"
    assert "协议扫描.pdf" in page.inner_text("ul.attachments")
    assert outside == [] and errors == []
    context.close()
