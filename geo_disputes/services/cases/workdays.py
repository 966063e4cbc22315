"""Working days in China: the State Council's yearly holidays and the make-up working days (调休).

The statutory clock counts in two ways (DOMAIN.md "The law"):
* a period in days ends on its last calendar day, but when that day is a rest day (a weekend or
  a statutory holiday) the period ends on the first working day after it (民法典 Arts. 201, 203);
  a make-up working Saturday is a working day, so a period ending on one is not moved;
* an objection to a forwarded matter is due within 5 *working* days (条例 Art. 23).

The arrangement comes from `chinesecalendar` (maintained; checked against the published 2025 and
2026 notices in tests/test_workdays.py). A year the library does not know yet (the notice comes out
each November) is counted provisionally: weekends off, plus the fixed-date holidays of the 2024
national holiday rules (1 Jan, 1–2 May, 1–3 Oct); lunar holidays and make-up days are then missing.
`sync_calendar` writes the same answers into CalendarDay for the SQL path of services.cases.clock.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import chinese_calendar
from chinese_calendar.constants import holidays as _HOLIDAYS

FIRST_YEAR = 2004  # the library's first year; nothing older is ever counted
KNOWN_YEARS = frozenset(day.year for day in _HOLIDAYS)  # the years whose notice the installed library holds
LAST_YEAR = 2040  # the table reaches this far (provisionally beyond the library)
MAX_SEARCH_DAYS = 40  # longer than any run of rest days (Spring Festival: 9 days)

_FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


def is_working_day(day: dt.date) -> bool:
    """True on a working day: a weekday that is not a holiday, or a make-up working weekend day."""
    known = _known(day)
    if known is not None:
        return known
    return day.weekday() < 5 and (day.month, day.day) not in _FIXED_HOLIDAYS


def is_provisional(day: dt.date) -> bool:
    """True when the year's official arrangement is not in the library (a guess from weekends)."""
    return _known(day) is None


def roll_to_working_day(day: dt.date) -> dt.date:
    """`day` if it is a working day, else the first working day after it (民法典 Art. 203)."""
    for offset in range(MAX_SEARCH_DAYS):
        candidate = day + dt.timedelta(days=offset)
        if is_working_day(candidate):
            return candidate
    return day


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The `count`-th working day after `day` (the day itself is not counted, 民法典 Art. 201)."""
    found = 0
    candidate = day
    while found < count:
        candidate += dt.timedelta(days=1)
        if is_working_day(candidate):
            found += 1
    return candidate


def calendar_rows(first: dt.date, last: dt.date) -> list[tuple[dt.date, bool, bool]]:
    """(day, working, provisional) for every day from `first` to `last` inclusive."""
    rows = []
    day = first
    while day <= last:
        rows.append((day, is_working_day(day), is_provisional(day)))
        day += dt.timedelta(days=1)
    return rows


def sync_calendar(connection=None) -> int:
    """Write the calendar FIRST_YEAR..LAST_YEAR into CalendarDay (upsert); returns the rows changed.

    Run by the migration that creates the table and by the daily tick, so a library upgrade
    that adds next year's arrangement reaches the SQL clock without a new migration.
    """
    from django.db import connection as default_connection

    connection = connection or default_connection
    rows = calendar_rows(dt.date(FIRST_YEAR, 1, 1), dt.date(LAST_YEAR, 12, 31))
    days, working, provisional = zip(*rows, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO geo_disputes_calendarday (day, working, provisional)
            SELECT * FROM unnest(%s::date[], %s::boolean[], %s::boolean[])
            ON CONFLICT (day) DO UPDATE SET working = EXCLUDED.working, provisional = EXCLUDED.provisional
            WHERE (geo_disputes_calendarday.working, geo_disputes_calendarday.provisional)
                  IS DISTINCT FROM (EXCLUDED.working, EXCLUDED.provisional)
            """,
            [list(days), list(working), list(provisional)],
        )
        changed = cursor.rowcount
    return changed


@lru_cache(maxsize=20000)
def _known(day: dt.date) -> bool | None:
    """The official answer for `day`, or None for a year the library has no notice for."""
    return chinese_calendar.is_workday(day) if day.year in KNOWN_YEARS else None
