"""Bulk linking alone, ours vs the geopandas peer, on a benchmark database of its own.

    BENCH_DB_NAME=gd_bench_link DJANGO_SETTINGS_MODULE=bench.settings \\
        .venv/bin/python -m bench.link_only [--cases 100000] [--parcels 100000] [--repeat 2] [--compare-ref REF]

Times, alternating and best of `repeat`: our link_cases() from unlinked cases, our re-link with nothing
changed, and the peer end to end (read_postgis + sjoin + write-back); with --compare-ref, also the
link_cases() of services/areas/linking.py at that git commit (on today's schema), from unlinked cases.
Cases are loaded once per size. Checks that both sides stored the same answers.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import tempfile
import time
from pathlib import Path

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--compare-ref", help="git commit whose services/areas/linking.py is timed as well")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()

    from django.db import connection, transaction

    from geo_disputes.services.areas.linking import link_cases

    from . import database, peers
    from .database import vacuum_analyze
    from .measure import timed
    from .workloads import _reset_links

    database.ensure_database()
    database.migrate()
    print("areas:", database.prepare_areas(args.parcels))
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM geo_disputes_case")
        have = cur.fetchone()[0]
    if have != args.cases:
        database.load_cases(args.cases)

    def ours(label: str) -> float:
        elapsed, n = timed(link_cases)
        print(f"  ours {label}: {elapsed:.2f} s (returned {n:,})", flush=True)
        vacuum_analyze()
        return elapsed

    def ours_from_unlinked() -> float:
        _reset_links()
        return ours("from unlinked")

    def ours_relink() -> float:
        return ours("re-link, nothing changed")

    def peer() -> float:
        _reset_links()
        links = peers.geopandas_link()
        started = time.perf_counter()
        with transaction.atomic():
            peers.write_back(links)
        write = time.perf_counter() - started
        total = links.read_s + links.join_s + write
        print(
            f"  peer end to end: {total:.2f} s (read {links.read_s:.2f} + sjoin {links.join_s:.2f} + "
            f"write {write:.2f})",
            flush=True,
        )
        vacuum_analyze()
        return total, links

    def earlier_link_cases(ref: str):
        source = subprocess.run(
            ["git", "show", f"{ref}:geo_disputes/services/areas/linking.py"], capture_output=True, text=True, check=True
        ).stdout
        path = Path(tempfile.mkdtemp()) / "linking_at_ref.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("linking_at_ref", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.link_cases

    def earlier(link) -> float:
        _reset_links()
        started = time.perf_counter()
        link()
        elapsed = time.perf_counter() - started
        print(f"  {args.compare_ref} from unlinked: {elapsed:.2f} s", flush=True)
        vacuum_analyze()
        return elapsed

    old_link = earlier_link_cases(args.compare_ref) if args.compare_ref else None
    runs: dict[str, list[float]] = {"unlinked": [], "relink": [], "peer": [], "earlier": []}
    links = None
    for i in range(args.repeat):
        print(f"round {i + 1}", flush=True)
        if not args.skip_peer:
            total, links = peer()
            runs["peer"].append(total)
        if old_link is not None:
            runs["earlier"].append(earlier(old_link))
        runs["unlinked"].append(ours_from_unlinked())
        runs["relink"].append(ours_relink())
    if links is not None:
        cmp = peers.compare_links(peers.stored_links(), links)
        print("agreement (0 = same):", cmp)
    print(f"{args.cases:,} cases, {args.parcels:,} parcels, best of {args.repeat}:")
    for name, times in runs.items():
        if times:
            print(f"  {name:9s} {min(times):7.2f} s   (all: {', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
