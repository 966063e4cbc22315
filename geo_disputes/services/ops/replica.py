"""Map and analysis reads on a streaming replica; writes, and reads right after one's own write, on the primary.

PostgreSQL's own streaming replication (a hot standby made with `pg_basebackup -R`) carries every committed change to
the replica a moment later. The moment is what this module manages:

* **Which reads**: only the requests the middleware marks — GET/HEAD of the map, analysis, tile and OGC pages
  (`REPLICA_PATHS`): many readers, heavy queries, and a second's delay is harmless. Everything else (case pages,
  queues, every form and every write) stays on the primary, and so does any read inside a transaction.
* **Read your own writes**: after a successful write the response carries the primary's WAL position (`gd_lsn`
  cookie). A marked read with that cookie goes to the replica only once the replica has replayed past it — a user
  never misses the case they just registered; everyone else keeps reading the replica.
* **Lag**: a replica that has received WAL it has not replayed for more than `REPLICA_MAX_LAG_SECONDS` is lagging
  (replay paused, a long conflict, a slow disk): all reads go to the primary until it catches up.
* **Failover**: a replica that cannot be reached (connect timeout 1 s) is marked down for `REPLICA_RETRY_SECONDS`
  and reads go to the primary; a request whose replica connection breaks mid-way is answered again on the primary
  (GET and HEAD only, so running it twice is harmless).

The replica is the `replica` alias in settings.DATABASES (`DATABASE_REPLICA_URL`, or `REPLICA_PGBASE` and
`REPLICA_PGPORT` for a local standby); without it every read stays on the primary. Its state is probed at most every
`REPLICA_PROBE_SECONDS` per process.
"""

from __future__ import annotations

import contextvars
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

REPLICA = "replica"
LSN_COOKIE = "gd_lsn"
_LSN = re.compile(r"[0-9A-F]{1,8}/[0-9A-F]{1,8}")
# GET/HEAD under these prefixes may read the replica: maps, analyses, the monthly report, tiles, the OGC API.
REPLICA_PATHS = (
    "/maps/",
    "/api/case-points/",
    "/api/hotspots/",
    "/api/clusters/",
    "/api/village-rates/",
    "/api/stats/",
    "/api/layers/",
    "/dashboard/",
    "/report/",
    "/tiles/",
    "/ogc",
)

_reading: contextvars.ContextVar[bool] = contextvars.ContextVar("gd_replica_reading", default=False)
_after: contextvars.ContextVar[str | None] = contextvars.ContextVar("gd_replica_after", default=None)


@dataclass(frozen=True)
class ReplicaState:
    usable: bool
    replay_lsn: str = ""
    why: str = ""  # "ok", "lagging 12.3 s", "down: …", "not a standby"


_state_lock = threading.Lock()
_state: tuple[float, ReplicaState] | None = None
_down_until = 0.0


def configured() -> bool:
    return REPLICA in connections.settings


def configure(replica: dict | None) -> None:
    """Add (or, with None, remove) the replica alias at run time — settings do it at start-up; tests after
    starting their standby."""
    global _state, _down_until
    if REPLICA in connections.settings:
        connections[REPLICA].close()
        del connections.settings[REPLICA]
        if hasattr(connections._connections, REPLICA):
            delattr(connections._connections, REPLICA)
    if replica is not None:
        both = {DEFAULT_DB_ALIAS: connections.settings[DEFAULT_DB_ALIAS], REPLICA: dict(replica)}
        connections.settings[REPLICA] = connections.configure_settings(both)[REPLICA]
    _state, _down_until = None, 0.0


@contextmanager
def reads_from_replica(after_lsn: str | None = None) -> Iterator[None]:
    """Within the block, reads may go to the replica (once it has replayed `after_lsn`, when given)."""
    token_reading, token_after = _reading.set(True), _after.set(after_lsn if _valid_lsn(after_lsn) else None)
    try:
        yield
    finally:
        _reading.reset(token_reading)
        _after.reset(token_after)


@contextmanager
def on_primary() -> Iterator[None]:
    token = _reading.set(False)
    try:
        yield
    finally:
        _reading.reset(token)


def read_alias() -> str:
    """The alias the current read should use (the router's answer, and the raw-SQL read paths')."""
    if not _reading.get() or not configured() or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    state = replica_state()
    if not state.usable:
        return DEFAULT_DB_ALIAS
    after = _after.get()
    if after and _lsn_value(state.replay_lsn) < _lsn_value(after):
        return DEFAULT_DB_ALIAS  # the user's own write, or the last change to access, is not on the replica yet
    return REPLICA


