"""The basemap under every map page, chosen by settings (MAP_BASEMAP, TIANDITU_KEY, MAP_TILE_URL).

Intranets often reach neither OpenStreetMap nor Tianditu, so the default is no tiles at all:
our own township/village boundaries are the base. Tianditu's `_w` services are Web Mercator
tiles of CGCS2000 data, which lines up with our WGS84 geometry to well under a metre (unlike
AMap/Gaode tiles, which are GCJ-02 shifted ~570 m and are therefore not offered).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

CHOICES = ("none", "osm", "tianditu", "intranet")

_TIANDITU = "https://t{s}.tianditu.gov.cn/%s_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=%s&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=%s"  # noqa: E501


@dataclass(frozen=True)
class TileSource:
    """One tile layer as Leaflet wants it: URL template, attribution, subdomains, zoom limit."""

    name: str
    url: str
    attribution: str
    subdomains: str = "abc"
    max_zoom: int = 18
    overlay: bool = False


def tile_sources() -> list[TileSource]:
    """The tile layers the configured basemap needs; empty for "none".

    Raises ImproperlyConfigured for an unknown choice or a missing key/URL, so a wrong
    setting is a clear error (the `maps.E001` system check reports it at start-up too).
    """
    choice = getattr(settings, "MAP_BASEMAP", "none") or "none"
    if choice == "none":
        return []
    if choice == "osm":
        return [
            TileSource(
                "OpenStreetMap",
                "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                "&copy; OpenStreetMap contributors",
                subdomains="",
                max_zoom=19,
            )
        ]
    if choice == "tianditu":
        key = getattr(settings, "TIANDITU_KEY", "")
        if not key:
            raise ImproperlyConfigured("MAP_BASEMAP=tianditu needs TIANDITU_KEY (天地图 browser key)")
        return [
            TileSource("天地图 矢量", _TIANDITU % ("vec", "vec", key), "&copy; 天地图", subdomains="01234567"),
            TileSource(
                "天地图 注记", _TIANDITU % ("cva", "cva", key), "&copy; 天地图", subdomains="01234567", overlay=True
            ),
        ]
    if choice == "intranet":
        url = getattr(settings, "MAP_TILE_URL", "")
        if "{z}" not in url or "{x}" not in url or "{y}" not in url:
            raise ImproperlyConfigured("MAP_BASEMAP=intranet needs MAP_TILE_URL with {z}, {x} and {y}")
        return [TileSource("内网底图", url, "内网底图")]
    raise ImproperlyConfigured(f"MAP_BASEMAP={choice!r}: use one of {', '.join(CHOICES)}")
