"""Leaflet and its plugins served from our own static files, never from a CDN.

Users sit on government intranets: a page that needs a CDN is a blank page. folium names
CDN URLs in each element class's `default_js`/`default_css`; `use_vendored` replaces them
on the *instances* of one map just before it is rendered (class attributes stay untouched,
so nothing depends on import order). An element class without a vendored entry here that
asks for an outside file fails the build instead of shipping a broken page.
"""

from __future__ import annotations

from collections.abc import Iterator

from branca.element import Element
from django.templatetags.static import static
from folium import Map
from folium.plugins import Fullscreen, HeatMap, MarkerCluster

from .elements import VectorTiles

VENDOR_DIR = "maps/vendor"

# npm package → version copied into maps/static/maps/vendor/<package>/ (see the README there).
VENDORED_PACKAGES: dict[str, str] = {
    "leaflet": "1.9.4",
    "jquery": "3.7.1",
    "leaflet.markercluster": "1.5.3",
    "leaflet.heat": "0.2.0",
    "leaflet.fullscreen": "3.0.0",
    "leaflet.vectorgrid": "1.3.0",
}

# Per element class: (js, css) as (folium's resource name, path under VENDOR_DIR).
# folium's Map also asks for Bootstrap, glyphicons, Font Awesome and awesome-markers; our pages
# use none of them (no folium.Icon, own CSS), so they are dropped rather than vendored.
# jQuery is listed for folium's own templates that call `$(document).ready` or build popups (a folium page
# such as the benchmark's peer); our pages use neither and drop it (`use_vendored(m, jquery=False)`).
_ASSETS: dict[type[Element], tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {
    Map: (
        [("leaflet", "leaflet/leaflet.js"), ("jquery", "jquery/jquery.min.js")],
        [("leaflet_css", "leaflet/leaflet.css")],
    ),
    Fullscreen: (
        [("Control.Fullscreen.js", "leaflet.fullscreen/Control.FullScreen.js")],
        [("Control.FullScreen.css", "leaflet.fullscreen/Control.FullScreen.css")],
    ),
    MarkerCluster: (
        [("markerclusterjs", "leaflet.markercluster/leaflet.markercluster.js")],
        [
            ("markerclustercss", "leaflet.markercluster/MarkerCluster.css"),
            ("markerclusterdefaultcss", "leaflet.markercluster/MarkerCluster.Default.css"),
        ],
    ),
    HeatMap: ([("leaflet-heat.js", "leaflet.heat/leaflet-heat.js")], []),
    VectorTiles: ([("leaflet.vectorgrid", "leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js")], []),
}


class ExternalAsset(RuntimeError):
    """A map element wants a file from outside and has no vendored copy registered here."""


def use_vendored(m: Map, *, jquery: bool = True) -> Map:
    """Point `m` and every element on it at our vendored files; refuse any other outside file.

    `jquery=False` leaves jQuery out (88 KB): only folium's popups and ready-handlers need it, and the
    product's map pages have neither (their scripts fill the layers and build popups themselves)."""
    for element in _walk(m):
        entry = _entry_for(element)
        if entry is not None:
            js, css = entry
            element.default_js = [(name, vendor_url(path)) for name, path in js if jquery or name != "jquery"]
            element.default_css = [(name, vendor_url(path)) for name, path in css]
        for _, url in [*getattr(element, "default_js", []), *getattr(element, "default_css", [])]:
            if not url.startswith("/"):
                raise ExternalAsset(f"{type(element).__name__} loads {url}: vendor it in maps/assets.py")
    return m


def vendor_url(path: str) -> str:
    """The static URL of a vendored file (honours STATIC_URL and hashed storages)."""
    return static(f"{VENDOR_DIR}/{path}")


def vendored_files() -> list[str]:
    """Every vendored path the map elements use, relative to the static root."""
    paths = [p for js, css in _ASSETS.values() for _, p in (*js, *css)]
    return [f"{VENDOR_DIR}/{p}" for p in paths]


def _entry_for(element: Element) -> tuple[list[tuple[str, str]], list[tuple[str, str]]] | None:
    for cls in type(element).__mro__:
        if cls in _ASSETS:
            return _ASSETS[cls]
    return None


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in element._children.values():
        yield from _walk(child)
