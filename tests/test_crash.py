"""An acknowledged case survives a crash of PostgreSQL (issue 19; README "Reliability").

The test builds a throwaway cluster of its own with the project's start options — `bin/pg-cluster start`
with GD_PGBASE (a temporary directory) and PGPORT, so the same initdb, the same `postgres -c ...` options
(durable: synchronous_commit, fsync and full_page_writes at PostgreSQL's defaults), the same roles and
database — and never touches the shared cluster. It migrates it as the owner role, seeds the test places and
one banner administrator with an API token, and starts a real server process (`manage.py runserver
--noreload`, as the app role, as `make run` serves; threaded, one thread per request).

Client threads then register cases (POST /api/cases/) and accept each (POST .../transitions/), recording
every reference answered 201 and every transition answered 200. Part-way, PostgreSQL goes down:
1. SIGKILL of the postmaster (its backends notice and quit; none writes a checkpoint);
2. `pg_ctl stop -m immediate`: every process quits at once without a checkpoint — the closest to a power
   cut this test can make (a real one also loses the OS page cache, which needs a machine to switch off;
   fsync at commit is what covers that, and it is on).
Each time the clients stop, the cluster is started again by `bin/pg-cluster start` (crash recovery from the
WAL), and the database must hold every acknowledged reference with its `report` and `route` events and
every acknowledged transition in the history — and nothing half-written: every case has its petitioner
and its report and route events, and its status is exactly what its events say (no event without its case
change, no change without its event).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg2
import pytest
import requests
from django.conf import settings

from tests.factories import intake_body

pytestmark = pytest.mark.crash

ROOT = Path(settings.BASE_DIR)
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))
CLIENTS = 4
ACKED_BEFORE_CRASH = 12  # references acknowledged in a round before PostgreSQL is brought down

_SEED = """
from django.contrib.auth import get_user_model
from geo_disputes.models import Banner, StaffProfile
from geo_disputes.services.ops import tokens
from tests.factories import box, seed_places
Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
seed_places()
user = get_user_model().objects.create_user("crash-clerk")
StaffProfile.objects.create(user=user, role="banner_admin")
print("token", tokens.issue(user, name="crash test")[1])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(args: list[str]) -> list[str]:
    """initdb and pg_ctl refuse root: bin/pg-cluster runs them as `postgres`, and so does this test."""
    return ["runuser", "-u", "postgres", "--", *args] if os.getuid() == 0 else args


