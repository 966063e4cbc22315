"""DBSCAN clusters and hot spots alone, ours against the peers, on the benchmark's own database.

    BENCH_DB_NAME=gd_bench_analysis DJANGO_SETTINGS_MODULE=bench.settings \
        .venv/bin/python -m bench.analysis_only --cases 10000 --dbscan --repeat 3
    ... --cases 100000 --hotspots            # whole banner + township, time and peak memory

`--cases N` (re)loads N synthetic cases only when the table holds a different number. Timings
alternate ours and the peer (bench.measure.alternate) and report the median; DBSCAN answers are
compared by adjusted Rand index as bench/workloads.py does. Peak memory is the process's peak RSS
(ru_maxrss; run one analysis per process), optionally tracemalloc's peak of Python
allocations, and the PostgreSQL temp files written meanwhile.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from bench import database, peers  # noqa: E402
from bench.measure import alternate, timed  # noqa: E402
from geo_disputes.models import Case  # noqa: E402
from geo_disputes.services.analysis import clusters, hotspots  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dbscan", action="store_true")
    parser.add_argument("--api", action="store_true", help="also time clusters() (hulls, members) with and without")
    parser.add_argument("--hotspots", action="store_true")
    parser.add_argument("--township", default="", help="hot spots of one township instead of the banner")
    parser.add_argument("--trace", action="store_true", help="tracemalloc's peak of Python allocations (slower)")
    args = parser.parse_args(argv)
    prepare(args.cases)
    if args.dbscan:
        dbscan(args.repeat, args.api)
    if args.hotspots:
        hot_spots(args.township, args.trace)


def prepare(n: int) -> None:
    if database.ensure_database():
        print("created", database.settings_name())
    database.migrate()
    database.prepare_areas(0)
    if Case.objects.count() != n:
        database.load_cases(n)
    print(f"{database.settings_name()}: {Case.objects.count():,} cases", flush=True)


def dbscan(repeat: int, api: bool) -> None:
    params = clusters.ClusterParams()
    found = {}

    def ours() -> None:
        found["ours"] = clusters.dbscan_labels(Case.objects.all(), params)

    def peer() -> None:
        found["peer"] = peers.sklearn_dbscan(params.eps_m, params.min_points)

    a, b = alternate(ours, peer, repeat)
    ari, ari_clustered = peers.adjusted_rand(found["ours"], found["peer"])
    print(
        f"dbscan labels: ours {_runs(a.seconds)} | scikit-learn {_runs(b.seconds)} | "
        f"ratio {a.median / b.median:.2f} | ARI {ari:.5f} (clustered {ari_clustered:.5f})",
        flush=True,
    )
    if api:
        for members in (True, False):
            runs = [timed(lambda m=members: _features(params, m))[0] for _ in range(repeat)]
            print(f"clusters(members={members}): {_runs(runs)}; {_features(params, members) / 1e6:.2f} MB", flush=True)


def _features(params, members: bool) -> int:
    try:
        result = clusters.clusters(Case.objects.all(), params, members=members)
    except TypeError:  # before the members switch existed
        result = clusters.clusters(Case.objects.all(), params)
    return len(result.features_json)


def hot_spots(township: str, trace: bool) -> None:
    area = hotspots.StudyArea(township=township)
    temp_before = _temp_bytes()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        result = hotspots.hot_spots(Case.objects.all(), area)
        outcome = f"{len(result.cells):,} cells, band {result.distance_band_m:.0f} m ({result.distance_band_rule})"
    except hotspots.HotSpotRefused as exc:
        outcome = f"refused: {exc.message}"
    elapsed = time.perf_counter() - started
    python_peak = ""
    if trace:
        python_peak = f"python allocations peak (tracemalloc) {tracemalloc.get_traced_memory()[1] / 2**20:.0f} MiB; "
        tracemalloc.stop()
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    temp = (_temp_bytes() - temp_before) / 2**20
    print(
        f"hot spots {township or 'banner'}: {elapsed:.2f} s; {outcome}; {python_peak}"
        f"process max RSS {max_rss:.0f} MiB; PostgreSQL temp files {temp:.0f} MiB; "
        f"PostgreSQL backend {_backend_peak()}",
        flush=True,
    )


def _backend_peak() -> str:
    """Peak RSS of this connection's PostgreSQL backend (VmHWM; shared buffers it touched included)."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return "peak RSS unknown (server not local)"
    return f"peak RSS {int(fields['VmHWM'].split()[0]) / 1024:.0f} MiB"


def _temp_bytes() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")
        return int(cur.fetchone()[0])


def _runs(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    return f"median {ordered[len(ordered) // 2] * 1000:.0f} ms [{', '.join(f'{s * 1000:.0f}' for s in seconds)}]"


if __name__ == "__main__":
    main(sys.argv[1:])
