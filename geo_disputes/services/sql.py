"""Helpers for statements the services build around Django's own SQL.

`compiled` gives a queryset's SQL to embed in a larger statement (access rules and filters hold, no
id list travels). `local_setting` changes a planner setting for one block: `set_config(…, true)`
lasts until the end of the transaction, and the callers run inside transactions that may go on (a
request's, a test's), so the previous value is restored when the block ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import EmptyResultSet


@contextmanager
def local_setting(cursor, name: str, value: str) -> Iterator[None]:
    """`name = value` for the statements run on `cursor` inside the block (within a transaction)."""
    cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
    previous = cursor.fetchone()[0]
    try:
        yield
    finally:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, previous])


def compiled(qs) -> tuple[str, tuple] | None:
    """The queryset's SQL and parameters; None when it cannot match any row (Django raises
    EmptyResultSet instead of compiling e.g. `.none()`, which a user who may see nothing gets)."""
    try:
        return qs.query.sql_with_params()
    except EmptyResultSet:
        return None
