"""README screenshots from a running site (the demo after `make run`), one per page, in headless Chromium.

    .venv/bin/python -m tests.browser.screenshots --base http://127.0.0.1:8765 \\
        --user screenshot_admin --password-file /path/to/pw [--out docs/screenshots]

Logs in through the login form like a person (or, with `--direct-session`, checks the password
and opens a session in the site's database itself — for a database whose login-throttle table is
not migrated yet), opens each page, waits until its layers have drawn, and writes `<page>.png`.
Any request leaving 127.0.0.1 is aborted and, like a console error, fails the run: a screenshot
of a broken page is not written silently.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .conftest import CHROMIUM, CHROMIUM_ARGS, LOCAL_HOSTS

VIEWPORT = {"width": 1280, "height": 800}
# A demo parcel in the influence zone of 黑岱沟 (KQ-02) with two open cases on it, and a point inside it.
SHOT_PARCEL = "150622003005JD00132"
SHOT_PARCEL_POINT = (111.2065, 39.8363)
LAYERS_READY = (
    "(keys) => keys.every(k => { const l = GeoDisputesMaps.current.layers[k];"
    " return l && !l.pending && (l.loadedOnce || l.drawn.size > 0); })"
)


@dataclass(frozen=True)
class Shot:
    name: str
    path: str
    ready: Callable  # (page) -> None: waits until the page shows what the screenshot is for


def _map_ready(*keys: str) -> Callable:
    def wait(page) -> None:
        page.wait_for_function("() => window.GeoDisputesMaps && GeoDisputesMaps.current")
        page.wait_for_function(LAYERS_READY, arg=list(keys), timeout=60_000)
        page.wait_for_timeout(600)  # let the last canvas frame paint

    return wait


def _field(page) -> None:
    """A parcel looked up by code: its context, holder (per role) and the open cases on and near it."""
    _map_ready("townships", "villages", "mining-areas")(page)
    page.locator("#lookup-result h2").wait_for()
    page.wait_for_function("() => Array.isArray(GeoDisputesMaps.field.nearby)", timeout=30_000)
    page.wait_for_function(LAYERS_READY, arg=["parcels", "grids"], timeout=60_000)
    page.evaluate("() => document.querySelector('#lookup-result').scrollIntoView({block: 'start'})")
    page.wait_for_timeout(800)


def _court(page) -> None:
    """Zoomed to a mine's influence zone, a parcel clicked: holder and cases in the panel."""
    _map_ready("townships", "mining-zones", "mining-areas", "cases")(page)
    lon, lat = SHOT_PARCEL_POINT
    page.evaluate(
        "([lat, lon]) => { GeoDisputesMaps.current.map.setView([lat, lon], 14, {animate: false}); }", [lat, lon]
    )
    page.wait_for_function(LAYERS_READY, arg=["mining-parcels", "cases"], timeout=60_000)
    page.wait_for_function(
        "(code) => GeoDisputesMaps.current.layers['mining-parcels'].drawn.has(code)", arg=SHOT_PARCEL, timeout=30_000
    )
    page.evaluate(
        "(code) => { const l = GeoDisputesMaps.current.layers['mining-parcels'];"
        " l.onFeatureClick(l.drawn.get(code).feature); }",
        SHOT_PARCEL,
    )
    page.locator("#mine-detail .open-cases h3").wait_for(timeout=30_000)
    page.wait_for_timeout(800)


def _planner(page) -> None:
    """Every layer on: rates, hot spots, clusters, markers (the heat map stays off: it hides the rest)."""
    _map_ready("townships", "village-rates")(page)
    for key in ("hotspots", "clusters"):  # both computed on request
        page.evaluate("(k) => { GeoDisputesMaps.current.map.addLayer(GeoDisputesMaps.current.groups[k]); }", key)
    page.wait_for_function(LAYERS_READY, arg=["hotspots", "clusters"], timeout=60_000)
    page.wait_for_function("() => GeoDisputesMaps.planner.cases.loadedAt !== undefined", timeout=60_000)
    page.wait_for_timeout(800)


def _case(page) -> None:
    page.wait_for_function("() => document.querySelector('#case-map .leaflet-interactive')", timeout=30_000)
    page.wait_for_timeout(800)


def _intake(page) -> None:
    page.wait_for_function("() => document.querySelector('#intake-map .leaflet-interactive')", timeout=30_000)
    page.wait_for_timeout(800)


def shots(case_reference: str) -> list[Shot]:
    return [
        Shot("field", f"/maps/field/?code={SHOT_PARCEL}", _field),
        Shot("court", "/maps/court/", _court),
        Shot("planner", "/maps/planner/", _planner),
        Shot("case", f"/cases/{case_reference}/", _case),
        Shot("intake", "/cases/new/", _intake),
    ]


def direct_session(user: str, password: str) -> str:
    """A session key for `user` made as django.contrib.auth.login makes one (password checked first)."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_disputes.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    account = get_user_model().objects.get(username=user)
    if not account.check_password(password):
        raise SystemExit("wrong password")
    session = SessionStore()
    session[SESSION_KEY] = str(account.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = account.get_session_auth_hash()
    session.create()
    return session.session_key


def take(
    base: str,
    user: str,
    password: str,
    out: Path,
    case_reference: str,
    only: list[str] | None = None,
    session_key: str | None = None,
) -> list[str]:
    """Write one PNG per page into `out`; returns the problems seen (empty when all went well)."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")

        def route(request_route) -> None:
            url = request_route.request.url
            if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOCAL_HOSTS:
                request_route.continue_()
            else:
                problems.append(f"outside request: {url}")
                request_route.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        if session_key:
            context.add_cookies([{"name": "sessionid", "value": session_key, "url": base}])
        else:
            page.goto(f"{base}/accounts/login/")
            page.fill("input[name=username]", user)
            page.fill("input[name=password]", password)
            page.click("form [type=submit]")
            page.wait_for_load_state("load")
            if "/accounts/login/" in page.url:
                raise SystemExit("login failed")
        for shot in shots(case_reference):
            if only and shot.name not in only:
                continue
            page.goto(f"{base}{shot.path}", wait_until="load")
            shot.ready(page)
            page.screenshot(path=str(out / f"{shot.name}.png"))
            print(f"{shot.name}: {out / f'{shot.name}.png'}")
        browser.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8765")
    parser.add_argument("--user", default="screenshot_admin")
    parser.add_argument("--password-file", required=True, type=Path)
    parser.add_argument("--out", default="docs/screenshots", type=Path)
    parser.add_argument("--case", default="ZGE-2026-000003", help="reference of the case page to show")
    parser.add_argument("--only", nargs="*", help="page names (field court planner case intake)")
    parser.add_argument("--direct-session", action="store_true", help="open the session in the DB, not by the form")
    args = parser.parse_args(argv)
    password = args.password_file.read_text(encoding="utf-8").strip()
    key = direct_session(args.user, password) if args.direct_session else None
    problems = take(args.base, args.user, password, args.out, args.case, args.only, session_key=key)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
