"""The benchmark run: prepare the database, then every workload at every size, then the report."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from django.contrib.auth import get_user_model

from fixtures.synthetic_large import format_size
from geo_disputes.models import Role, StaffProfile
from geo_disputes.services.ops import tokens

from . import database, report, workloads
from .measure import machine
from .server import Server

HERE = Path(__file__).resolve().parent
WORKLOADS = (
    workloads.bulk_linking,  # first: it links the freshly loaded cases the other workloads filter on
    workloads.incremental_relink,  # rolls back what it does: the links stay as bulk_linking left them
    workloads.single_lookup,
    workloads.geojson_bbox,
    workloads.ogc_items,
    workloads.dbscan,
    workloads.hot_spots,
    workloads.map_page,
)


def bench_users():
    """A planner (sees every case, no personal data) and a field-staff user with an API token."""
    users = get_user_model()
    made = []
    for username, role in (("bench_planner", Role.PLANNER), ("bench_field", Role.FIELD_STAFF)):
        user, created = users.objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
        StaffProfile.objects.update_or_create(user=user, defaults={"role": role, "scope_code": ""})
        made.append(user)
    tokens.revoke_all(made[1])  # only a hash is stored: issue a fresh token each run
    return made[0], made[1], tokens.issue(made[1], name="bench")[1]


def log(message: str) -> None:
    print(message, flush=True)


def run(
    sizes: list[int],
    parcels: int,
    points: int,
    repeat: int,
    http: bool,
    out: str | None,
    command: str,
    only: set[str] | None = None,
) -> Path:
    started = time.perf_counter()
    info = machine()
    info["database"] = ""
    log(f"bench: sizes {', '.join(format_size(n) for n in sizes)}; database {database.settings_name()}")
    if database.ensure_database():
        log("  created the benchmark database")
    database.migrate()
    info["database"] = database.server_description()
    areas = database.prepare_areas(parcels, log=log)
    planner, field_user, token = bench_users()
    server = Server() if http else None
    rows, timings = [], {}
    # A terminated run still stops its server (the `finally` below runs on SystemExit).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        if server is not None:
            server.start()
        for n in sizes:
            label = f"{format_size(n)} cases"
            for stale in (HERE / "profiles").glob(f"*-{format_size(n)}.txt"):
                stale.unlink()  # profiles are written only for rows that miss their target in this run
            timings[label] = {"load": database.load_cases(n, log=log)}
            ctx = workloads.Context(
                size=n,
                size_label=label,
                planner=planner,
                field_user=field_user,
                points=points,
                repeat=repeat,
                server=server,
                token=token,
                profile_dir=HERE / "profiles",
                log=log,
            )
            for workload in WORKLOADS:
                if only and workload.__name__ not in only and workload is not workloads.bulk_linking:
                    continue  # bulk linking always runs: it links the cases the others filter on
                t0 = time.perf_counter()
                kwargs = {}
                if workload is workloads.bulk_linking:
                    kwargs["repeat"] = 2 if n <= 10_000 else 1
                if workload is workloads.dbscan:
                    kwargs["repeat"] = 3 if n <= 10_000 else 1
                result = workload(ctx, **kwargs)
                elapsed = time.perf_counter() - t0
                timings[label][workload.__name__] = elapsed
                rows.extend(result.rows)
                for row in result.rows:
                    log(f"  [{label}] {row.workload}: ours {row.ours} · peer {row.peer} · {row.ratio} · met {row.met}")
                log(f"  [{label}] {workload.__name__} done in {elapsed:.1f} s")
    finally:
        if server is not None:
            server.stop()
    info["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info["run time"] = f"{time.perf_counter() - started:.0f} s"
    path = Path(out) if out else HERE / "README.md"
    report.write(path, rows, info, areas, timings, command)
    log(f"bench: wrote {path} in {time.perf_counter() - started:.0f} s")
    return path
