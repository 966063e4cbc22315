"""Does partitioning the case table by banner pay? Native LIST partitions vs one table with a banner index.

    BENCH_DB_NAME=gd_bench_part DJANGO_SETTINGS_MODULE=bench.settings \\
        .venv/bin/python -m bench.partition_only [--cases 1000000] [--banners 9] [--repeat 5]

Issue 16 asks to partition the case table by county code "if measurement says it pays". This builds two copies
of the same synthetic cases, a city of `--banners` banners (Ordos has nine), with the columns and indexes the
banner-scoped queries use: `cases_plain` (one table, btree (banner_code, received_at), (banner_code, status),
GiST location) and `cases_part` (PARTITION BY LIST (banner_code), the same indexes on every partition). It then
times, warm, median of `--repeat`, alternating, the queries a banner's users run — each with the banner filter
every scope now adds (services.cases.access.banner_filter) — and the city-wide ones. Both copies must give the
same answer to every query (checked). Prints a table: query, plain ms, partitioned ms, ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import django

BANNERS = ["150602", "150603", "150621", "150622", "150623", "150624", "150625", "150626", "150627"]

_CREATE = """
DROP TABLE IF EXISTS cases_plain, cases_part CASCADE;
CREATE TABLE cases_plain (
    id bigint NOT NULL, banner_code varchar(6) NOT NULL, reference varchar(20) NOT NULL,
    category varchar(30) NOT NULL, status varchar(20) NOT NULL, township_code varchar(40) NOT NULL,
    received_at timestamptz NOT NULL, location geometry(Point, 4326) NOT NULL, description text NOT NULL
);
CREATE TABLE cases_part (LIKE cases_plain) PARTITION BY LIST (banner_code);
"""

_FILL = """
INSERT INTO cases_plain
SELECT g, b.code, b.code || '-' || g, (ARRAY['land_occupation','neighbour','utilities','labour','mining_subsidence',
       'environment','family','other'])[1 + mod(g * 7919, 8)],
       (ARRAY['reported','accepted','in_handling','replied','closed'])[1 + mod(g * 104729, 5)],
       b.code || lpad((mod(g * 31, 12))::text, 3, '0'),
       timestamptz '2020-01-01' + (mod(g * 2654435761, 189216000)) * interval '1 second',
       ST_SetSRID(ST_MakePoint(b.x + (mod(g * 48271, 100000)) / 100000.0 * 1.2,
                               b.y + (mod(g * 69621, 100000)) / 100000.0 * 1.0), 4326),
       repeat('草场被邻户围占', (8 + mod(g, 8))::int)
FROM generate_series(1::bigint, %(n)s) g
JOIN (SELECT code, ord, 107.0 + mod(ord, 5) * 1.3 AS x, 38.0 + (ord / 5) * 1.1 AS y
      FROM unnest(%(banners)s::text[]) WITH ORDINALITY AS t(code, ord)) b ON b.ord = 1 + mod(g, %(k)s)
"""

_INDEX = """
CREATE INDEX ON {t} (banner_code, received_at);
CREATE INDEX ON {t} (banner_code, status);
CREATE INDEX ON {t} USING gist (location);
ANALYZE {t};
"""

# (name, SQL with {t} for the table, parameters builder(banner) -> dict)
QUERIES = [
    (
        "a banner's cases in a month, by category (dashboard)",
        "SELECT category, count(*) FROM {t} WHERE banner_code = %(b)s AND received_at >= %(since)s "
        "AND received_at < %(until)s GROUP BY category ORDER BY category",
    ),
    (
        "a banner's newest 500 (case list page)",
        "SELECT id, reference FROM {t} WHERE banner_code = %(b)s ORDER BY received_at DESC, id DESC LIMIT 500",
    ),
    (
        "a banner's open cases by township (overdue/queues)",
        "SELECT township_code, count(*) FROM {t} WHERE banner_code = %(b)s AND status <> 'closed' "
        "GROUP BY township_code ORDER BY township_code",
    ),
    (
        "a banner's cases in a map box (case points)",
        "SELECT count(*) FROM {t} WHERE banner_code = %(b)s AND location && ST_MakeEnvelope(%(x0)s, %(y0)s, "
        "%(x1)s, %(y1)s, 4326)",
    ),
    (
        "a banner's whole history, all rows read (yearly statistics)",
        "SELECT date_trunc('year', received_at AT TIME ZONE 'Asia/Shanghai') y, count(*), "
        "sum(length(description)) FROM {t} WHERE banner_code = %(b)s GROUP BY y ORDER BY y",
    ),
    (
        "the city, every banner (city planner's totals)",
        "SELECT banner_code, count(*) FROM {t} WHERE banner_code LIKE '1506%%' GROUP BY banner_code "
        "ORDER BY banner_code",
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--banners", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()

    from django.db import connection

    from . import database
    from .measure import machine

    database.ensure_database()
    banners = BANNERS[: args.banners]
    with connection.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        started = time.perf_counter()
        cur.execute(_CREATE)
        for code in banners:
            cur.execute(f"CREATE TABLE cases_part_{code} PARTITION OF cases_part FOR VALUES IN ('{code}')")
        cur.execute(_FILL, {"n": args.cases, "banners": banners, "k": len(banners)})
        cur.execute("INSERT INTO cases_part SELECT * FROM cases_plain")
        for table in ("cases_plain", "cases_part"):
            cur.execute(_INDEX.format(t=table))
        cur.execute("SELECT pg_total_relation_size('cases_plain')")
        plain_size = cur.fetchone()[0]
        cur.execute(
            "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'cases_part'::regclass"
        )
        part_size = cur.fetchone()[0]
    print(
        f"loaded {args.cases:,} cases over {len(banners)} banners twice in {time.perf_counter() - started:.0f} s; "
        f"sizes: plain {plain_size / 2**20:.0f} MB, partitioned {part_size / 2**20:.0f} MB",
        flush=True,
    )
    banner = banners[len(banners) // 2]
    ordinal = len(banners) // 2 + 1
    x, y = 107.0 + (ordinal % 5) * 1.3, 38.0 + (ordinal // 5) * 1.1
    params = {
        "b": banner,
        "since": "2024-03-01",
        "until": "2024-04-01",
        "x0": x + 0.3,
        "y0": y + 0.3,
        "x1": x + 0.5,
        "y1": y + 0.5,
    }
    print("load average at start:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("| query | plain | partitioned | ratio (plain ÷ partitioned) |")
    print("|---|---|---|---|")
    for name, sql in QUERIES:
        times: dict[str, list[float]] = {"cases_plain": [], "cases_part": []}
        answers = {}
        with connection.cursor() as cur:
            for table in times:  # warm both
                cur.execute(sql.format(t=table), params)
                answers[table] = cur.fetchall()
            if answers["cases_plain"] != answers["cases_part"]:
                raise SystemExit(f"different answers for {name!r}")
            for _ in range(args.repeat):
                for table in times:
                    started = time.perf_counter()
                    cur.execute(sql.format(t=table), params)
                    cur.fetchall()
                    times[table].append((time.perf_counter() - started) * 1000)
        plain, part = (statistics.median(times[t]) for t in ("cases_plain", "cases_part"))
        print(f"| {name} | {plain:.1f} ms | {part:.1f} ms | {plain / part:.2f}× |", flush=True)
    print("load average at end:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print(f"banner queried {banner}; same answers on every query; machine: {machine()}")
    with connection.cursor() as cur:
        cur.execute("DROP TABLE cases_plain, cases_part CASCADE")


if __name__ == "__main__":
    main()
