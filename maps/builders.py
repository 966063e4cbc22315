"""folium maps for the field lookup and the mining court, built from plain settings and constants.

Builders never touch the database: folium draws the frame (basemap, empty layer groups, layer
control, scale bar, full screen) and the page script fills the groups from the JSON API by
bounding box as the user pans. The HTML therefore stays the same size whatever the data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import folium
from django.urls import reverse
from folium.plugins import Fullscreen

from geo_disputes.models import MiningArea, Parcel, Township, Village

from .assets import use_vendored
from .basemap import tile_sources
from .elements import PageScript
from .styles import LAND_USE_COLOURS, LAYER_STYLES, legend

# Banner-wide view before the township outlines arrive and the page fits to them (DOMAIN.md box).
CENTRE = (39.795, 110.8)  # (lat, lon) as Leaflet wants it
START_ZOOM = 9
MIN_ZOOM = 7
MAX_ZOOM = 19
GRID_MIN_ZOOM = 12  # a grid is 10-15 households: below this they are specks
PARCEL_MIN_ZOOM = 14  # parcels are fields and yards

# Pages that are not ours yet: the cases list API filter and the intake form (linked, not built here).
CASES_API = "/api/cases/"
CASE_NEW_URL = "/cases/new/"


@dataclass(frozen=True)
class LayerSource:
    """A layer group on the page and where its features come from.

    `by_bbox` layers are fetched for the visible box on every pan (only from `min_zoom` on);
    the others are small (townships, mining areas) and fetched whole once; `fit` ones set the
    first view to their extent. Without `popups` a tap goes to the map (the field lookup).
    A page lists its sources bottom to top: that is the drawing order whatever arrives first.
    """

    key: str
    label: str
    url: str
    by_bbox: bool = True
    min_zoom: int = 0
    show: bool = True
    fit: bool = False
    popups: bool = True


@dataclass(frozen=True)
class MapHtml:
    """A rendered folium map cut into the three places a Django template puts them."""

    head: str
    body: str
    script: str


def field_map() -> folium.Map:
    """The field lookup: boundaries down to parcels, mining areas, and a group for the lookup result."""
    sources = [
        LayerSource("townships", "苏木乡镇/街道", _layer_url("townships"), by_bbox=False, fit=True),
        LayerSource("villages", "嘎查村/社区", _layer_url("villages")),
        LayerSource("grids", f"网格（{GRID_MIN_ZOOM}级以上）", _layer_url("grids"), min_zoom=GRID_MIN_ZOOM),
        LayerSource("mining-areas", "矿区", _layer_url("mining-areas"), by_bbox=False),
        LayerSource("parcels", f"地块（{PARCEL_MIN_ZOOM}级以上）", _layer_url("parcels"), min_zoom=PARCEL_MIN_ZOOM),
    ]
    sources = [replace(s, popups=False) for s in sources]
    return _build("field", sources, result_label="查询结果")


def court_map() -> folium.Map:
    """The mining court: mining areas and influence zones, the villages and grids around them, and
    the parcels a mine touches (land-use colours, area in mu)."""
    sources = [
        LayerSource("townships", "苏木乡镇/街道", _layer_url("townships"), by_bbox=False),
        LayerSource("villages", "嘎查村/社区", _layer_url("villages")),
        LayerSource("mining-zones", "矿区影响区", _layer_url("mining-zones"), by_bbox=False, fit=True),
        LayerSource("grids", f"网格（{GRID_MIN_ZOOM}级以上）", _layer_url("grids"), min_zoom=GRID_MIN_ZOOM),
        LayerSource("mining-areas", "矿区", _layer_url("mining-areas"), by_bbox=False),
        LayerSource(
            "mining-parcels",
            f"涉矿地块（{GRID_MIN_ZOOM}级以上）",
            reverse("maps-mining-parcels"),
            min_zoom=GRID_MIN_ZOOM,
        ),
    ]
    return _build("court", sources, result_label="选中矿区")


def render_parts(m: folium.Map) -> MapHtml:
    """Render `m` with vendored assets and split it into head, body and script HTML."""
    use_vendored(m)
    root = m.get_root()
    root.render()
    return MapHtml(head=root.header.render(), body=root.html.render(), script=root.script.render())


def _build(page: str, sources: list[LayerSource], result_label: str) -> folium.Map:
    m = folium.Map(
        location=CENTRE,
        zoom_start=START_ZOOM,
        tiles=None,
        control_scale=True,
        prefer_canvas=True,  # thousands of parcels draw faster on one canvas than as SVG nodes
        minZoom=MIN_ZOOM,  # passed through as Leaflet map options: without tiles Leaflet has no limits
        maxZoom=MAX_ZOOM,
    )
    for tiles in tile_sources():
        folium.TileLayer(
            tiles.url,
            attr=tiles.attribution,
            name=tiles.name,
            subdomains=tiles.subdomains,
            max_zoom=MAX_ZOOM,
            max_native_zoom=tiles.max_zoom,
            overlay=tiles.overlay,
        ).add_to(m)
    groups = {s.key: folium.FeatureGroup(name=s.label, show=s.show).add_to(m) for s in sources}
    groups["result"] = folium.FeatureGroup(name=result_label).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    Fullscreen(position="topleft", title="全屏", title_cancel="退出全屏").add_to(m)
    keys = [s.key for s in sources] + ["result"]
    PageScript(_config(page, sources, keys), groups).add_to(m)
    return m


def _config(page: str, sources: list[LayerSource], keys: list[str]) -> dict:
    """What the page script needs: layer endpoints and styles, legend, labels, API URLs."""
    return {
        "page": page,
        "layers": [{**asdict(s), "style": LAYER_STYLES[s.key]} for s in sources],
        "resultStyle": LAYER_STYLES["result"],
        "landUseColours": LAND_USE_COLOURS,
        "legend": legend(keys, land_use=any(s.key.endswith("parcels") for s in sources)),
        "labels": {
            "land_use": dict(Parcel.LandUse.choices),
            "township_kind": dict(Township.Kind.choices),
            "village_kind": dict(Village.Kind.choices),
            "mine_kind": dict(MiningArea.Kind.choices),
        },
        "api": {
            "locate": reverse("api-locate"),
            "layers": {"parcels": _layer_url("parcels")},
            "parcel": reverse("api-parcel", args=["__code__"]),
            "cases": CASES_API,
            "caseNew": CASE_NEW_URL,
        },
    }


def _layer_url(name: str) -> str:
    return reverse("api-layer", args=[name])