class Cluster:
    """A cluster made by bin/pg-cluster in its own directory (GD_PGBASE) on its own port."""

    def __init__(self):
        # Not pytest's tmp_path: with root that is private to root, and the cluster runs as `postgres`.
        self.base = Path(tempfile.mkdtemp(prefix="gd-crash-"))
        self.data = self.base / "data"
        self.port = str(free_port())  # only names the unix socket: the cluster listens on no TCP port

    def env(self, role: str = "owner") -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_OWNER_URL", "PGDATABASE_NAME")
        }
        env.update(GD_PGBASE=str(self.base), PGPORT=self.port, DB_ROLE=role)
        env["DJANGO_SETTINGS_MODULE"] = "geo_disputes.settings"
        return env

    def start(self) -> None:
        run([str(ROOT / "bin" / "pg-cluster"), "start"], self.env())

    def manage(self, *args: str, role: str = "owner") -> str:
        return run([sys.executable, str(ROOT / "manage.py"), *args], self.env(role))

    def connect(self):
        conn = psycopg2.connect(host=str(self.base), port=self.port, user="postgres", dbname="geo_disputes")
        conn.autocommit = True
        return conn

    def processes(self) -> list[int]:
        """The cluster's processes: every PostgreSQL process runs in its data directory."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(entry / "cwd") == str(self.data):
                        pids.append(int(entry.name))
        return pids

    def postmaster(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def kill_postmaster(self) -> None:
        postmaster = self.postmaster()
        os.kill(postmaster, signal.SIGKILL)
        self.wait_gone(postmaster)

    def stop_immediate(self) -> None:
        postmaster = self.postmaster()
        run(as_postgres([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]), self.env())
        self.wait_gone(postmaster)

    def wait_gone(self, postmaster: int | None = None, timeout: float = 20) -> None:
        """Until none of the cluster's processes is left (a backend quits when it sees the postmaster gone),
        nor the postmaster's zombie (pg_ctl would take it for a running server): a new postmaster could not
        start beside them."""
        deadline = time.monotonic() + timeout
        while self.processes() or (postmaster and Path(f"/proc/{postmaster}").exists()):
            assert time.monotonic() < deadline + timeout, f"processes of {self.data} still there"
            if time.monotonic() > deadline:
                for pid in self.processes():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                subprocess.run(
                    as_postgres([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                    capture_output=True,
                    timeout=60,
                )
        with contextlib.suppress(Exception):
            self.wait_gone()
        shutil.rmtree(self.base, ignore_errors=True)


def run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


class Clients:
    """CLIENTS threads, each registering a case and accepting it, in a loop, until told to stop."""

    def __init__(self, url: str, token: str, round_no: int):
        self.url, self.token, self.round_no = url, token, round_no
        self.acked_cases: list[str] = []  # references answered 201
        self.acked_accepts: list[str] = []  # references whose accept was answered 200
        self.failures = 0  # answers other than 201/200, and failed connections (while the database is down)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.work, args=(n,), daemon=True) for n in range(CLIENTS)]

    def __enter__(self) -> Clients:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def work(self, client: int) -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Token {self.token}"
        n = 0
        while not self.stop.is_set():
            n += 1
            # A different petitioner each time: the same person again would be linked as a repeat, not accepted.
            petitioner = {
                "name": f"王建国{self.round_no}{client}{n}",
                "phone": f"139{self.round_no}{client}{n:06d}",
                "id_number": f"1506221970{self.round_no}{client}{n:05d}1",
            }
            body = intake_body(
                description=f"崩溃测试 {self.round_no}-{client}-{n}: 草地被占用", petitioners=[petitioner]
            )
            try:
                created = http.post(f"{self.url}/api/cases/", json=body, timeout=30)
                if created.status_code != 201:
                    self.failed()
                    continue
                case = created.json()
                with self.lock:
                    self.acked_cases.append(case["reference"])
                accepted = http.post(
                    f"{self.url}/api/cases/{case['reference']}/transitions/",
                    json={"action": "accept", "version": case["version"]},
                    timeout=30,
                )
                if accepted.status_code == 200:
                    with self.lock:
                        self.acked_accepts.append(case["reference"])
                else:
                    self.failed()
            except requests.RequestException:
                self.failed()

    def failed(self) -> None:
        with self.lock:
            self.failures += 1
        time.sleep(0.05)  # the database is down: do not spin

    def wait_for(self, acked: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked_cases) < acked:
            assert time.monotonic() < deadline, f"only {len(self.acked_cases)} cases acknowledged in {timeout} s"
            time.sleep(0.01)


def start_server(cluster: Cluster, log: Path) -> tuple[subprocess.Popen, str]:
    """The server process and its URL; it connects to the database only when a request comes."""
    port = free_port()
    env = cluster.env(role="app")
    # The server `make run` starts (bin/serve: gunicorn, debug off, plain HTTP), two workers of two threads.
    env.update(HOST="127.0.0.1", PORT=str(port), WEB_WORKERS="2", WEB_THREADS="2", GD_LOG_DIR=str(log.parent / "web"))
    with log.open("wb") as out:
        server = subprocess.Popen([str(ROOT / "bin" / "serve")], env=env, cwd=ROOT, stdout=out, stderr=out)
    return server, f"http://127.0.0.1:{port}"


def wait_for_server(server: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, f"the server exited:\n{log.read_text(errors='replace')[-2000:]}"
        # Not up yet: refused, or (a loaded machine, the workers still importing) no answer within 5 s.
        with contextlib.suppress(requests.ConnectionError, requests.Timeout):
            if requests.get(f"{url}/api/cases/", timeout=5).status_code == 401:
                return
        assert time.monotonic() < deadline, "the server did not answer within 60 s"
        time.sleep(0.1)


_STATE = """
SELECT c.reference, c.status, c.version,
       (SELECT count(*) FROM geo_disputes_party p WHERE p.case_id = c.id),
       coalesce((SELECT array_agg(e.action ORDER BY e.at, e.id) FROM geo_disputes_caseevent e WHERE e.case_id = c.id),
                '{}'),
       (SELECT e.to_status FROM geo_disputes_caseevent e WHERE e.case_id = c.id AND e.to_status <> ''
         ORDER BY e.at DESC, e.id DESC LIMIT 1)
