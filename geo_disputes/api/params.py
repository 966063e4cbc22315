"""Query-parameter parsing: one small function per kind, each failing with a 400 that names the field."""

from __future__ import annotations

import datetime as dt
import math

from rest_framework.exceptions import ValidationError

from geo_disputes.models.bounds import ascii_integer, date_range_message, plausible_date


def number(params, name: str, *, low: float, high: float, required: bool = True) -> float | None:
    """A finite float within [low, high]."""
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise ValidationError({name: f"required / 必填: {name}"})
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValidationError({name: f"not a number / 不是数字: {raw!r}"}) from None
    if not math.isfinite(value):
        raise ValidationError({name: f"must be finite / 必须是有限数值: {raw!r}"})
    if not low <= value <= high:
        raise ValidationError({name: f"out of range [{low}, {high}] / 超出范围: {raw!r}"})
    return value


def lon_lat(params) -> tuple[float, float]:
    return number(params, "lon", low=-180, high=180), number(params, "lat", low=-90, high=90)


def bbox(params, name: str = "bbox") -> tuple[float, float, float, float] | None:
    """`minlon,minlat,maxlon,maxlat` in WGS84, or None when absent."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    if len(parts) != 4:
        raise ValidationError(
            {name: "expected minlon,minlat,maxlon,maxlat / 格式应为 最小经度,最小纬度,最大经度,最大纬度"}
        )
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise ValidationError({name: f"not numbers / 不是数字: {raw!r}"}) from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise ValidationError({name: "must be finite / 必须是有限数值"})
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise ValidationError({name: "need minlon < maxlon and minlat < maxlat within WGS84 range"})
    return x0, y0, x1, y1


def date(params, name: str) -> dt.date | None:
    """A YYYY-MM-DD date within bounds.EARLIEST_YEAR..LATEST_YEAR, or None when absent."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: f"日期格式应为 YYYY-MM-DD / expected YYYY-MM-DD: {raw!r}"}) from None
    if not plausible_date(day):
        raise ValidationError({name: date_range_message(name)})
    return day


def integer(params, name: str, *, default: int, low: int, high: int | None = None) -> int:
    """ASCII digits only (not "１２", "٣" or "²"), at least `low`; above `high` it is clipped to `high`."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    value = ascii_integer(raw)
    if value is None or value < low:
        raise ValidationError({name: f"应为不小于 {low} 的整数(阿拉伯数字)/ expected an integer ≥ {low}: {raw!r}"})
    return value if high is None else min(value, high)


def positive_int(params, name: str, default: int, maximum: int) -> int:
    """A page number or size: 1 or more, at most `maximum` (larger values are clipped)."""
    return integer(params, name, default=default, low=1, high=maximum)


def choice(params, name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise ValidationError({name: f"expected one of {', '.join(allowed)} / 应为 {'、'.join(allowed)} 之一: {raw!r}"})
    return raw
