"""Working days against the State Council's published arrangements for 2025 and 2026 (调休 included).

The tables below are typed from the notices (国办发明电〔2024〕12号 for 2025, 〔2025〕7号 for 2026),
not read from the library, so a library that got a year wrong fails here.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from geo_disputes.services.cases.workdays import (
    add_working_days,
    is_provisional,
    is_working_day,
    roll_to_working_day,
)

D = dt.date


def _span(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


HOLIDAYS = {
    2025: [
        D(2025, 1, 1),
        *_span(D(2025, 1, 28), D(2025, 2, 4)),
        *_span(D(2025, 4, 4), D(2025, 4, 6)),
        *_span(D(2025, 5, 1), D(2025, 5, 5)),
        *_span(D(2025, 5, 31), D(2025, 6, 2)),
        *_span(D(2025, 10, 1), D(2025, 10, 8)),
    ],
    2026: [
        *_span(D(2026, 1, 1), D(2026, 1, 3)),
        *_span(D(2026, 2, 15), D(2026, 2, 23)),
        *_span(D(2026, 4, 4), D(2026, 4, 6)),
        *_span(D(2026, 5, 1), D(2026, 5, 5)),
        *_span(D(2026, 6, 19), D(2026, 6, 21)),
        *_span(D(2026, 9, 25), D(2026, 9, 27)),
        *_span(D(2026, 10, 1), D(2026, 10, 7)),
    ],
}
MAKE_UP_DAYS = {
    2025: [D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28), D(2025, 10, 11)],
    2026: [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)],
}


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_day_of_the_year_is_a_working_day_exactly_as_the_notice_says(year):
    holidays, make_up = set(HOLIDAYS[year]), set(MAKE_UP_DAYS[year])
    for day in _span(D(year, 1, 1), D(year, 12, 31)):
        expected = day in make_up or (day.weekday() < 5 and day not in holidays)
        assert is_working_day(day) == expected, day
        assert not is_provisional(day)


def test_a_period_ending_on_a_rest_day_ends_on_the_next_working_day_but_a_make_up_saturday_counts():
    assert roll_to_working_day(D(2026, 10, 1)) == D(2026, 10, 8)  # National Day
    assert roll_to_working_day(D(2026, 2, 15)) == D(2026, 2, 24)  # Spring Festival
    assert roll_to_working_day(D(2026, 5, 30)) == D(2026, 6, 1)  # a plain weekend
    assert roll_to_working_day(D(2026, 2, 14)) == D(2026, 2, 14)  # make-up Saturday: a working day
    assert roll_to_working_day(D(2026, 3, 16)) == D(2026, 3, 16)


def test_five_working_days_across_national_day_2025_and_spring_festival_2026_count_the_make_up_days():
    # 30 Sep, (1–8 Oct off), 9, 10, Saturday 11 Oct (make-up), 13 Oct.
    assert add_working_days(D(2025, 9, 29), 5) == D(2025, 10, 13)
    # 13 Feb, Saturday 14 Feb (make-up), (15–23 Feb off), 24, 25, 26 Feb.
    assert add_working_days(D(2026, 2, 12), 5) == D(2026, 2, 26)
    # Without the make-up Saturday it would be 27 Feb: the make-up day is what the test is about.
    assert add_working_days(D(2026, 2, 13), 5) == D(2026, 2, 27)


def test_a_year_the_library_does_not_know_is_counted_provisionally_by_weekends_and_fixed_holidays():
    assert is_provisional(D(2040, 3, 1))
    assert not is_working_day(D(2040, 10, 1)) and not is_working_day(D(2040, 3, 3))  # 3 March 2040 is a Saturday
    assert is_working_day(D(2040, 3, 5))


@pytest.mark.django_db
def test_the_sql_calendar_gives_the_same_answers_as_python():
    days = _span(D(2024, 12, 1), D(2027, 2, 28))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d, gd_roll_working(d), gd_add_working(d, 5) FROM unnest(%s::date[]) AS d ORDER BY d", [days]
        )
        rows = cursor.fetchall()
    assert len(rows) == len(days)
    for day, rolled, plus_five in rows:
        assert (rolled, plus_five) == (roll_to_working_day(day), add_working_days(day, 5)), day