FROM geo_disputes_case c
"""


def check(cluster: Cluster, acked_cases: set[str], acked_accepts: set[str]) -> dict[str, tuple]:
    """Every acknowledged case and transition is there, and nothing half-written is; returns the cases."""
    conn = cluster.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(_STATE)
            cases = {r[0]: r[1:] for r in cursor.fetchall()}
            cursor.execute(
                "SELECT count(*) FROM geo_disputes_caseevent e"
                " WHERE NOT EXISTS (SELECT FROM geo_disputes_case c WHERE c.id = e.case_id)"
            )
            assert cursor.fetchone()[0] == 0, "events of a case that is not there"
    finally:
        conn.close()
    intake_versions = {version for status, version, *_ in cases.values() if status == "reported"}
    intake_versions |= {version - 1 for status, version, *_ in cases.values() if status == "accepted"}
    assert len(intake_versions) == 1, f"cases' versions do not follow their histories: {intake_versions}"
    lost = sorted(acked_cases - cases.keys())
    assert not lost, f"{len(lost)} acknowledged case(s) lost: {lost[:10]}"
    for reference, (status, _version, petitioners, events, last_status) in cases.items():
        assert petitioners == 1, f"{reference}: {petitioners} petitioners"
        assert events[:2] == ["report", "route"], f"{reference}: history starts {events[:3]}"
        accepts = events.count("accept")
        # The case's status and version are what its history says: accepted with its accept event, never one
        # without the other (the accept event and the case's change commit together).
        assert status == ("accepted" if accepts else "reported"), f"{reference}: {status} with history {events}"
        assert last_status == status, f"{reference}: status {status}, last event says {last_status}"
        if reference in acked_accepts:
            assert accepts == 1, f"{reference}: acknowledged accept lost ({events})"
    return cases


def test_acknowledged_cases_and_transitions_survive_postgres_crashes(tmp_path):
    if os.environ.get("DATABASE_URL"):
        pytest.skip("DATABASE_URL names another PostGIS: the crash test needs the local cluster's binaries")
    cluster = Cluster()
    server = None
    started = time.monotonic()

    def took(what: str) -> None:
        print(f"{time.monotonic() - started:5.1f} s  {what}")

    try:
        cluster.start()
        took("cluster made (bin/pg-cluster start)")
        cluster.manage("migrate", "--noinput", "-v", "0")
        took("migrated")
        server, url = start_server(cluster, tmp_path / "server.log")  # starts up while the places are seeded
        token = cluster.manage("shell", "-c", _SEED).split("token ", 1)[1].strip()
        took("seeded")
        wait_for_server(server, url, tmp_path / "server.log")
        took("server up")

        acked_cases: set[str] = set()
        acked_accepts: set[str] = set()
        for round_no, crash in enumerate((cluster.kill_postmaster, cluster.stop_immediate), start=1):
            with Clients(url, token, round_no) as clients:
                clients.wait_for(ACKED_BEFORE_CRASH)
                crash()  # while the clients go on: some requests are mid-commit, the rest fail
                time.sleep(0.3)
            took(f"{crash.__name__} and clients stopped")
            acked_cases |= set(clients.acked_cases)
            acked_accepts |= set(clients.acked_accepts)
            cluster.start()  # crash recovery
            took("recovered")
            cases = check(cluster, acked_cases, acked_accepts)
            print(
                f"{crash.__name__}: {len(clients.acked_cases)} cases and {len(clients.acked_accepts)} accepts"
                f" acknowledged in the round, {clients.failures} failed requests; after recovery"
                f" {len(cases)} cases, all acknowledged ones whole"
            )

        # The server reconnects by itself after the restarts: a last case goes through end to end.
        http = requests.Session()
        http.headers["Authorization"] = f"Token {token}"
        after = http.post(f"{url}/api/cases/", json=intake_body(description="恢复后登记"), timeout=30)
        assert after.status_code == 201, after.text[:500]
        check(cluster, acked_cases | {after.json()["reference"]}, acked_accepts)
    finally:
        if server is not None:
            server.terminate()  # gunicorn's master stops its workers
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=30)
        cluster.destroy()
