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

Measuring a server already running (e.g. what `make run` serves) instead of one started here:

    .venv/bin/python -m bench.load --url http://127.0.0.1:8000 [--token SECRET] [--endpoints cases]

With `--url` nothing is started or stopped. Without `--token` (or LOAD_TOKEN) the `loadtest` user and its
token are made in the configured database, which must be the one that server uses (the default for
`make run`); with a token (`manage.py api_token USERNAME`, any role) the database is not touched: the
banner's outline comes from the server's own /api/layers/townships/. `--region x0,y0,x1,y1` keeps the
bbox windows inside a box (e.g. one village, for a village officer) and `--window` sets their size.

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
from urllib.parse import urlencode, urlsplit

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

    def __init__(self, workers: int, threads: int, port: int = 0):
        self.workers, self.threads = workers, threads
        self.port = port or free_port()
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


ENDPOINTS = ("locate", "villages", "cases")


def endpoints(
    points: list[tuple[float, float]],
    bounds: list[float],
    window_deg: float = WINDOW_DEG,
    only: tuple[str, ...] = ENDPOINTS,
) -> list[Endpoint]:
    """The endpoints named in `only` (of ENDPOINTS); bbox windows of `window_deg` drawn inside `bounds`
    (a window as large as the bounds, or larger, is the bounds themselves)."""
    x0, y0, x1, y1 = bounds
    wx, wy = min(window_deg, x1 - x0), min(window_deg, y1 - y0)

    def window(rng: random.Random) -> str:
        x = rng.uniform(x0, x1 - wx)
        y = rng.uniform(y0, y1 - wy)
        return f"{x:.5f},{y:.5f},{x + wx:.5f},{y + wy:.5f}"

    def locate(rng: random.Random) -> str:
        lon, lat = rng.choice(points)
        return "/api/locate/?" + urlencode({"lon": lon, "lat": lat})

    every = {
        "locate": Endpoint("/api/locate/", locate),
        "villages": Endpoint(
            "/api/layers/villages/?bbox=", lambda rng: "/api/layers/villages/?" + urlencode({"bbox": window(rng)})
        ),
        "cases": Endpoint("/api/cases/?bbox=", lambda rng: "/api/cases/?" + urlencode({"bbox": window(rng)})),
    }
    unknown = sorted(set(only) - set(every))
    if unknown:
        raise ValueError(f"unknown endpoint {unknown[0]!r}; choose from {', '.join(ENDPOINTS)}")
    return [every[name] for name in ENDPOINTS if name in only]


class Target:
    """Where requests go: a base URL (http or https, with an optional path prefix) and the token sent."""

    def __init__(self, base_url: str, token: str):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--url must be http(s)://host[:port][/prefix], not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.token = token

    def connection(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=60)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}", "Accept": "application/json"}

    def get_json(self, path: str) -> dict:
        conn = self.connection()
        try:
            conn.request("GET", self.prefix + path, headers=self.headers())
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise RuntimeError(f"GET {self.base_url}{path}: HTTP {response.status}: {body[:300]!r}")
        return json.loads(body)


def remote_facts(target: Target, points: int = POINTS) -> dict:
    """What `setup` gives, asked of a running server with the caller's token: the banner's bounds and
    random points inside it (from the townships layer, whose union is the banner); nothing is written."""
    import shapely

    layer = target.get_json("/api/layers/townships/?page_size=5000")
    shapes = [shapely.geometry.shape(f["geometry"]) for f in layer.get("features", []) if f.get("geometry")]
    if not shapes:
        raise RuntimeError(f"{target.base_url}/api/layers/townships/ returned no township: no areas loaded?")
    outline = shapely.union_all(shapes)
    shapely.prepare(outline)
    x0, y0, x1, y1 = outline.bounds
    rng = random.Random(20240611)
    found: list[tuple[float, float]] = []
    while len(found) < points:
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if outline.contains(shapely.Point(x, y)):
            found.append((round(x, 6), round(y, 6)))
    return {"token": target.token, "points": found, "bounds": [x0, y0, x1, y1]}


def _client(target: Target, endpoint: Endpoint, seed: int, stop_at: float, out: list, errors: list) -> None:
    """One connection: request after request until `stop_at`; (seconds, bytes) per 200 into `out`."""
    rng = random.Random(seed)
    headers = target.headers()
    conn = None
    while time.perf_counter() < stop_at:
        path = target.prefix + endpoint.make_path(rng)
        if conn is None:
            conn = target.connection()
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


