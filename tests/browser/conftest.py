"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against the live test server.

No browser download: Playwright launches the system Chromium by `executable_path`. Every
request a page makes is recorded; any that would leave this machine is aborted and reported
by the tests. Playwright's sync API runs an event loop in the test thread, so Django's
async-safety guard would refuse the ORM calls tests make while a page is open; it is lifted
for the browser session only and restored afterwards.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@dataclass
class Traffic:
    """What a page asked for and said: requests, requests that would leave the machine, console errors."""

    requests: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        # A missing browser fails the run (`make test` installs it, so CI must have it): a skip would let every
        # browser test "pass" unseen. GD_ALLOW_NO_BROWSER=1 skips them instead, for a machine without one.
        message = f"no Chromium at {CHROMIUM} (Debian package `chromium`; `make test` installs it)"
        if os.environ.get("GD_ALLOW_NO_BROWSER") == "1":
            pytest.skip(message)
        pytest.fail(message + "; set GD_ALLOW_NO_BROWSER=1 to skip the browser tests instead", pytrace=False)
    from playwright.sync_api import sync_playwright

    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture(autouse=True)
def _requests_drained(request, django_db_blocker) -> Iterator[None]:
    """After a browser test, wait for the live server's requests still running before the database is flushed.

    Closing a page does not stop a request the server is answering (a map's points at the last zoom, say); the
    flush's TRUNCATE then takes its locks in another order than that query and one of them dies of a deadlock —
    the flush failed so in CI (stop 25), leaving the test's rows for the next test. Set up after
    `transactional_db`, so torn down before its flush and after the page fixtures close their contexts.
    """
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    import time

    from django.db import connection

    busy = (
        "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend' AND state <> 'idle'"
    )
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        deadline = time.monotonic() + 30
        while True:
            cursor.execute(f"SELECT count(*) {busy}")  # noqa: S608 - a constant
            if not cursor.fetchone()[0] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        # Still running after 30 s: cancel it rather than let the flush deadlock with it.
        cursor.execute(f"SELECT pg_cancel_backend(pid) {busy} AND pg_has_role(current_user, usesysid, 'MEMBER')")  # noqa: S608


def session_cookie(live_server, client, user) -> dict:
    """`user`'s session cookie for the live server (set on a fresh browser context)."""
    client.force_login(user)
    host = urlsplit(live_server.url).hostname
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": host, "path": "/"}


@pytest.fixture
def logged_in(live_server, django_user_model, client):
    """A superuser's session cookie for the live server.

    One request first, so the server's cold start (URL conf and its imports) is not counted
    in the first page's load time."""
    urllib.request.urlopen(f"{live_server.url}/accounts/login/", timeout=30).close()
    user = django_user_model.objects.create_superuser("map-tester", password="pw-for-tests-only")
    return session_cookie(live_server, client, user)


def open_page(browser, cookie: dict, viewport: dict | None = None):
    """A new browser context with `cookie`, its traffic recorded on `page.traffic`; returns (context, page)."""
    context = browser.new_context(viewport=viewport or {"width": 412, "height": 860}, locale="zh-CN")
    context.add_cookies([cookie])
    traffic = Traffic()

    def route(request_route) -> None:
        url = request_route.request.url
        traffic.requests.append(url)
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOCAL_HOSTS:
            request_route.continue_()
        else:
            traffic.outside.append(url)
            request_route.abort()

    context.route("**/*", route)
    pw_page = context.new_page()
    pw_page.on("console", lambda msg: msg.type == "error" and traffic.errors.append(msg.text))
    pw_page.on("pageerror", lambda exc: traffic.errors.append(str(exc)))
    pw_page.on("dialog", lambda dialog: (traffic.dialogs.append(dialog.message), dialog.dismiss()))
    pw_page.traffic = traffic
    return context, pw_page


@pytest.fixture
def page(browser, live_server, logged_in) -> Iterator:
    """A phone-sized page, logged in as a superuser, with its traffic recorded on `page.traffic`."""
    context, pw_page = open_page(browser, logged_in)
    yield pw_page
    context.close()


@pytest.fixture
def page_for(browser, live_server, client) -> Iterator:
    """`page_for(user, viewport=None)`: a page logged in as `user` (closed after the test)."""
    contexts = []
    urllib.request.urlopen(f"{live_server.url}/accounts/login/", timeout=30).close()

    def make(user, viewport: dict | None = None):
        context, pw_page = open_page(browser, session_cookie(live_server, client, user), viewport)
        contexts.append(context)
        return pw_page

    yield make
    for context in contexts:
        context.close()
