"""Chinese throughout, English on request, and the working pages on a 390 px phone (issue 14).

A grid worker's day in Chinese must not meet interface English; an English-speaking user switches with
POST /i18n/setlang/ and gets <html lang="en"> and English headings. At 390×844 nothing scrolls sideways,
and a thumb's tap on the intake form's submit button submits the form (it used to land on the datum select).
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from geo_disputes.models import Case, Unit
from tests.factories import CaseFactory

from .scene import TARGET, build_scene

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1440, "height": 900}
# Words that are not interface English: codes, units, formats, datums, the map library's name, and the language
# switch's button for English (a language is named in its own language, as 中文 is on the English pages).
ALLOWED = {"ZGE", "VC", "KQ", "JD", "WGS", "CGCS", "GCJ", "GPS", "CSV", "Excel", "GeoJSON", "Leaflet", "m", "km", "ID"}
# The file formats an attachment may have, as the format names they are (M4A and MP3 split at their digits), and MB.
ALLOWED |= {"JPEG", "PNG", "HEIC", "PDF", "MP", "M", "A", "MB"}
ALLOWED |= {"English", "Word"}  # product names, as Excel: the minutes download as a Word file


@pytest.fixture
def scene(transactional_db):
    return build_scene()


@pytest.fixture
def officer_case(scene, django_user_model):
    admin = django_user_model.objects.create_superuser("zhang", password="pw-for-tests-only")
    unit = Unit.objects.create(code="VC-150622106202", name="双敖包村村委会", kind="village_committee")
    case = CaseFactory(
        unit=unit,
        tier="village",
        township_code="150622106",
        village_code="150622106202",
        description="东梁草场被邻户占用八亩,要求恢复原状。",
        responsible_person="村支书张某",
    )
    return admin, case


def pages(case) -> list[str]:
    return [
        "/cases/new/",
        f"/cases/{case.reference}/",
        "/cases/",
        "/queues/",
        "/agenda/",
        f"/cases/{case.reference}/documents/",
        "/follow-ups/",
        "/leaders/",
        "/visits/",
        "/agenda/minutes/",
    ]


def english_words(text: str, also: set[str]) -> set[str]:
    return {w for w in re.findall(r"[A-Za-z]+", text) if w not in ALLOWED | also}


def test_chinese_pages_show_no_english_interface_words(page_for, live_server, officer_case):
    admin, case = officer_case
    page = page_for(admin, DESK)
    for path in pages(case):
        page.goto(f"{live_server.url}{path}", wait_until="load")
        assert page.evaluate("() => document.documentElement.lang") == "zh-hans", path
        text = page.evaluate("() => document.body.innerText")
        assert english_words(text, {"zhang"}) == set(), path


def test_a_case_registered_and_accepted_reads_in_chinese_with_local_times(page_for, live_server, officer_case):
    """The registrar's own path: Django's form errors, the routing reason and the history all in Chinese."""
    admin, _ = officer_case
    page = page_for(admin, DESK)
    page.goto(f"{live_server.url}/cases/new/", wait_until="load")
    with page.expect_navigation():
        page.click("button[type=submit].primary")  # nothing filled in: Django's own messages, in Chinese
    assert "该字段是必填项。" in page.inner_text("#field-description")
    page.select_option("#id_category", "neighbour")
    page.select_option("#id_channel", "talk_room")
    page.fill("#id_description", "邻户在共用空地养牛,气味大,要求挪走。")
    page.fill("#id_lon", str(TARGET[0]))
    page.fill("#id_lat", str(TARGET[1]))
    with page.expect_navigation():  # straight from the latitude field: its place arrives mid-click
        page.click("button[type=submit].primary")
    created = Case.objects.get(description__startswith="邻户在共用空地养牛")
    page.click("details.action summary:text-is('受理')")
    with page.expect_navigation():
        page.click("details.action[open] button[type=submit]")
    created.refresh_from_db()
    history = page.inner_text("table.history")
    assert "受理时间" in history and "accepted_at" not in history
    assert timezone.localtime(created.accepted_at).strftime("%Y-%m-%d %H:%M") in history
    assert english_words(page.evaluate("() => document.body.innerText"), {"zhang"}) == set()


def test_the_switch_at_the_foot_of_the_login_page_changes_the_language_both_ways(browser, live_server, db):
    context = browser.new_context(viewport=PHONE, locale="en-US")  # a browser announcing English: still Chinese
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/", wait_until="load")
    assert page.evaluate("() => document.documentElement.lang") == "zh-hans"
    with page.expect_navigation(wait_until="load"):
        page.click("footer.site button[value=en]")
    assert page.url.endswith("/accounts/login/")  # back where the user was
    assert page.evaluate("() => document.documentElement.lang") == "en"
    assert not re.search(r"[\u4e00-\u9fff]", page.inner_text("main"))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    with page.expect_navigation(wait_until="load"):
        page.click("footer.site button[value=zh-hans]")
    assert page.evaluate("() => document.documentElement.lang") == "zh-hans"
    context.close()


def test_english_is_chosen_by_posting_to_setlang(page_for, live_server, officer_case):
    admin, case = officer_case
    page = page_for(admin, DESK)
    page.goto(f"{live_server.url}/cases/", wait_until="load")
    token = page.evaluate("() => document.querySelector('input[name=csrfmiddlewaretoken]').value")
    answer = page.request.post(
        f"{live_server.url}/i18n/setlang/",
        form={"language": "en", "next": "/cases/", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{live_server.url}/cases/"},
    )
    assert answer.ok
    headings = {
        "/cases/new/": "Register a case",
        f"/cases/{case.reference}/": "Handling history",
        "/cases/": "Cases",
        "/agenda/": "Joint meeting agenda",
        "/follow-ups/": "Participation rate by unit",
        "/leaders/": "Leaders' cases register",
        "/visits/": "Calendar of leaders' receptions, invitations and visits",
        "/agenda/minutes/": "Minutes of the joint meeting on petitions",
    }
    for path, heading in headings.items():
        page.goto(f"{live_server.url}{path}", wait_until="load")
        assert page.evaluate("() => document.documentElement.lang") == "en", path
        assert heading in page.evaluate("() => document.body.innerText"), path
    page.goto(f"{live_server.url}/cases/", wait_until="load")
    row = page.inner_text("table.cases tbody tr")
    with translation.override("en"):
        assert gettext(case.get_category_display()) in row and gettext(case.get_status_display()) in row
    assert not re.search(r"[\u4e00-\u9fff]", page.inner_text("table.cases thead"))


def test_working_pages_fit_a_phone_and_submit_takes_a_tap(page_for, live_server, officer_case):
    admin, case = officer_case
    page = page_for(admin, PHONE)
    for path in pages(case):
        page.goto(f"{live_server.url}{path}", wait_until="load")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)

    page.goto(f"{live_server.url}/cases/new/", wait_until="load")
    assert page.get_attribute("#id_lon", "inputmode") == "decimal"
    assert page.get_attribute("#id_petitioners-0-phone", "type") == "tel"
    submit = page.locator("button[type=submit].primary")
    box = submit.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300  # a thumb's target, the width of the screen
    page.select_option("#id_category", "land_occupation")
    page.fill("#id_description", "邻户占用草场,要求恢复。")
    page.fill("#id_lon", str(TARGET[0]))
    page.fill("#id_lat", str(TARGET[1]))
    page.fill("#id_petitioners-0-name", "王建国")
    page.fill("#id_petitioners-0-phone", "13800000002")
    submit.scroll_into_view_if_needed()
    box = submit.bounding_box()
    with page.expect_navigation():
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    created = Case.objects.exclude(pk=case.pk).get()
    assert page.url.endswith(f"/cases/{created.reference}/")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


def test_an_intake_without_a_location_is_told_at_the_top_of_the_phone_screen(page_for, live_server, officer_case):
    admin, _case = officer_case
    page = page_for(admin, PHONE)
    page.goto(f"{live_server.url}/cases/new/", wait_until="load")
    page.select_option("#id_category", "land_occupation")
    page.fill("#id_description", "邻户占用草场,要求恢复。")
    page.fill("#id_petitioners-0-name", "王建国")
    submit = page.locator("button[type=submit].primary")
    submit.scroll_into_view_if_needed()
    with page.expect_navigation():
        submit.click()
    summary = page.locator("#error-summary")
    # Focused on load, so the phone shows it (the form's 经度 is ~1500 px further down), in Chinese only.
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    box = summary.bounding_box()
    assert 0 <= box["y"] and box["y"] + min(box["height"], 200) <= PHONE["height"], box
    text = summary.inner_text()
    assert "未能提交" in text and "经度" in text and "请填写位置" in text, text
    assert "location is required" not in page.inner_text("main")
    # Its link takes the user to the field, which shows the same message.
    summary.get_by_role("link", name="经度").click()
    page.wait_for_function("() => location.hash === '#id_lon'")
    lon = page.locator("#id_lon").bounding_box()
    assert 0 <= lon["y"] <= PHONE["height"], lon
    assert "请填写位置" in page.inner_text("#field-lon")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert Case.objects.count() == 1
