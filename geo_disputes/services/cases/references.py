"""Case reference numbers: ZGE-YYYY-NNNNNN, numbered from 1 within each year, without gaps.

Why max+1 under a lock rather than a PostgreSQL sequence: a sequence hands out numbers
outside the transaction, so a rolled-back intake leaves a gap (a "missing" petition an
auditor will ask about), and it knows nothing of references loaded by COPY or imports, so
it would collide with them. Instead `next_reference` takes a transaction-scoped advisory
lock for the year, reads the highest reference of that year through the unique index, and
returns the next one. The lock is held until the intake transaction commits or rolls back,
so two concurrent intakes are serialised for that instant and can never take the same number.
Intake is a few cases a minute; the wait is a few milliseconds.
"""

from __future__ import annotations

from django.db import connection

from geo_disputes.models import Case

PREFIX = "ZGE"
DIGITS = 6
# Namespace of the two-key advisory lock (pg_advisory_xact_lock(namespace, year)).
_LOCK_NAMESPACE = 0x5A4745  # "ZGE"


class ReferenceNumberError(RuntimeError):
    """A reference cannot be issued safely (e.g. outside a transaction)."""


def format_reference(year: int, number: int) -> str:
    return f"{PREFIX}-{year:04d}-{number:0{DIGITS}d}"


def next_reference(year: int) -> str:
    """The next free reference of `year`. Call inside the transaction that saves the case."""
    if not connection.in_atomic_block:
        raise ReferenceNumberError("next_reference must run inside the transaction that saves the case")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, year])
    prefix = f"{PREFIX}-{year:04d}-"
    highest = (
        Case.objects.filter(reference__gte=prefix, reference__lte=prefix + "9" * DIGITS)
        .order_by("-reference")
        .values_list("reference", flat=True)
        .first()
    )
    number = int(highest.removeprefix(prefix)) + 1 if highest else 1
    if number >= 10**DIGITS:
        raise ReferenceNumberError(f"references of {year} are exhausted ({prefix}{'9' * DIGITS})")
    return format_reference(year, number)
