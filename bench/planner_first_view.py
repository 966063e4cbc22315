"""The planner map's first view in headless Chromium: bytes fetched (all, and data from /api/) and ready time.

    BENCH_DB_NAME=gd_bench_planner .venv/bin/python -m bench.planner_first_view [--load 100k] [--runs 3] [--no-peer]

Runs on its own database (BENCH_DB_NAME, default `gd_bench_planner`; bench.settings). `--load N` replaces
the cases by N synthetic ones (bench.database.load_cases) and links them (services.areas.linking.link_cases);
without it the cases already there are measured. Each run opens /maps/planner/ as a planner in a fresh
context (bench.browser.measure: 1280×800, requests leaving 127.0.0.1 aborted and counted); "ready" is the
later of the load event and the last response (network idle); "interactive" the later of the load event
and the case layer drawn (the DBSCAN hulls and village rates may still be on their way). The median of
the runs is printed, with the number of requests per API path, so a box fetched twice shows.

The peer, in the same run and alternating with ours: folium's FastMarkerCluster page embedding every case
(bench.peers.folium_page, our vendored Leaflet), opened the same way, up to workloads.BROWSER_PEER_MAX_CASES;
above that its size is the bytes per embedded case of a 10,000-case page times the cases, not opened. Bytes
are given twice (bench.browser): decoded, and on the wire (static files gzipped as WhiteNoise serves them;
the peer's page counts as a static file; our documents, API answers and tiles as the server sends them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections import Counter
from urllib.parse import urlsplit

TIMINGS_JS = """() => {
  const p = GeoDisputesMaps.planner, nav = performance.getEntriesByType('navigation')[0];
  return { load: nav.loadEventEnd, cases: p.cases.loadedAt, mode: p.cases.mode || 'points' };
}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.planner_first_view", description=__doc__.splitlines()[0])
    parser.add_argument("--load", default="", help="replace the cases by this many (e.g. 10k, 100k, 1M) first")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a first view may take (DBSCAN at 1M)")
    parser.add_argument("--no-peer", action="store_true", help="ours only")
    args = parser.parse_args(argv)
    os.environ.setdefault("BENCH_DB_NAME", "gd_bench_planner")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from fixtures.synthetic_large import parse_size

    from . import browser, database
    from .planner_page import planner_user
    from .server import Server

    database.ensure_database()
    database.migrate()
    database.prepare_areas(0)
    if args.load:
        from geo_disputes.services.areas.linking import link_cases

        database.load_cases(parse_size(args.load))
        link_cases()
        database.vacuum_analyze()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM geo_disputes_case")
        n = cur.fetchone()[0]
    user = planner_user()
    client = Client()
    client.force_login(user)
    cookie = {"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": "127.0.0.1", "path": "/"}
    server = Server()
    server.start()
    peer_html, peer_estimate = (None, None) if args.no_peer else _peer_page(n)
    costs, peer_costs = [], []
    base = f"http://127.0.0.1:{server.port}"
    try:
        server.get("/accounts/login/")  # the server's cold start is not the page's
        for _ in range(args.runs):
            costs.append(_one(browser, f"{base}/maps/planner/", cookie, args.timeout))
            if peer_html is not None:  # alternating with ours, on the same server
                peer = browser.measure([("peer", f"{base}/bench/peer/folium-map.html", peer_html)], cookie)["peer"]
                peer_costs.append(peer)
    finally:
        server.stop()
    keys = ("bytes", "wire_bytes", "data_bytes", "document", "ready_s", "interactive_s")
    med = {k: statistics.median(c[k] for c in costs) for k in keys}
    last = costs[-1]
    print(
        f"{n:,} cases: first view {med['bytes']:,.0f} B decoded, {med['wire_bytes']:,.0f} B on the wire "
        f"({med['data_bytes']:,.0f} B data from /api/ and /tiles/, document {med['document']:,.0f} B), "
        f"ready {med['ready_s']:.2f} s, cases drawn and map interactive "
        f"{med['interactive_s']:.2f} s ({last['cases_mode']}) (median of {args.runs}); "
        f"{last['requests']} responses; requests leaving 127.0.0.1: {last['outside']}; "
        f"script errors: {len(last['errors'])}"
    )
    print("  API and tile requests:", ", ".join(f"{path} ×{count}" for path, count in sorted(last["api"].items())))
    print("  largest (decoded):", ", ".join(f"{p[:80]} {b:,} B" for p, b in last["largest"]))
    print("  largest (wire):", ", ".join(f"{p[:80]} {b:,} B" for p, b in last["wire_largest"]))
    if peer_costs:
        peer = {
            "bytes": statistics.median(c.bytes for c in peer_costs),
            "wire": statistics.median(c.wire_bytes for c in peer_costs),
            "ready": statistics.median(c.ready_s for c in peer_costs),
        }
        print(
            f"  peer (folium FastMarkerCluster, {n:,} cases embedded): {peer['bytes']:,.0f} B decoded, "
            f"{peer['wire']:,.0f} B on the wire, ready {peer['ready']:.2f} s (median of {len(peer_costs)}); "
            f"{peer_costs[-1].requests} responses; script errors: {len(peer_costs[-1].errors)}"
        )
        print(
            f"  ours = 1/{peer['bytes'] / med['bytes']:.1f} of the peer's bytes decoded, "
            f"1/{peer['wire'] / med['wire_bytes']:.1f} on the wire"
        )
    elif peer_estimate is not None:
        raw, wire = peer_estimate
        print(
            f"  peer (folium FastMarkerCluster, {n:,} cases embedded, not opened): ≈ {raw:,.0f} B decoded, "
            f"≈ {wire:,.0f} B on the wire (bytes per case of a 10,000-case page × {n:,}, plus its libraries); "
            f"ours = 1/{raw / med['bytes']:.1f} decoded, 1/{wire / med['wire_bytes']:.1f} on the wire"
        )
    return 0


