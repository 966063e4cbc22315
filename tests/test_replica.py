"""Read replicas (issue 16 item 5), against a real streaming standby of the project-local cluster.

The fixture makes the standby with `pg_basebackup -R` from the cluster the tests run on and starts it on its own
socket and port; then the routing, the read-your-own-write rule, lag (replay paused on the standby) and failover
(the standby stopped under a live connection) are driven through the site's pages as users meet them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import types
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from geo_disputes.models import Banner, Case
from geo_disputes.services.ops import replica

from .factories import CaseFactory, StaffFactory, UnitFactory, box, seed_places

PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))
pytestmark = pytest.mark.skipif(not (PGBIN / "pg_basebackup").exists(), reason="PostgreSQL 15 server binaries")


def _as_postgres(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + args, capture_output=True, text=True, timeout=300, **kwargs)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Standby:
    """A hot standby of the test cluster in a directory of its own."""

    def __init__(self) -> None:
        primary = connections["default"].settings_dict
        self.primary_host, self.primary_port = primary["HOST"], str(primary["PORT"])
        self.base = Path(tempfile.mkdtemp(prefix="gd-replica-", dir="/tmp"))
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        self.data = self.base / "data"
        self.port = str(55000 + os.getpid() % 900)
        # A replication slot keeps the WAL the standby still needs: the other test worker writes fast enough for a
        # base backup to find its starting segment recycled without one. Dropped in remove(); stale ones at start.
        self.slot = f"gd_replica_{os.getpid()}"

    def primary_sql(self, statement: str) -> str:
        done = _as_postgres(
            [str(PGBIN / "psql"), "-XAtq", "-h", self.primary_host, "-p", self.primary_port, "-U", "postgres",
             "-d", "postgres", "-c", statement]
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def start(self) -> None:
        for slot in self.primary_sql(
            "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'gd\\_replica\\_%' AND NOT active"
        ).split():
            if not _alive(int(slot.rsplit("_", 1)[1])):  # left by a test process that died; never another worker's
                self.primary_sql(f"SELECT pg_drop_replication_slot('{slot}')")
        made = _as_postgres(
            [str(PGBIN / "pg_basebackup"), "-h", self.primary_host, "-p", self.primary_port, "-U", "postgres",
             "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "-C", "-S", self.slot]
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        self.run()

    def run(self) -> None:
        """Start the standby's server (again, after a test stopped it)."""
        options = f"-p {self.port} -k {self.base} -c listen_addresses='' -c hot_standby=on -c shared_buffers=64MB"
        started = _as_postgres(
            [str(PGBIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "log"), "-o", options, "-w", "start"]
        )
        assert started.returncode == 0, started.stderr + (self.base / "log").read_text(errors="replace")

    def running(self) -> bool:
        return _as_postgres([str(PGBIN / "pg_ctl"), "-D", str(self.data), "status"]).returncode == 0

    def stop(self, mode: str = "fast") -> None:
        _as_postgres([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def sql(self, statement: str) -> str:
        done = _as_postgres(
            [str(PGBIN / "psql"), "-XAtq", "-h", str(self.base), "-p", self.port, "-U", "postgres", "-d", "postgres",
             "-c", statement]
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def settings(self) -> dict:
        settings = dict(connections["default"].settings_dict)
        settings.update(HOST=str(self.base), PORT=self.port, TEST={"MIRROR": None})
        settings["OPTIONS"] = {**settings.get("OPTIONS", {}), "connect_timeout": 1}
        return settings

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)
        self.primary_sql(
            f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{self.slot}'"
        )


@pytest.fixture(scope="module")
def standby_node(django_db_setup, django_db_blocker):
    """One standby per module (and per parallel worker): a base backup of the whole test cluster takes seconds."""
    node = Standby()
    try:
        node.start()
        yield node
    finally:
        node.remove()  # also when the start failed half-way: no standby or slot is left behind


@pytest.fixture
def standby(standby_node, transactional_db, settings):
    settings.REPLICA_MAX_LAG_SECONDS = 30
    settings.REPLICA_PROBE_SECONDS = 0  # probe on every read: the test changes the standby's state at will
    settings.REPLICA_RETRY_SECONDS = 30
    if not standby_node.running():  # the failover test stops it
        standby_node.run()
    standby_node.sql("SELECT pg_wal_replay_resume()")
    replica.configure(standby_node.settings())
    _allow_in_this_test(connections[replica.REPLICA])
    try:
        yield standby_node
    finally:
        replica.configure(None)


def _allow_in_this_test(connection) -> None:
    """Django's test case refuses connections to aliases it was not told of when it started (here: before the
    standby existed) by patching ensure_connection; the standby's connection gets the real method back."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    patched = BaseDatabaseWrapper.ensure_connection
    cells = [cell.cell_contents for cell in (getattr(patched, "__closure__", None) or ())]
    real = next((c for c in cells if callable(c) and getattr(c, "__name__", "") == "ensure_connection"), None)
    if real is not None:
        connection.ensure_connection = types.MethodType(real, connection)


@pytest.fixture
def places(transactional_db):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    UnitFactory(code="BD-petitions", name="旗信访局", kind="banner_department")


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _wait_for(predicate, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "the standby did not catch up"
        time.sleep(0.1)


def _points(client: Client) -> str:
    answer = client.get("/api/case-points/")
    assert answer.status_code == 200, answer.content[:300]
    return answer.content.decode()


def _replayed(node: Standby, reference: str) -> bool:
    return replica.configured() and Case.objects.using(replica.REPLICA).filter(reference=reference).exists()


def test_map_reads_go_to_the_replica_and_everything_else_to_the_primary(places, standby):
    planner = StaffFactory(role="planner").user
    case = CaseFactory(reference="ZGE-2026-000101")
    _wait_for(lambda: _replayed(standby, case.reference))
    web = _browser(planner)
    with CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
        body = _points(web)
    assert case.reference in body
    assert any("geo_disputes_case" in q["sql"] for q in on_replica.captured_queries)  # the map read the replica
    with CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
        assert web.get("/cases/").status_code == 200  # a list of cases to act on: the primary
    assert not any("geo_disputes_case" in q["sql"] for q in on_replica.captured_queries)


def test_a_user_reads_their_own_write_while_others_read_the_lagging_replica(places, standby, settings):
    admin = StaffFactory(role="banner_admin").user
    other = StaffFactory(role="planner").user
    writer, reader = _browser(admin), _browser(other)
    before = CaseFactory(reference="ZGE-2026-000201")
    _wait_for(lambda: _replayed(standby, before.reference))
    standby.sql("SELECT pg_wal_replay_pause()")
    from .factories import intake_body

    answer = writer.post("/api/cases/", intake_body(description="刚登记的事项"), content_type="application/json")
    assert answer.status_code == 201, answer.content
    fresh = answer.json()["reference"]
    assert replica.LSN_COOKIE in answer.cookies  # the write's WAL position, for the writer's next reads
    # The writer's own map: the replica has not replayed the write, so the primary answers — with the new case.
    with CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
        assert fresh in _points(writer)
    assert not any("geo_disputes_case" in q["sql"] for q in on_replica.captured_queries)
    # Someone else, within the lag allowed: the replica, which does not have it yet (so the rule above mattered).
    mine = _points(reader)
    assert before.reference in mine and fresh not in mine
    # Lag beyond the limit: everyone reads the primary.
    settings.REPLICA_MAX_LAG_SECONDS = 0.2
    time.sleep(0.5)
    assert replica.replica_state().why.startswith("lagging")
    assert fresh in _points(reader)
    # Replay resumes: the replica catches up and serves the reader again.
    standby.sql("SELECT pg_wal_replay_resume()")
    settings.REPLICA_MAX_LAG_SECONDS = 30
    _wait_for(lambda: _replayed(standby, fresh))
    with CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
        assert fresh in _points(reader)
    assert on_replica.captured_queries


def test_when_the_replica_dies_under_a_request_the_primary_answers(places, standby):
    planner = StaffFactory(role="planner").user
    case = CaseFactory(reference="ZGE-2026-000301")
    _wait_for(lambda: _replayed(standby, case.reference))
    web = _browser(planner)
    assert case.reference in _points(web)  # a live connection to the replica now
    standby.stop("immediate")
    assert case.reference in _points(web)  # the broken connection: answered again on the primary
    assert replica.replica_state().usable is False  # marked down: no probing until the retry time
    assert web.get("/dashboard/").status_code == 200


def test_a_recusal_fences_off_a_replica_that_has_not_replayed_it(places, standby):
    """Who may see what is never decided by a lagging copy: after a recusal the officer's map reads the primary
    (where the case is gone for them) until the replica has replayed the recusal."""
    from geo_disputes.services.cases.recusal import record_recusal

    from .factories import intake_body

    admin = StaffFactory(role="banner_admin").user
    officer = StaffFactory(role="township_officer", scope_code="150622106").user
    answer = _browser(admin).post("/api/cases/", intake_body(description="围栏测试"), content_type="application/json")
    reference = answer.json()["reference"]
    _wait_for(lambda: _replayed(standby, reference))
    web = _browser(officer)
    assert reference in _points(web)  # on the replica, in scope
    standby.sql("SELECT pg_wal_replay_pause()")
    record_recusal(Case.objects.get(reference=reference), officer, officer.username, "interest", "亲属")
    with CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
        assert reference not in _points(web)
    assert not any("geo_disputes_case" in q["sql"] for q in on_replica.captured_queries)  # the primary decided
    standby.sql("SELECT pg_wal_replay_resume()")
