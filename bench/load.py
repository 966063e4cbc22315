"""Load test of the served app: `python -m bench.load` (writes bench/LOAD.md and prints the table).

Starts the site exactly as a county does, `make run` (gunicorn per geo_disputes/gunicorn_conf.py, debug off,
the app role, the scheduler beside it) on a free loopback port against the configured (dev) database, and
stops it at the end. It authenticates with the token of a read-only `loadtest` user (role planner: every
case, no personal data; created once, with a fresh token and a fresh session each run — the only writes this
makes), then hits four endpoints at increasing concurrency, each for a bounded time, over kept-alive HTTP/1.1
connections, one client thread per connection:

- /api/locate/?lon=&lat=          random points inside the banner outline (a fixed seed);
- /api/layers/villages/?bbox=     random 0.1° x 0.1° windows over the banner (a map view at ~zoom 11);
- /api/cases/?bbox=               the same windows;
- /maps/planner/                  the planner's page (HTML; the session cookie, as a browser sends it).

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
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench.server import free_port

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_OUT = ROOT / "bench" / "LOAD.md"
CONCURRENCY = (1, 8, 32, 100)
WINDOW_DEG = 0.1
POINTS = 5000

# Run by `manage.py shell` on the configured database: the loadtest user (created once) and a fresh token,
# what the database holds, and points inside the banner outline.
_SETUP = """
import json, random
import shapely
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from geo_disputes.services.ops import tokens
from geo_disputes.models import Banner, Case, Parcel, StaffProfile, Village
user, _ = get_user_model().objects.get_or_create(username="loadtest", defaults={{"is_active": True}})
if user.has_usable_password():
    user.set_unusable_password()
    user.save(update_fields=["password"])
