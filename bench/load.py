"""Load test of the served app: `python -m bench.load` (writes bench/LOAD.md and prints the table).

Starts gunicorn on loopback against the configured (dev) database with production settings
(DJANGO_DEBUG=0, a throwaway secret, no HTTPS redirect since there is no TLS proxy on loopback),
authenticates with the token of a read-only `loadtest` user (role planner: every case, no personal
data; created once, the only write this makes), then hits three endpoints at increasing concurrency,
each for a bounded time, over kept-alive HTTP/1.1 connections, one client thread per connection:

- /api/locate/?lon=&lat=          random points inside the banner outline (a fixed seed);
- /api/layers/villages/?bbox=     random 0.1° x 0.1° windows over the banner (a map view at ~zoom 11);
- /api/cases/?bbox=               the same windows.

Reported per endpoint x concurrency: requests, throughput, p50/p95/p99 latency, errors (anything but
a 200, or a failed connection; must be zero) and mean response size. The client runs on the same
machine as the server and the database, so the figures are what this one machine does for all three.

Another module may call `run(...)` and use the returned rows (e.g. `python -m bench` for its README).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import secrets
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench.server import free_port, start_listening, stop_process

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_OUT = ROOT / "bench" / "LOAD.md"
CONCURRENCY = (1, 4, 16, 32)
WINDOW_DEG = 0.1
POINTS = 5000

# Run by `manage.py shell` on the configured database: the loadtest user (created once) and a fresh token,
# what the database holds, and points inside the banner outline.
_SETUP = """
import json, random
import shapely
from django.contrib.auth import get_user_model
from geo_disputes.services.ops import tokens
from geo_disputes.models import Banner, Case, Parcel, StaffProfile, Village
user, _ = get_user_model().objects.get_or_create(username="loadtest", defaults={{"is_active": True}})
if user.has_usable_password():
    user.set_unusable_password()
    user.save(update_fields=["password"])
StaffProfile.objects.get_or_create(user=user, defaults={{"role": "planner", "scope_code": ""}})
tokens.revoke_all(user)  # only a hash is stored: a fresh token each run
_, token = tokens.issue(user, name="loadtest")
banner = Banner.objects.in_force().first()
assert banner is not None, "no banner outline in the database: run `make run` (load_demo) first"
outline = shapely.from_wkb(bytes(banner.geom.wkb))
shapely.prepare(outline)
x0, y0, x1, y1 = outline.bounds
rng = random.Random(20240611)
points = []
while len(points) < {points}:
    x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
    if outline.contains(shapely.Point(x, y)):
        points.append((round(x, 6), round(y, 6)))
print(json.dumps({{
    "token": token, "points": points, "bounds": [x0, y0, x1, y1],
    "cases": Case.objects.count(), "villages": Village.objects.in_force().count(),
    "parcels": Parcel.objects.in_force().count(),
}}))
"""


@dataclass
class Row:
    endpoint: str
    concurrency: int
    seconds: float
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_kb: float
    first_error: str = ""

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def _app_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="geo_disputes.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="ERROR",
    )
    return env


def setup(points: int = POINTS) -> dict:
    """Create the loadtest user if missing, issue it a fresh token; return them with points inside the banner."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", _SETUP.format(points=points)],
        cwd=ROOT,
        env=_app_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"load test setup failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


class Gunicorn:
    """gunicorn serving geo_disputes.wsgi on 127.0.0.1, stopped by its own pid."""

    def __init__(self, workers: int, threads: int):
        self.workers, self.threads = workers, threads
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = Path(tempfile.gettempdir()) / f"gd-load-gunicorn-{os.getpid()}.log"

    @property
    def command(self) -> list[str]:
        return [
            str(Path(sys.executable).parent / "gunicorn"),
            "geo_disputes.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(self.threads),
            "--keep-alive",
            "30",
            "--timeout",
            "60",
        ]

    def describe(self) -> str:
        return (
            f"gunicorn {self.workers} workers x {self.threads} threads (gthread, keep-alive), "
            "DJANGO_DEBUG=0, geo_disputes.settings"
        )

    def start(self, timeout: float = 60) -> None:
        self.proc = start_listening(self.command, _app_env(), self.port, self.log, "gunicorn", timeout)

    def stop(self) -> None:
        stop_process(self.proc, timeout=30)
        self.proc = None


class Endpoint:
    def __init__(self, name: str, make_path):
        self.name = name
        self.make_path = make_path  # (random.Random) -> path with query


def endpoints(points: list[tuple[float, float]], bounds: list[float]) -> list[Endpoint]:
    x0, y0, x1, y1 = bounds

    def window(rng: random.Random) -> str:
        x = rng.uniform(x0, x1 - WINDOW_DEG)
        y = rng.uniform(y0, y1 - WINDOW_DEG)
        return f"{x:.5f},{y:.5f},{x + WINDOW_DEG:.5f},{y + WINDOW_DEG:.5f}"

    def locate(rng: random.Random) -> str:
        lon, lat = rng.choice(points)
        return "/api/locate/?" + urlencode({"lon": lon, "lat": lat})

    return [
        Endpoint("/api/locate/", locate),
        Endpoint(
            "/api/layers/villages/?bbox=", lambda rng: "/api/layers/villages/?" + urlencode({"bbox": window(rng)})
        ),
        Endpoint("/api/cases/?bbox=", lambda rng: "/api/cases/?" + urlencode({"bbox": window(rng)})),
    ]


def _client(port: int, token: str, endpoint: Endpoint, seed: int, stop_at: float, out: list, errors: list) -> None:
    """One connection: request after request until `stop_at`; (seconds, bytes) per 200 into `out`."""
    rng = random.Random(seed)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    conn = None
    while time.perf_counter() < stop_at:
        path = endpoint.make_path(rng)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{type(exc).__name__}: {exc} ({path})")
            conn.close()
            conn = None
            continue
        elapsed = time.perf_counter() - started
        if response.status != 200:
            errors.append(f"HTTP {response.status}: {body[:200]!r} ({path})")
        else:
            out.append((elapsed, len(body)))
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = None
    if conn is not None:
        conn.close()