def measure(target: Target, endpoint: Endpoint, concurrency: int, seconds: float) -> Row:
    results: list[list] = [[] for _ in range(concurrency)]
    errors: list[list] = [[] for _ in range(concurrency)]
    started = time.perf_counter()
    stop_at = started + seconds
    threads = [
        threading.Thread(
            target=_client, args=(target, endpoint, 1000 * concurrency + i, stop_at, results[i], errors[i])
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
    if facts.get("cases") is not None:
        data = (
            f"against the configured database ({facts['cases']} cases, {facts['villages']} villages, "
            f"{facts['parcels']} parcels in force)"
        )
    else:
        data = "against whatever database that server uses (not read by this script)"
    text = f"""# Load test: the served app at increasing concurrency

Written by `{facts["command"]}` on {facts["when"]} ({facts["seconds"]:.0f} s per row, after a warm-up).

- Server: {facts["server"]}, {data}.
- Client: `bench/load.py`, one thread and one kept-alive HTTP/1.1 connection per concurrent client,
  token authentication ({facts["who"]}); an error is any answer but 200, or a failed connection.
- Machine: {facts["cpus"]} CPUs, {facts["machine"]}; client, server and PostgreSQL share them, and so does
  any other work running at the time: just before the run the CPUs were {facts["busy_before"]} busy with other
  work (load average {facts["load_before"]}). On a shared machine the rows at 16 and 32 clients vary most.
- Requests: `/api/locate/` at random points inside the banner outline (fixed seed); `/api/layers/villages/`
  and `/api/cases/` with random {facts["window"]}° x {facts["window"]}° `bbox` windows inside
  {facts["region"]}.

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
`.venv/bin/python -m bench.load` (`--seconds`, `--concurrency 1,4,16,32`, `--workers`, `--threads`), or
against a server already running: `.venv/bin/python -m bench.load --url http://127.0.0.1:8000`.
"""
    out.write_text(text, "utf-8")


def run(
    seconds: float = 10.0,
    concurrency: tuple[int, ...] = CONCURRENCY,
    workers: int = 3,
    threads: int = 4,
    out: Path | None = DEFAULT_OUT,
    command: str = "python -m bench.load",
    url: str | None = None,
    token: str | None = None,
    only: tuple[str, ...] = ENDPOINTS,
    region: tuple[float, float, float, float] | None = None,
    window: float = WINDOW_DEG,
    port: int = 0,
) -> list[Row]:
    """Measure every endpoint in `only` at each concurrency; a gunicorn started here unless `url` names a
    running server. Without `token` the loadtest user's token is made in the configured database."""
    if token:
        target = Target(url or "http://127.0.0.1", token)
        facts = remote_facts(target) if url else {**setup(), "token": token}
        who = "the token given"
    else:
        facts = setup()
        who = "user `loadtest`, role planner"
    server = None if url else Gunicorn(workers, threads, port)
    if server is not None:
        url = f"http://127.0.0.1:{server.port}"
    target = Target(url, facts["token"])
    load_before, busy_before = _load_average(), _cpu_busy()
    if server is not None:
        server.start()
    rows: list[Row] = []
    try:
        eps = endpoints([tuple(p) for p in facts["points"]], list(region or facts["bounds"]), window, only)
        for endpoint in eps:  # warm every worker's connection and caches; not recorded
            warm = measure(target, endpoint, min(8, max(concurrency)), 2.0)
            if warm.errors:
                raise RuntimeError(f"{endpoint.name} fails before the test: {warm.first_error}")
        for endpoint in eps:
            for level in concurrency:
                row = measure(target, endpoint, level, seconds)
                rows.append(row)
                print(
                    f"{row.endpoint:<30} c={level:<3} {row.throughput:8.1f} req/s  p50 {row.p50_ms:7.1f}"
                    f"  p95 {row.p95_ms:7.1f}  p99 {row.p99_ms:7.1f} ms  errors {row.errors}",
                    flush=True,
                )
    finally:
        if server is not None:
            server.stop()
    facts.update(
        command=command,
        when=time.strftime("%Y-%m-%d %H:%M %Z"),
        seconds=seconds,
        server=server.describe() + ", on 127.0.0.1"
        if server is not None
        else f"the server running at {url} (started by someone else, e.g. `make run`; not started by this script)",
        who=who,
        window=window,
        region="the box " + ",".join(f"{v:g}" for v in region) if region else "the banner's bounds",
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


def _box(text: str) -> tuple[float, float, float, float]:
    values = tuple(float(v) for v in text.split(","))
    if len(values) != 4 or values[0] >= values[2] or values[1] >= values[3]:
        raise argparse.ArgumentTypeError(f"expected x0,y0,x1,y1 with x0 < x1 and y0 < y1, not {text!r}")
    return values  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per endpoint and concurrency")
    parser.add_argument("--concurrency", default=",".join(map(str, CONCURRENCY)), help="e.g. 1,4,16,32")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (none with --url)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (none with --url)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="report file ('-' for none)")
    parser.add_argument(
        "--url", help="measure the server already running at this base URL (e.g. http://127.0.0.1:8000)"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("LOAD_TOKEN") or None,
        help="API token to send (`manage.py api_token USERNAME`; default $LOAD_TOKEN, else the loadtest user's)",
    )
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help=f"some of {','.join(ENDPOINTS)}")
    parser.add_argument("--region", type=_box, help="x0,y0,x1,y1: draw the bbox windows inside this box")
    parser.add_argument("--window", type=float, default=WINDOW_DEG, help="bbox window size in degrees")
    parser.add_argument("--port", type=int, default=0, help="port of the gunicorn started here (default: a free one)")
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    shown = []  # the command as run, the token left out
    skip = False
    for arg in argv:
        if skip:
            shown.append("…")
            skip = False
            continue
        if arg == "--token":
            skip = True
        shown.append("--token=…" if arg.startswith("--token=") else arg)
    rows = run(
        seconds=args.seconds,
        concurrency=tuple(int(c) for c in args.concurrency.split(",") if c.strip()),
        workers=args.workers,
        threads=args.threads,
        out=None if args.out == "-" else Path(args.out),
        command=" ".join(["python -m bench.load", *map(shlex.quote, shown)]),
        url=args.url,
        token=args.token,
        only=tuple(e.strip() for e in args.endpoints.split(",") if e.strip()),
        region=args.region,
        window=args.window,
        port=args.port,
    )
    return 1 if any(r.errors for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
