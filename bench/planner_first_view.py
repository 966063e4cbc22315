"""The planner map's first view in headless Chromium: bytes fetched (all, and data from /api/) and ready time.

    BENCH_DB_NAME=gd_bench_planner .venv/bin/python -m bench.planner_first_view [--load 100k] [--runs 3]

Runs on its own database (BENCH_DB_NAME, default `gd_bench_planner`; bench.settings). `--load N` replaces
the cases by N synthetic ones (bench.database.load_cases) and links them (services.areas.linking.link_cases);
without it the cases already there are measured. Each run opens /maps/planner/ as a planner in a fresh
context (bench.browser.measure: 1280×800, requests leaving 127.0.0.1 aborted and counted); "ready" is the
later of the load event and the last response (network idle); "interactive" the later of the load event
and the case layer drawn (the DBSCAN hulls and village rates may still be on their way). The median of
the runs is printed, with the number of requests per API path, so a box fetched twice shows.
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
    costs = []
    try:
        server.get("/accounts/login/")  # the server's cold start is not the page's
        for _ in range(args.runs):
            costs.append(_one(browser, f"http://127.0.0.1:{server.port}/maps/planner/", cookie, args.timeout))
    finally:
        server.stop()
    keys = ("bytes", "data_bytes", "document", "ready_s", "interactive_s")
    med = {k: statistics.median(c[k] for c in costs) for k in keys}
    last = costs[-1]
    print(
        f"{n:,} cases: first view {med['bytes']:,.0f} B in all ({med['data_bytes']:,.0f} B data from /api/, "
        f"document {med['document']:,.0f} B), ready {med['ready_s']:.2f} s, cases drawn and map interactive "
        f"{med['interactive_s']:.2f} s ({last['cases_mode']}) (median of {args.runs}); "
        f"requests leaving 127.0.0.1: {last['outside']}; script errors: {len(last['errors'])}"
    )
    print("  API requests:", ", ".join(f"{path} ×{count}" for path, count in sorted(last["api"].items())))
    print("  largest:", ", ".join(f"{p[:80]} {b:,} B" for p, b in last["largest"]))
    return 0


def _one(browser, url: str, cookie: dict, timeout_s: float) -> dict:
    """One first view: browser.measure's figures plus the data bytes and requests per API path."""
    paths: Counter = Counter()
    timings: dict = {}
    data = [0]
    real_measure_one = browser._measure_one

    def spy(b, url_, html, cookie_, viewport, timeout_s):
        # Count API requests and their bytes by listening on every page the context opens.
        original_new_context = b.new_context

        def new_context(**kwargs):
            context = original_new_context(**kwargs)

            def on_response(response):
                parts = urlsplit(response.url)
                if parts.path.startswith("/api/"):
                    paths[parts.path] += 1
                    try:
                        data[0] += len(response.body())
                    except Exception:  # noqa: S110 — aborted: no body
                        pass

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
        "data_bytes": data[0],
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
