"""Coordinate datums: every input point says its datum; GCJ-02 is converted before storage.

GCJ-02 (phones, AMap, Tencent, WeChat) is WGS84 plus a published, obfuscating offset
(~570 m around Zhungeer). The forward transform is closed-form; the inverse is found by
fixed-point iteration, which converges to < 1e-9° in a handful of steps inside China.
CGCS2000 differs from WGS84 by well under a metre, so it is taken as WGS84 for storage.
"""

from __future__ import annotations

import math
from enum import StrEnum

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 algorithm
_EE = 0.00669342162296594323


class Datum(StrEnum):
    WGS84 = "wgs84"
    CGCS2000 = "cgcs2000"
    GCJ02 = "gcj02"


class DatumError(ValueError):
    """An unknown datum name."""


def parse_datum(value: str | None) -> Datum:
    """Datum from a request value; missing means WGS84, unknown names are refused."""
    if value is None or value == "":
        return Datum.WGS84
    try:
        return Datum(value.strip().lower())
    except ValueError as exc:
        allowed = ", ".join(d.value for d in Datum)
        raise DatumError(f"unknown datum {value!r}; use one of: {allowed}") from exc


def to_wgs84(lon: float, lat: float, datum: Datum | str) -> tuple[float, float]:
    """The WGS84 position of a point captured in `datum`."""
    datum = parse_datum(datum) if isinstance(datum, str) else datum
    if datum is Datum.GCJ02:
        return gcj02_to_wgs84(lon, lat)
    return lon, lat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Forward GCJ-02 transform (identity outside mainland China's rough box)."""
    if _outside_china(lon, lat):
        return lon, lat
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = math.radians(lat)
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float, tolerance: float = 1e-10, max_steps: int = 30) -> tuple[float, float]:
    """Inverse of `wgs84_to_gcj02` by fixed-point iteration: guess, shift, correct."""
    wlon, wlat = lon, lat
    for _ in range(max_steps):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = glon - lon, glat - lat
        wlon, wlat = wlon - dlon, wlat - dlat
        if abs(dlon) < tolerance and abs(dlat) < tolerance:
            break
    return wlon, wlat


def _outside_china(lon: float, lat: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret
