"""The benchmark's own database: created on the project's PostgreSQL server, migrated, filled.

Only the database named by `bench.settings` (`gd_bench` by default) is ever written; the
application database and other people's test databases are never touched. The areas (demo
banner + the large parcel set) are loaded once and remembered in `bench_state`; the cases are
replaced for every data size, so each size starts from the same freshly loaded, analysed table.
"""

from __future__ import annotations

import time

import psycopg2
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from fixtures import synthetic_large
from fixtures.demo_loader import load_demo_areas

STATE_TABLE = "bench_state"
CASE_TABLES = (
    "geo_disputes_case",
    "geo_disputes_caseparcel",
    "geo_disputes_case_partner_units",
    "geo_disputes_party",
)


def _server_params() -> dict:
    db = settings.DATABASES["default"]
    params = {"dbname": "postgres", "user": db.get("USER") or None, "host": db.get("HOST") or None}
    if db.get("PORT"):
        params["port"] = db["PORT"]
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    return {k: v for k, v in params.items() if v is not None}


def ensure_database() -> bool:
    """Create the benchmark database with PostGIS if it is missing; True when it was created."""
    name = settings.DATABASES["default"]["NAME"]
    if name in {"geo_disputes", "postgres", "template0", "template1"}:
        raise RuntimeError(f"refusing to run benchmarks in database {name!r}: set BENCH_DB_NAME to a scratch name")
    conn = psycopg2.connect(**_server_params())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone():
                return False
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    with connection.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return True


def migrate() -> None:
    call_command("migrate", interactive=False, verbosity=0, skip_checks=True)


def _state(key: str) -> str | None:
    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (key text PRIMARY KEY, value text NOT NULL)")
        cur.execute(f"SELECT value FROM {STATE_TABLE} WHERE key = %s", [key])  # noqa: S608 — constant table name
        row = cur.fetchone()
    return row[0] if row else None


def _set_state(key: str, value: str) -> None:
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {STATE_TABLE} (key, value) VALUES (%s, %s) "  # noqa: S608 — constant table name
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [key, value],
        )


def prepare_areas(parcels: int, log=print) -> dict[str, int]:
    """Demo areas and units, plus synthetic parcels up to `parcels` in all; loaded once per database."""
    wanted = f"{synthetic_large.areas_fingerprint()}|{parcels}"
    if _state("areas") == wanted:
        return area_counts()
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(f"TRUNCATE {', '.join(CASE_TABLES)} CASCADE")
        load_demo_areas(reset=True)
        synthetic_large.delete_large_parcels()
        added = synthetic_large.load_parcels(parcels)
        _set_state("areas", wanted)
    log(f"  areas loaded in {time.perf_counter() - started:.1f} s ({added} synthetic parcels added)")
    return area_counts()


def area_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cur:
        for layer in ("township", "village", "grid", "miningarea", "parcel"):
            cur.execute(f"SELECT count(*) FROM geo_disputes_{layer}")  # noqa: S608 — constant table names
            counts[layer] = cur.fetchone()[0]
    return counts


def load_cases(n: int, log=print) -> float:
    """Replace every case by `n` synthetic ones (COPY), then VACUUM ANALYZE; returns the load time in s."""
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(f"TRUNCATE {', '.join(CASE_TABLES)} CASCADE")
        synthetic_large.load_cases(n)
    elapsed = time.perf_counter() - started
    vacuum_analyze()
    log(f"  {n:,} cases generated and loaded with COPY in {elapsed:.1f} s")
    return elapsed


def vacuum_analyze(*tables: str) -> None:
    """VACUUM ANALYZE: fresh statistics and visibility map after bulk writes (skipped inside a transaction,
    e.g. a test's, where VACUUM cannot run)."""
    if connection.in_atomic_block:
        return
    raw = connection.connection if connection.connection is not None else None
    if raw is None:
        connection.ensure_connection()
        raw = connection.connection
    previous = raw.autocommit
    raw.autocommit = True
    try:
        with raw.cursor() as cur:
            for table in tables or ("geo_disputes_case", "geo_disputes_caseparcel"):
                cur.execute(f"VACUUM ANALYZE {table}")
    finally:
        raw.autocommit = previous


def settings_name() -> str:
    return settings.DATABASES["default"]["NAME"]


def server_description() -> str:
    from .measure import database_versions

    return database_versions()
