"""Cells of every export (CSV and XLSX) are data, never formulas (CSV/formula injection, OWASP).

Text someone typed — a responsible person, a group title, a unit's name, a plan — reaches the joint
meeting's spreadsheets. A cell that begins with = + - @ (or a tab or carriage return, which some
spreadsheets skip before looking) would run as a formula in Excel or WPS; it is written with a leading
apostrophe instead, which spreadsheets show as text. Numbers and dates pass unchanged. One function,
used by every export.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> Any:
    """`value` as it may be written into a spreadsheet cell: formula-like text becomes plain text."""
    if isinstance(value, str) and value.lstrip(" ")[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]
