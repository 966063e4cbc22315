"""The planner map page at 10k and 100k cases: HTML bytes and time to interactive, against folium.

    .venv/bin/python -m bench.planner_page [--sizes 10k,100k] [--runs 3]

Runs on its own database (BENCH_DB_NAME, default here `gd_bench_planner`; bench.settings). For each
size the cases are replaced (bench.database.load_cases: synthetic cases by COPY), linked to their
township/village/grid (services.areas.linking.link_cases, so the village rates have something to count)
and analysed. Then:

* ours — the HTML of /maps/planner/ as a planner gets it. It holds no case: cases arrive by box from
  /api/case-points/ as the user pans, so its size does not depend on the number of cases.
* peer — folium's MarkerCluster with every case embedded (a Marker and a Popup per case, what a
  folium notebook map of the cases is), and FastMarkerCluster (the cases as one JS array), each
  rendered with our vendored Leaflet (bench.peers.folium_page). HTML bytes and render time.
* in headless Chromium (Debian's, 1280×800, a fresh context per run, the page served by runserver
  as a child process: bench.server.Server), milliseconds from navigation start to
  - `load`: the load event (map, layer control and filters work: the map is interactive);
  - `markers`: the first page of cases drawn as clustered markers (the heat map gets the same points);
  - `interactive`: the later of the two — the figure held to the < 2 s target;
  - `cases done`: every page of the view's cases up to the cap (10,000, newest first);
  - `rates`, `clusters`: the village choropleth and the DBSCAN hulls drawn.
  The median of `--runs` runs is reported; Gi* hot spots are off by default and not timed here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

TIMINGS_JS = """() => {
  const ctx = GeoDisputesMaps.current, p = GeoDisputesMaps.planner;
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    load: nav.loadEventEnd,
    markers: p.cases.drawnAt,
    cases_done: p.cases.loadedAt,
    rates: ctx.layers['village-rates'].drawnAt,
    clusters: ctx.layers.clusters.drawnAt,
    drawn: p.cases.markers.size,
    in_view: p.cases.total,
  };
}"""
READY_JS = """() => window.GeoDisputesMaps && GeoDisputesMaps.planner
  && GeoDisputesMaps.planner.cases.loadedAt !== undefined
  && GeoDisputesMaps.current.layers['village-rates'].drawnAt !== undefined
  && GeoDisputesMaps.current.layers.clusters.drawnAt !== undefined"""


def planner_user():
    from django.contrib.auth import get_user_model

    from geo_disputes.models import Role, StaffProfile

    user, created = get_user_model().objects.get_or_create(username="bench_planner_page")
    if created:
        user.set_unusable_password()
        user.save()
    StaffProfile.objects.update_or_create(user=user, defaults={"role": Role.PLANNER, "scope_code": ""})
    return user


def page_html(user) -> bytes:
    from django.test import Client

    client = Client()
    client.force_login(user)
    response = client.get("/maps/planner/")
    assert response.status_code == 200, response.status_code
    return response.content


def peer_pages() -> dict[str, tuple[int, float]]:
    """{peer: (HTML bytes, render seconds)} for folium's MarkerCluster and FastMarkerCluster."""
    from django.db import connection

    from .peers import folium_page

    with connection.cursor() as cur:
        cur.execute("SELECT ST_X(location), ST_Y(location), reference, category FROM geo_disputes_case ORDER BY id")
        points = cur.fetchall()
    out = {}
    for name, fast in (("folium MarkerCluster", False), ("folium FastMarkerCluster", True)):
        started = time.perf_counter()
        html = folium_page(points, fast=fast)
        out[name] = (len(html.encode()), time.perf_counter() - started)
    return out


def browser_timings(url: str, cookie: dict, runs: int) -> list[dict]:
    from playwright.sync_api import sync_playwright

    from .browser import ARGS, CHROMIUM

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # no ORM below; Django's guard sees Playwright's loop
    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
                context.add_cookies([cookie])
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.goto(url, wait_until="load")
                page.wait_for_function(READY_JS, timeout=120_000)
                timing = page.evaluate(TIMINGS_JS)
                timing["interactive"] = max(timing["load"], timing["markers"])
                timing["errors"] = errors
                results.append(timing)
                context.close()
        finally:
            browser.close()
    return results


def measure(sizes: list[int], runs: int = 3, log=print) -> list[dict]:
    """One row per size: our HTML bytes, the peers' bytes, and median browser timings (ms)."""
    from django.test import Client

    from fixtures.synthetic_large import format_size
    from geo_disputes.services.areas.linking import link_cases

    from . import database
    from .server import Server

    if database.ensure_database():
        log("  created the benchmark database")
    database.migrate()
    database.prepare_areas(0, log=log)  # the demo's areas and parcels; no synthetic parcels needed here
    user = planner_user()
    rows = []
    for n in sizes:
        log(f"{format_size(n)} cases")
        database.load_cases(n, log=log)
        started = time.perf_counter()
        link_cases()
        database.vacuum_analyze()
        log(f"  linked in {time.perf_counter() - started:.1f} s")
        ours = len(page_html(user))
        peers = peer_pages()
        for name, (size, seconds) in peers.items():
            log(f"  {name}: {size:,} bytes of HTML (rendered in {seconds:.1f} s)")
        client = Client()
        client.force_login(user)
        cookie = {"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": "127.0.0.1", "path": "/"}
        server = Server()
        server.start()
        try:
            server.get("/accounts/login/")  # the server's cold start is not the page's
            timings = browser_timings(f"http://127.0.0.1:{server.port}/maps/planner/", cookie, runs)
        finally:
            server.stop()
        median = {key: statistics.median(t[key] for t in timings) for key in timings[0] if key != "errors"}
        errors = sorted({e for t in timings for e in t["errors"]})
        row = {"cases": n, "ours_html_bytes": ours, "peers": peers, "browser_ms": median, "errors": errors}
        rows.append(row)
        log(
            f"  ours: {ours:,} bytes of HTML; in Chromium (median of {runs}): load {median['load']:.0f} ms, "
            f"first markers {median['markers']:.0f} ms, interactive {median['interactive']:.0f} ms, "
            f"cases done {median['cases_done']:.0f} ms ({median['drawn']:.0f} of {median['in_view']:.0f} in view), "
            f"rates {median['rates']:.0f} ms, clusters {median['clusters']:.0f} ms; script errors: {len(errors)}"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.planner_page", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated case counts (default 10k,100k)")
    parser.add_argument("--runs", type=int, default=3, help="page loads per size (median reported)")
    args = parser.parse_args(argv)
    os.environ.setdefault("BENCH_DB_NAME", "gd_bench_planner")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from fixtures.synthetic_large import parse_size

    rows = measure([parse_size(s) for s in args.sizes.split(",") if s.strip()], runs=args.runs)
    print(
        "\n| cases | ours: HTML | folium MarkerCluster: HTML | FastMarkerCluster: HTML | load | first markers "
        "| interactive | cases done |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        ms = row["browser_ms"]
        mc, fast = row["peers"]["folium MarkerCluster"][0], row["peers"]["folium FastMarkerCluster"][0]
        ours = row["ours_html_bytes"]
        print(
            f"| {row['cases']:,} | {ours:,} B | {mc:,} B (ours = 1/{mc / ours:,.0f}) "
            f"| {fast:,} B | {ms['load']:.0f} ms | {ms['markers']:.0f} ms | {ms['interactive']:.0f} ms "
            f"| {ms['cases_done']:.0f} ms |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