StaffProfile.objects.get_or_create(user=user, defaults={{"role": "planner", "scope_code": ""}})
tokens.revoke_all(user)  # only a hash is stored: a fresh token each run
_, token = tokens.issue(user, name="loadtest")
session = SessionStore()
session.update({{SESSION_KEY: str(user.pk), HASH_SESSION_KEY: user.get_session_auth_hash(),
                BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend"}})
session.create()
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
    "token": token, "session": session.session_key, "points": points, "bounds": [x0, y0, x1, y1],
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
    """The environment `make run` gives the site: no DJANGO_*/DB_ROLE overrides, so the default settings, the
    app role and the secret key in .state/ apply."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DB_ROLE", "GD_"))}
    env["LOG_LEVEL"] = "ERROR"
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


class MakeRun:
    """`make run` on a free loopback port, as a county starts the site; stopped with its whole process group.

    The rows are then what a user of the default set-up gets: the server, its workers and threads, its
    database connections and the scheduler beside it are whatever `make run` configures, not this script."""

    def __init__(self, port: int = 0):
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log = Path(tempfile.gettempdir()) / f"gd-load-make-run-{os.getpid()}.log"

    @property
    def command(self) -> list[str]:
        return ["make", "-s", "run", "HOST=127.0.0.1", f"PORT={self.port}"]

    def describe(self) -> str:
        from geo_disputes import gunicorn_conf

        return (
            f"`make run` (bin/with-scheduler bin/serve: gunicorn {gunicorn_conf.workers} workers x "
            f"{gunicorn_conf.threads} threads, gthread, keep-alive {gunicorn_conf.keepalive} s, debug off, "
            "the app role, the scheduler beside it)"
        )

    def start(self, timeout: float = 600) -> None:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command, cwd=ROOT, env=_app_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"make run exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"make run did not listen within {timeout:.0f} s (log: {self.log})")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=60)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None


class Endpoint:
    def __init__(self, name: str, make_path, session: bool = False):
        self.name = name
        self.make_path = make_path  # (random.Random) -> path with query
        self.session = session  # an HTML page: the session cookie instead of the token


ENDPOINTS = ("locate", "villages", "cases", "planner")


def endpoints(
    points: list[tuple[float, float]],
    bounds: list[float],
    window_deg: float = WINDOW_DEG,
    only: tuple[str, ...] = ENDPOINTS,
    session: str | None = None,
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
        "planner": Endpoint("/maps/planner/", lambda rng: "/maps/planner/", session=True),
    }
    if session is None:  # a remote server with only a token: no page
        only = tuple(name for name in only if name != "planner")
    unknown = sorted(set(only) - set(every))
    if unknown:
        raise ValueError(f"unknown endpoint {unknown[0]!r}; choose from {', '.join(ENDPOINTS)}")
    return [every[name] for name in ENDPOINTS if name in only]


class Target:
    """Where requests go: a base URL (http or https, with an optional path prefix) and the token sent."""

    def __init__(self, base_url: str, token: str, session: str | None = None):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--url must be http(s)://host[:port][/prefix], not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.token = token
        self.session = session

    def connection(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=60)

    def headers(self, endpoint: Endpoint | None = None) -> dict[str, str]:
        if endpoint is not None and endpoint.session:
            return {"Cookie": f"sessionid={self.session}", "Accept": "text/html"}
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
    headers = target.headers(endpoint)
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
  token authentication ({facts["who"]}; the planner page with that user's session cookie); an error is any
  answer but 200, or a failed connection.
- Machine: {facts["cpus"]} CPUs, {facts["machine"]}; client, server and PostgreSQL share them, and so does
  any other work running at the time: just before the run the CPUs were {facts["busy_before"]} busy with other
  work (load average {facts["load_before"]}). On a shared machine the rows at 32 and 100 clients vary most.
- Requests: `/api/locate/` at random points inside the banner outline (fixed seed); `/api/layers/villages/`
  and `/api/cases/` with random {facts["window"]}° x {facts["window"]}° `bbox` windows inside
  {facts["region"]}; `/maps/planner/` the same page each time.

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
`.venv/bin/python -m bench.load` (`--seconds`, `--concurrency 1,8,32,100`, `--endpoints`), or
against a server already running: `.venv/bin/python -m bench.load --url http://127.0.0.1:8000`.
"""
    out.write_text(text + _kept_sections(out), "utf-8")


KEEP_MARKER = "<!-- written by hand below: bench/load.py keeps everything from this line on -->"


def _kept_sections(out: Path) -> str:
    """The hand-written part of an existing report (from KEEP_MARKER on), so a new run does not drop it."""
    try:
        old = out.read_text("utf-8")
    except OSError:
        return ""
    at = old.find(KEEP_MARKER)
    return "\n" + old[at:] if at >= 0 else ""


def run(
    seconds: float = 20.0,
    concurrency: tuple[int, ...] = CONCURRENCY,
    out: Path | None = DEFAULT_OUT,
    command: str = "python -m bench.load",
    url: str | None = None,
    token: str | None = None,
    only: tuple[str, ...] = ENDPOINTS,
    region: tuple[float, float, float, float] | None = None,
    window: float = WINDOW_DEG,
    port: int = 0,
) -> list[Row]:
    """Measure every endpoint in `only` at each concurrency; `make run` started here unless `url` names a
    running server. Without `token` the loadtest user's token and session are made in the configured database."""
    if token:
        target = Target(url or "http://127.0.0.1", token)
        facts = remote_facts(target) if url else {**setup(), "token": token}
        who = "the token given"
    else:
        facts = setup()
        who = "user `loadtest`, role planner"
    server = None if url else MakeRun(port)
    if server is not None:
        url = f"http://127.0.0.1:{server.port}"
    target = Target(url, facts["token"], facts.get("session"))
    load_before, busy_before = _load_average(), _cpu_busy()
    if server is not None:
        server.start()
    rows: list[Row] = []
    try:
        eps = endpoints(
            [tuple(p) for p in facts["points"]], list(region or facts["bounds"]), window, only, facts.get("session")
        )
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
        server=server.describe() + ", started by this script on 127.0.0.1"
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
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per endpoint and concurrency")
    parser.add_argument("--concurrency", default=",".join(map(str, CONCURRENCY)), help="e.g. 1,4,16,32")
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
    parser.add_argument("--port", type=int, default=0, help="port of the `make run` started here (default: a free one)")
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