def _peer_page(n: int) -> tuple[str | None, tuple[float, float] | None]:
    """The folium page embedding all `n` cases, or above BROWSER_PEER_MAX_CASES its estimated (decoded, wire)
    bytes: the page's bytes per case at 10,000 cases times `n`, plus the libraries it loads (ours, measured)."""
    import gzip

    from django.contrib.staticfiles import finders

    from .peers import folium_page
    from .workloads import BROWSER_PEER_MAX_CASES, _all_case_points

    points = _all_case_points()
    if len(points) <= BROWSER_PEER_MAX_CASES:
        return folium_page(points, fast=True), None
    sample = folium_page(points[:10_000], fast=True).encode()
    empty = folium_page(points[:1], fast=True).encode()
    per_case = (len(sample) - len(empty)) / 9_999
    per_case_wire = (len(gzip.compress(sample, 9)) - len(gzip.compress(empty, 9))) / 9_999
    libs_raw = libs_wire = 0
    for path in ("leaflet/leaflet.js", "leaflet/leaflet.css", "jquery/jquery.min.js",
                 "leaflet.markercluster/leaflet.markercluster.js", "leaflet.markercluster/MarkerCluster.css",
                 "leaflet.markercluster/MarkerCluster.Default.css"):  # fmt: skip
        data = open(finders.find(f"maps/vendor/{path}"), "rb").read()  # noqa: SIM115 — a short read
        libs_raw += len(data)
        libs_wire += len(gzip.compress(data, 9))
    return None, (len(empty) + per_case * n + libs_raw, len(gzip.compress(empty, 9)) + per_case_wire * n + libs_wire)


def _one(browser, url: str, cookie: dict, timeout_s: float) -> dict:
    """One first view: browser.measure's figures plus the requests per API path and tile layer."""
    paths: Counter = Counter()
    timings: dict = {}
    real_measure_one = browser._measure_one

    def spy(b, url_, html, cookie_, viewport, timeout_s):
        # Count API and tile requests by listening on every page the context opens.
        original_new_context = b.new_context

        def new_context(**kwargs):
            context = original_new_context(**kwargs)

            def on_response(response):
                parts = urlsplit(response.url)
                if parts.path.startswith(("/api/", "/tiles/")):
                    # Tiles counted per layer (one request per tile), API answers per path.
                    key = "/".join(parts.path.split("/")[:3]) if parts.path.startswith("/tiles/") else parts.path
                    paths[key] += 1

            context.on("response", on_response)
            close = context.close

            def close_after_timings():
                # Before the context goes: when the case layer was drawn (ms since navigation start).
                timings.update(context.pages[0].evaluate(TIMINGS_JS))
                return close()

            context.close = close_after_timings
            return context

        b.new_context = new_context
        try:
            return real_measure_one(b, url_, html, cookie_, viewport, timeout_s)
        finally:
            b.new_context = original_new_context

    browser._measure_one = spy
    try:
        cost = browser.measure([("ours", url, None)], cookie, timeout_s=timeout_s)["ours"]
    finally:
        browser._measure_one = real_measure_one
    return {
        "bytes": cost.bytes,
        "wire_bytes": cost.wire_bytes,
        "wire_largest": cost.wire_largest,
        "requests": cost.requests,
        "data_bytes": cost.data_bytes,
        "document": cost.document_bytes,
        "ready_s": cost.ready_s,
        "outside": cost.outside,
        "errors": cost.errors,
        "largest": cost.largest,
        "api": dict(paths),
        "interactive_s": max(timings.get("load") or 0, timings.get("cases") or 0) / 1000,
        "cases_mode": timings.get("mode"),
    }


if __name__ == "__main__":
    sys.exit(main())
