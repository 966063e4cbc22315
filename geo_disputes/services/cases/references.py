"""Case reference numbers: ZGE-YYYY-NNNNNN, numbered from 1 within each banner and year, without gaps.

Each banner of a deployment keeps its own series under its own prefix (the home banner's is
settings.REFERENCE_PREFIX, "ZGE"; another banner's is its `reference_prefix`, else its 6-digit code),
so references are unique per banner and, the prefixes differing, across the deployment too.

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

import zlib

from django.conf import settings
from django.db import connection
from django.utils import timezone

from geo_disputes.models import Banner, Case

DIGITS = 6
# Namespace of the two-key advisory lock (pg_advisory_xact_lock(namespace, year)).
_LOCK_NAMESPACE = 0x5A4745  # "ZGE"


class ReferenceNumberError(RuntimeError):
    """A reference cannot be issued safely (e.g. outside a transaction)."""


def reference_prefix(banner_code: str = "") -> str:
    """The prefix of `banner_code`'s series (the home banner when blank)."""
    if not banner_code or banner_code == settings.BANNER_CODE:
        return settings.REFERENCE_PREFIX
    chosen = (
        Banner.objects.filter(code=banner_code)
        .exclude(reference_prefix="")
        .order_by("-valid_from")
        .values_list("reference_prefix", flat=True)
        .first()
    )
    return chosen or banner_code


def reference_example(banner_code: str = "") -> str:
    """A reference in `banner_code`'s series for this year, as a form's placeholder ("ZGE-2026-000001"); a
    city's 4-digit code or "" (a superuser) shows the home banner's."""
    code = banner_code if len(banner_code or "") == 6 else ""
    return format_reference(timezone.localdate().year, 1, code)


def format_reference(year: int, number: int, banner_code: str = "") -> str:
    return f"{reference_prefix(banner_code)}-{year:04d}-{number:0{DIGITS}d}"


def next_reference(year: int, banner_code: str = "") -> str:
    """The next free reference of `year` in `banner_code`'s series. Call inside the transaction that saves the case."""
    if not connection.in_atomic_block:
        raise ReferenceNumberError("next_reference must run inside the transaction that saves the case")
    series = reference_prefix(banner_code)
    with connection.cursor() as cursor:
        # One lock per series and year: two banners number their cases at the same instant without waiting.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE ^ (zlib.crc32(series.encode()) & 0x7FFFFFFF), year]
        )
    prefix = f"{series}-{year:04d}-"
    highest = (
        Case.objects.filter(reference__gte=prefix, reference__lte=prefix + "9" * DIGITS)
        .order_by("-reference")
        .values_list("reference", flat=True)
        .first()
    )
    number = int(highest.removeprefix(prefix)) + 1 if highest else 1
    if number >= 10**DIGITS:
        raise ReferenceNumberError(f"references of {year} are exhausted ({prefix}{'9' * DIGITS})")
    return f"{prefix}{number:0{DIGITS}d}"
