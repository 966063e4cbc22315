"""A planner setting changed for the statements of one block, then put back.

`set_config(…, true)` lasts until the end of the transaction; the callers run inside transactions
that may go on (a request's, a test's), so the previous value is restored when the block ends
rather than left to the commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def local_setting(cursor, name: str, value: str) -> Iterator[None]:
    """`name = value` for the statements run on `cursor` inside the block (within a transaction)."""
    cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
    previous = cursor.fetchone()[0]
    try:
        yield
    finally:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, previous])
