"""`python -m bench` (what `make bench` runs): every workload, ours and the peer, then bench/README.md.

Sizes: BENCH_SIZE (10k | 100k | 1m, default 100k) runs the ladder 10k → … → BENCH_SIZE so the growth
is visible; `--sizes 10k,100k` names the sizes explicitly. The benchmark uses its own database
(BENCH_DB_NAME, default gd_bench) on the project's PostgreSQL server.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

LADDER = ("10k", "100k", "1m")


def sizes_from(args: argparse.Namespace) -> list[int]:
    from fixtures.synthetic_large import parse_size

    if args.sizes:
        return sorted({parse_size(s) for s in args.sizes.split(",") if s.strip()})
    top = parse_size(os.environ.get("BENCH_SIZE", "100k"))
    ladder = [parse_size(s) for s in LADDER if parse_size(s) <= top]
    return sorted(set(ladder) | {top})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated case counts, e.g. 10k,100k (default: ladder to BENCH_SIZE)")
    parser.add_argument("--parcels", default="100k", help="parcels in the banner (demo ~10k + synthetic; default 100k)")
    parser.add_argument("--points", type=int, default=2000, help="random points for the lookup percentiles")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions of the quick workloads")
    parser.add_argument("--no-http", action="store_true", help="skip the rows measured over a real HTTP server")
    parser.add_argument("--out", default=None, help="results file (default bench/README.md)")
    parser.add_argument(
        "--only", default="", help="comma-separated workloads, e.g. ogc_items (bulk linking always runs)"
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from fixtures.synthetic_large import parse_size

    from .run import run

    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    if os.environ.get("MAKELEVEL"):  # run by `make bench`
        command = f"make bench` → `{command.strip()}"
    if os.environ.get("BENCH_SIZE"):
        command = f"BENCH_SIZE={os.environ['BENCH_SIZE']} {command}"
    run(
        sizes=sizes_from(args),
        parcels=parse_size(args.parcels),
        points=args.points,
        repeat=args.repeat,
        http=not args.no_http,
        out=args.out,
        command=command.strip(),
        only={w.strip() for w in args.only.split(",") if w.strip()} or None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