def measure(port: int, token: str, endpoint: Endpoint, concurrency: int, seconds: float) -> Row:
    results: list[list] = [[] for _ in range(concurrency)]
    errors: list[list] = [[] for _ in range(concurrency)]
    started = time.perf_counter()
    stop_at = started + seconds
    threads = [
        threading.Thread(
            target=_client, args=(port, token, endpoint, 1000 * concurrency + i, stop_at, results[i], errors[i])
        )
        for i in range(concurrency)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    done = [r for rs in results for r in rs]
    failed = [e for es in errors for e in es]
    latencies = sorted(seconds_ for seconds_, _ in done)
    return Row(
        endpoint=endpoint.name,
        concurrency=concurrency,
        seconds=elapsed,
        requests=len(done),
        errors=len(failed),
        p50_ms=_percentile(latencies, 50) * 1000,
        p95_ms=_percentile(latencies, 95) * 1000,
        p99_ms=_percentile(latencies, 99) * 1000,
        mean_kb=(sum(size for _, size in done) / len(done) / 1024) if done else 0.0,
        first_error=failed[0] if failed else "",
    )


def table(rows: list[Row]) -> str:
    lines = [
        "| endpoint | clients | requests | req/s | p50 (ms) | p95 (ms) | p99 (ms) | errors | mean KB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| `{r.endpoint}` | {r.concurrency} | {r.requests} | {r.throughput:.1f} | {r.p50_ms:.1f} | {r.p95_ms:.1f}"
            f" | {r.p99_ms:.1f} | {r.errors} | {r.mean_kb:.1f} |"
        )
    return "\n".join(lines)


def _cpu_busy(seconds: float = 3.0) -> str:
    """How busy the CPUs are with other work, sampled from /proc/stat before the run starts."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)

    try:
        busy0, total0 = sample()
        time.sleep(seconds)
        busy1, total1 = sample()
    except OSError:
        return "n/a"
    return f"{100 * (busy1 - busy0) / max(1, total1 - total0):.0f} %"


def _load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def write_report(out: Path, rows: list[Row], facts: dict) -> None:
    errors = [r for r in rows if r.errors]
    text = f"""# Load test: the served app at increasing concurrency

Written by `{facts["command"]}` on {facts["when"]} ({facts["seconds"]:.0f} s per row, after a warm-up).

- Server: {facts["server"]}, on 127.0.0.1, against the dev database ({facts["cases"]} cases,
  {facts["villages"]} villages, {facts["parcels"]} parcels in force).
- Client: `bench/load.py`, one thread and one kept-alive HTTP/1.1 connection per concurrent client,
  token authentication (user `loadtest`, role planner); an error is any answer but 200, or a failed connection.
- Machine: {facts["cpus"]} CPUs, {facts["machine"]}; client, gunicorn and PostgreSQL share them, and so does
  any other work running at the time: just before the run the CPUs were {facts["busy_before"]} busy with other
  work (load average {facts["load_before"]}). On a shared machine the rows at 16 and 32 clients vary most.
- Requests: `/api/locate/` at random points inside the banner outline (fixed seed); `/api/layers/villages/`
  and `/api/cases/` with random {WINDOW_DEG}° x {WINDOW_DEG}° `bbox` windows over the banner (a map view
  around zoom 11).

{table(rows)}

Errors: {sum(r.errors for r in rows)} in {sum(r.requests + r.errors for r in rows)} requests.
"""
    if errors:
        text += "\nFirst error per row:\n\n" + "\n".join(
            f"- `{r.endpoint}` x {r.concurrency}: {r.first_error}" for r in errors
        )
        text += "\n"
    text += """
Throughput stops growing once every CPU is busy (2 here): beyond that, more concurrent clients only
queue, and p95/p99 grow with the queue while p50 follows the per-request cost. Reproduce with
`.venv/bin/python -m bench.load` (`--seconds`, `--concurrency 1,4,16,32`, `--workers`, `--threads`).
"""
    out.write_text(text, "utf-8")


def run(
    seconds: float = 10.0,
    concurrency: tuple[int, ...] = CONCURRENCY,
    workers: int = 3,
    threads: int = 4,
    out: Path | None = DEFAULT_OUT,
    command: str = "python -m bench.load",
) -> list[Row]:
    facts = setup()
    server = Gunicorn(workers, threads)
    load_before, busy_before = _load_average(), _cpu_busy()
    server.start()
    rows: list[Row] = []
    try:
        eps = endpoints([tuple(p) for p in facts["points"]], facts["bounds"])
        for endpoint in eps:  # warm every worker's connection and caches; not recorded
            warm = measure(server.port, facts["token"], endpoint, min(8, max(concurrency)), 2.0)
            if warm.errors:
                raise RuntimeError(f"{endpoint.name} fails before the test: {warm.first_error}")
        for endpoint in eps:
            for level in concurrency:
                row = measure(server.port, facts["token"], endpoint, level, seconds)
                rows.append(row)
                print(
                    f"{row.endpoint:<30} c={level:<3} {row.throughput:8.1f} req/s  p50 {row.p50_ms:7.1f}"
                    f"  p95 {row.p95_ms:7.1f}  p99 {row.p99_ms:7.1f} ms  errors {row.errors}",
                    flush=True,
                )
    finally:
        server.stop()
    facts.update(
        command=command,
        when=time.strftime("%Y-%m-%d %H:%M %Z"),
        seconds=seconds,
        server=server.describe(),
        cpus=os.cpu_count(),
        machine=f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        load_before=load_before,
        busy_before=busy_before,
    )
    if out is not None:
        write_report(out, rows, facts)
    print()
    print(table(rows))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per endpoint and concurrency")
    parser.add_argument("--concurrency", default=",".join(map(str, CONCURRENCY)), help="e.g. 1,4,16,32")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="report file ('-' for none)")
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    rows = run(
        seconds=args.seconds,
        concurrency=tuple(int(c) for c in args.concurrency.split(",") if c.strip()),
        workers=args.workers,
        threads=args.threads,
        out=None if args.out == "-" else Path(args.out),
        command=" ".join(["python -m bench.load", *map(shlex.quote, argv)]),
    )
    return 1 if any(r.errors for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
