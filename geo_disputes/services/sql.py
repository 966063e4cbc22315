"""Helpers for statements the services build around Django's own SQL.

`compiled` gives a queryset's SQL to embed in a larger statement (access rules and filters hold, no
id list travels). `local_setting` changes a planner setting for one block: `set_config(…, true)`
lasts until the end of the transaction, and the callers run inside transactions that may go on (a
request's, a test's), so the previous value is restored when the block ends. `relaxed_commit` is
the one durability setting anything changes: for the single transaction of a bulk command.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import EmptyResultSet
from django.db import connection


@contextmanager
def local_setting(cursor, name: str, value: str) -> Iterator[None]:
    """`name = value` for the statements run on `cursor` inside the block (within a transaction)."""
    cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
    previous = cursor.fetchone()[0]
    try:
        yield
    finally:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, previous])


def relaxed_commit() -> bool:
    """Commit the current transaction without waiting for its WAL flush (`SET LOCAL synchronous_commit = off`).

    For bulk work only — an area import (`import_areas --commit`), re-linking (`link_cases`), the demo load —
    never intake or transitions, whose answer (a reference, a 200) promises the row is on disk (README
    "Reliability"). It is safe there because such a command's whole work is this one transaction: a crash
    within a fraction of a second of its commit can lose only the whole import, never part of it, and the
    command (idempotent) is simply run again; nobody was told a reference. The database stays consistent
    either way: only the last commits' durability is deferred (by at most 3 x wal_writer_delay).

    Call it inside the bulk work's `transaction.atomic()`. It acts only when that is the outermost
    transaction, so that it is exactly the bulk work's commit that is relaxed: inside someone else's
    transaction (a request's, a test's) it changes nothing and returns False.
    """
    if len(connection.atomic_blocks) != 1:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
    return True


def compiled(qs) -> tuple[str, tuple] | None:
    """The queryset's SQL and parameters; None when it cannot match any row (Django raises
    EmptyResultSet instead of compiling e.g. `.none()`, which a user who may see nothing gets)."""
    try:
        return qs.query.sql_with_params()
    except EmptyResultSet:
        return None
