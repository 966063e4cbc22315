"""Incremental re-linking alone: one village redrawn, ours vs geopandas re-linking every case.

    BENCH_DB_NAME=gd_bench_relink DJANGO_SETTINGS_MODULE=bench.settings \\
        .venv/bin/python -m bench.relink_only [--cases 100000] [--parcels 100000] [--repeat 2]

Runs workloads.incremental_relink on a benchmark database of its own (cases loaded once per size and
linked once; the import and both re-links are rolled back) and prints the row `make bench` would write.
"""

from __future__ import annotations

import argparse
import os
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()

    from django.db import connection

    from fixtures.synthetic_large import format_size

    from . import database, workloads
    from .measure import machine

    database.ensure_database()
    database.migrate()
    print("areas:", database.prepare_areas(args.parcels), flush=True)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM geo_disputes_case")
        have = cur.fetchone()[0]
    if have != args.cases:
        database.load_cases(args.cases)
    print("load average at start:", " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
    started = time.perf_counter()
    ctx = workloads.Context(
        size=args.cases, size_label=f"{format_size(args.cases)} cases", planner=None, field_user=None, log=print
    )
    result = workloads.incremental_relink(ctx, repeat=args.repeat)
    for row in result.rows:
        print(f"| {row.workload} | {row.size} | {row.ours} | {row.peer} | {row.ratio} | {row.target} | {row.met} |")
        for note in row.notes:
            print(f"  - {note}")
    print("checks:", result.checks)
    print("load average at end:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"workload time {time.perf_counter() - started:.0f} s; machine: {machine()}")


if __name__ == "__main__":
    main()