def read_cursor():
    """A cursor for a read-only statement built by hand (geojson, analyses): on the replica when allowed."""
    return connections[read_alias()].cursor()


def replica_state(now: float | None = None) -> ReplicaState:
    """The replica's state, probed at most every REPLICA_PROBE_SECONDS (and not at all while marked down)."""
    global _state
    now = time.monotonic() if now is None else now
    if now < _down_until:
        return ReplicaState(False, why="down (waiting to retry)")
    with _state_lock:
        if _state is not None and now - _state[0] < settings.REPLICA_PROBE_SECONDS:
            return _state[1]
    state = _probe()
    with _state_lock:
        _state = (now, state)
    if state.why.startswith("down"):
        mark_down(now)
    return state


def mark_down(now: float | None = None) -> None:
    """The replica failed: reads go to the primary for REPLICA_RETRY_SECONDS."""
    global _down_until, _state
    now = time.monotonic() if now is None else now
    _down_until = now + settings.REPLICA_RETRY_SECONDS
    _state = None
    try:
        connections[REPLICA].close()
    except DatabaseError:
        pass


# Models read on the primary even inside a replica-routed request: who the user is (sessions, tokens, accounts) and
# what they may see (roles and scopes, recusals, accused persons) — a lagging copy of these must never decide access.
PRIMARY_ONLY = frozenset(
    {
        "auth",
        "sessions",
        "contenttypes",
        "admin",
        "geo_disputes.apitoken",
        "geo_disputes.staffprofile",
        "geo_disputes.recusal",
        "geo_disputes.accusedperson",
        "geo_disputes.loginfailure",
        "geo_disputes.idempotentrequest",
        "geo_disputes.uploadsession",
        "geo_disputes.replicafence",
    }
)
FENCED = ("staffprofile", "recusal", "accusedperson")  # their changes move the fence


def fence_lsn() -> str | None:
    """The WAL position of the last change to who may see what (ReplicaFence), read on the primary."""
    from geo_disputes.models import ReplicaFence

    with on_primary():
        return ReplicaFence.objects.filter(pk=1).values_list("lsn", flat=True).first()


def move_fence() -> None:
    """After a committed change to access (a role, a scope, a recusal, an accused person): record the primary's
    position; replica reads wait until the replica has it."""
    from geo_disputes.models import ReplicaFence

    position = primary_lsn()
    ReplicaFence.objects.update_or_create(pk=1, defaults={"lsn": position})


def connect_signals() -> None:
    from django.db import transaction
    from django.db.models.signals import post_delete, post_save

    def changed(sender, **kwargs) -> None:
        if sender._meta.model_name in FENCED and configured():
            transaction.on_commit(move_fence)

    post_save.connect(changed, dispatch_uid="replica-fence-save", weak=False)
    post_delete.connect(changed, dispatch_uid="replica-fence-delete", weak=False)


def primary_lsn() -> str:
    """The primary's current WAL position: after a commit, every change of it lies at or before this."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def using_replica_now() -> bool:
    return _reading.get() and configured() and read_alias() == REPLICA


def _probe() -> ReplicaState:
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
                "pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn(), "
                "coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)"
            )
            standby, replay, behind, delay = cursor.fetchone()
    except DatabaseError as exc:
        return ReplicaState(False, why=f"down: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}")
    if not standby:
        return ReplicaState(False, why="not a standby")
    if behind and float(delay) > settings.REPLICA_MAX_LAG_SECONDS:
        return ReplicaState(False, replay or "", why=f"lagging {float(delay):.1f} s")
    return ReplicaState(True, replay or "", why="ok")


def later(*positions: str | None) -> str | None:
    """The furthest of some WAL positions (invalid or missing ones ignored)."""
    valid = [p for p in positions if _valid_lsn(p)]
    return max(valid, key=_lsn_value) if valid else None


def _valid_lsn(value: str | None) -> bool:
    return bool(value) and bool(_LSN.fullmatch(value))


def _lsn_value(lsn: str) -> int:
    if not _valid_lsn(lsn):
        return 0
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


class ReplicaRouter:
    """Django's database router: writes and migrations on the primary, reads where read_alias says."""

    def db_for_read(self, model, **hints) -> str:
        meta = model._meta
        if meta.app_label in PRIMARY_ONLY or meta.label_lower in PRIMARY_ONLY:
            return DEFAULT_DB_ALIAS
        return read_alias()

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # the same database, a moment apart

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS
