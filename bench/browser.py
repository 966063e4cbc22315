"""Open a page in headless Chromium (Playwright, Debian's /usr/bin/chromium) and count what it costs.

Bytes are the bodies of every response the page receives on its first view (document, scripts,
styles, data), decoded; "wire bytes" count a static file (and a page given as `html`, a saved folium file
being a static file too) as WhiteNoise sends it, gzip level 9 (`whitenoise.compress`), and every other
response as our server sends it (the app compresses no document, API answer or tile). "Ready" is when both
the load event has fired and the last of those responses has arrived. Requests that would leave the
machine are aborted (and counted): pages here must work offline. A page given as `html` is served from
memory at its URL on the bench server's origin, so it loads the same static files the way ours does.
"""

from __future__ import annotations

import gzip
import os
import shutil
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
STATIC_PREFIX = "/static/"
PRECOMPRESSED = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".woff", ".woff2", ".gz", ".br")  # WhiteNoise skips these
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-sync"]


@dataclass
class PageCost:
    bytes: int
    document_bytes: int
    requests: int
    ready_s: float
    outside: int
    errors: list[str]
    largest: list[tuple[str, int]]  # the biggest responses (path and query, bytes)
    wire_bytes: int = 0  # static files (and a given `html`) gzipped as WhiteNoise serves them, the rest as sent
    wire_largest: list[tuple[str, int]] | None = None  # the biggest responses on the wire
    data_bytes: int = 0  # of which answers from /api/ and tiles from /tiles/


def available() -> bool:
    if not (shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)):
        return False
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return True


def measure(
    pages: list[tuple[str, str, str | None]], cookie: dict, viewport=(1280, 800), timeout_s: float = 180.0
) -> dict[str, PageCost]:
    """{name: PageCost} for each (name, url, html-or-None), each in a fresh browser context."""
    from playwright.sync_api import sync_playwright

    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # no ORM here, but Django's guard sees the event loop
    out: dict[str, PageCost] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                for name, url, html in pages:
                    out[name] = _measure_one(browser, url, html, cookie, viewport, timeout_s)
            finally:
                browser.close()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved
    return out


def body_size(response) -> int:
    """The bytes of a response's body: Playwright hands an empty body for some fetch() answers a page read as a
    blob (Leaflet.VectorGrid's tiles), so the server's Content-Length counts when it says more."""
    try:
        body = len(response.body())
    except Exception:  # redirects and aborted requests have no body
        return 0
    try:
        declared = int(response.headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    return max(body, declared)


def _measure_one(browser, url: str, html: str | None, cookie: dict, viewport, timeout_s: float) -> PageCost:
    host = urlsplit(url).hostname
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, locale="zh-CN")
    context.add_cookies([cookie])
    outside = []
    errors: list[str] = []

    def guard(route):
        if urlsplit(route.request.url).hostname not in {host, "localhost", "127.0.0.1"}:
            outside.append(route.request.url)
            return route.abort()
        if html is not None and route.request.url == url:
            return route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
        return route.continue_()

    context.route("**/*", guard)
    page = context.new_page()
    responses = []
    last = [0.0]
    started = time.perf_counter()

    def finished(request):
        last[0] = time.perf_counter() - started

    page.on("response", lambda response: responses.append(response))
    page.on("requestfinished", finished)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url, wait_until="load", timeout=timeout_s * 1000)
    loaded = time.perf_counter() - started
    page.wait_for_load_state("networkidle", timeout=timeout_s * 1000)
    total, wire, data, document, sizes, wire_sizes = 0, 0, 0, 0, [], []
    for response in responses:
        try:
            body = response.body()
        except Exception:  # redirects and aborted requests have no body
            continue
        if len(body) < body_size(response):  # a tile read by fetch() as a blob comes back empty: its length
            body = b"\0" * body_size(response)
        total += len(body)
        parts = urlsplit(response.url)
        if parts.path.startswith(("/api/", "/tiles/")):
            data += len(body)
        name = parts.path + (f"?{parts.query}" if parts.query else "")
        sizes.append((name, len(body)))
        static = parts.path.startswith(STATIC_PREFIX) or (html is not None and response.url == url)
        sent = len(gzip.compress(body, 9)) if static and not parts.path.endswith(PRECOMPRESSED) else len(body)
        wire += sent
        wire_sizes.append((name, sent))
        if response.url == url:
            document = len(body)
    context.close()
    largest = sorted(sizes, key=lambda s: -s[1])[:3]
    wire_largest = sorted(wire_sizes, key=lambda s: -s[1])[:3]
    return PageCost(
        total, document, len(responses), max(loaded, last[0]), len(outside), errors, largest, wire, wire_largest, data
    )
