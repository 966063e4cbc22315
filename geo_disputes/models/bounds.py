"""The bounds of what a user may give: dates, whole numbers and free text (issue 12).

One rule each, in one place below the services, so models (validators), forms, the API and the
workflow refuse the same values the same way — before date arithmetic overflows, before Python's
int() reads "１２" or "٣" as a number, before PostgreSQL refuses a NUL or a lone surrogate with a 500.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

# Dates users give: no record is older than 1901, and nothing is planned past 2200. Year 1 and 9999
# overflow the time-zone and period arithmetic (a day before 0001-01-01, a week after 9999-12-31).
EARLIEST_YEAR, LATEST_YEAR = 1901, 2200

# The longest free text users may write, by kind.
NAME_MAX = 50  # a person (a petitioner, a responsible person, who approved)
TITLE_MAX = 200  # a title, a body's name, a list of mediators
REASON_MAX = 2000  # a reason, a plan, a note
TEXT_MAX = 5000  # a description, an opinion, an agreement

_ASCII_DIGITS = re.compile(r"[0-9]+")


def plausible_date(day: dt.date) -> bool:
    """A date (or date-time) within EARLIEST_YEAR..LATEST_YEAR."""
    return EARLIEST_YEAR <= day.year <= LATEST_YEAR


def date_range_message(name: str) -> str:
    return f"{name} 须在 {EARLIEST_YEAR}–{LATEST_YEAR} 年之间 / {name} must be within {EARLIEST_YEAR}..{LATEST_YEAR}"


def validate_plausible_date(value: dt.date) -> None:
    """Model and form validator: the date lies within EARLIEST_YEAR..LATEST_YEAR."""
    if value is not None and not plausible_date(value):
        raise ValidationError(
            f"日期须在 {EARLIEST_YEAR}–{LATEST_YEAR} 年之间 / the date must be within {EARLIEST_YEAR}..{LATEST_YEAR}",
            code="implausible_date",
        )


def ascii_integer(text: str) -> int | None:
    """The value of a string of ASCII digits 0-9; None for anything else.

    Python's int() also reads fullwidth "１２", Arabic-Indic "٣" and other Unicode digits, and str.isdigit()
    is true for "²", which int() then refuses: both must be a clean refusal, not a number or a 500.
    """
    text = text.strip()
    return int(text) if _ASCII_DIGITS.fullmatch(text) else None


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text (a NUL, a lone surrogate), or None when it can."""
    if "\x00" in value:
        return "含有 NUL 字符 / contains a NUL character"
    if any("\ud800" <= c <= "\udfff" for c in value):
        return "含有无效的 Unicode 代理字符 / contains a lone surrogate (invalid Unicode)"
    return None


def max_text(limit: int) -> MaxLengthValidator:
    """Model validator for a TextField: at most `limit` characters."""
    return MaxLengthValidator(limit)
