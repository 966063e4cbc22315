"""folium maps for the field lookup, the mining court and the planners, built from plain settings and constants.

Builders never touch the database: folium draws the frame (basemap, empty layer groups, layer
control, scale bar, full screen) and the page script fills the groups from the JSON API by
bounding box as the user pans. The HTML therefore stays the same size whatever the data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import folium
from django.urls import reverse
from django.utils.translation import gettext as _
from folium.plugins import Fullscreen, HeatMap, MarkerCluster

from geo_disputes.models import MiningArea, Parcel, Township, Village
from geo_disputes.models.cases import Category, Status, Tier
from geo_disputes.services.analysis.clusters import DEFAULT_EPS_M, DEFAULT_MIN_POINTS
from geo_disputes.services.cases.case_points import POINTS_MAX
from geo_disputes.services.cases.clock import OPEN_STATUSES

from .assets import use_vendored
from .basemap import tile_sources
from .elements import PageScript, VectorTiles
from .styles import (
    CHOROPLETH_COLOURS,
    CHOROPLETH_NO_DATA,
    HOTSPOT_CLASSES,
    LAND_USE_COLOURS,
    LAYER_STYLES,
    STATUS_COLOURS,
    legend,
)

# Banner-wide view before the township outlines arrive and the page fits to them (DOMAIN.md box).
CENTRE = (39.795, 110.8)  # (lat, lon) as Leaflet wants it
START_ZOOM = 9
MIN_ZOOM = 7
MAX_ZOOM = 19
GRID_MIN_ZOOM = 12  # a grid is 10-15 households: below this they are specks
PARCEL_MIN_ZOOM = 14  # parcels are fields and yards

# Cases on the planner's map come by box from /api/case-points/: single points (markers, clustered in the
# browser) when the view holds at most POINTS_MAX cases, else counts per grid cell counted by PostgreSQL
# (services.cases.case_points). The heat map draws the same points, or the cells weighted by their counts.


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
    points: bool = False  # point features, drawn as circle markers
    query: dict = field(default_factory=dict)  # fixed query parameters (filters add to them)
    # Outlines from vector tiles (/tiles/<layer>/{z}/{x}/{y}.pbf) instead of GeoJSON: `tiles` is the URL
    # template; with `rows` the layer's `url` answers attribute rows under that member (no geometry), joined to
    # the tiles' features by `code` (the village rates); without, the tiles are the whole layer.
    tiles: str = ""
    rows: str = ""


@dataclass(frozen=True)
class MapHtml:
    """A rendered folium map cut into the three places a Django template puts them."""

    head: str
    body: str
    script: str


def field_map(home: tuple[float, float, float, float] | None = None) -> folium.Map:
    """The field lookup: boundaries down to parcels, mining areas, and a group for the lookup result.

    `home` (minlon, minlat, maxlon, maxlat) is the user's own grid/village/township: the first view."""
    sources = [
        LayerSource("townships", _("苏木乡镇/街道"), _layer_url("townships"), by_bbox=False, fit=True),
        LayerSource("villages", _("嘎查村/社区"), _layer_url("villages")),
        LayerSource("grids", _zoomed(_("网格"), GRID_MIN_ZOOM), _layer_url("grids"), min_zoom=GRID_MIN_ZOOM),
        LayerSource("mining-areas", _("矿区"), _layer_url("mining-areas"), by_bbox=False),
        LayerSource(
            "parcels",
            _zoomed(_("地块"), PARCEL_MIN_ZOOM),
            _layer_url("parcels"),
            min_zoom=PARCEL_MIN_ZOOM,
        ),
    ]
    sources = [replace(s, popups=False) for s in sources]
    return _build("field", sources, result_label=_("查询结果"), home=home)


def court_map(home: tuple[float, float, float, float] | None = None) -> folium.Map:
    """The mining court: mining areas and influence zones, the villages and grids around them, the
    parcels a mine touches (land-use colours, area in mu) and the mining-related cases by status.

    `home` is the user's banner when the deployment serves several (else None: the page fits its mines' zones)."""
    sources = [
        # Outlines only, whole banner: vector tiles of the view (a few KB) rather than all 74 KB of GeoJSON.
        LayerSource(
            "townships", _("苏木乡镇/街道"), _layer_url("townships"), by_bbox=False, tiles=_tile_url("townships")
        ),
        LayerSource("villages", _("嘎查村/社区"), _layer_url("villages")),
        # A zone's tap shows its mine, as the mine's own tap does (court.js), hence no popup of its own.
        LayerSource("mining-zones", _("矿区影响区"), _layer_url("mining-zones"), by_bbox=False, fit=True, popups=False),
        LayerSource("grids", _zoomed(_("网格"), GRID_MIN_ZOOM), _layer_url("grids"), min_zoom=GRID_MIN_ZOOM),
        LayerSource("mining-areas", _("矿区"), _layer_url("mining-areas"), by_bbox=False),
        LayerSource(
            "mining-parcels",
            _zoomed(_("涉矿地块"), GRID_MIN_ZOOM),
            reverse("maps-mining-parcels"),
            min_zoom=GRID_MIN_ZOOM,
            popups=False,  # a tap shows the parcel, its holder (per role) and its cases in the panel
        ),
        LayerSource("cases", _("涉矿事项（按状态着色）"), reverse("api-cases"), points=True, query={"mining": "1"}),
    ]
    return _build("court", sources, result_label=_("选中矿区/地块"), statuses=True, home=home)


def planner_map(
    home: tuple[float, float, float, float] | None = None, townships: list[tuple[str, str]] | None = None
) -> folium.Map:
    """The planners' map: cases per 100 households by village, Gi* hot spots, DBSCAN clusters, and the
    cases themselves as clustered markers and as a heat map (both by box as the user pans).

    Township and village outlines come as vector tiles (measured in bench/README.md: at the first view 9 KB
    of township tiles against 74 KB of GeoJSON, 25 KB of village tiles + 35 KB of rate rows against 143 KB);
    so the page opens on `home` (the user's area or the banner) and lists `townships` (code, name) itself."""
    sources = [
        LayerSource(
            "townships", _("苏木乡镇/街道"), _layer_url("townships"), by_bbox=False, tiles=_tile_url("townships")
        ),
        LayerSource(
            "village-rates",
            _("每百户事项数（分村）"),
            reverse("api-village-rates"),
            by_bbox=False,
            tiles=_tile_url("villages"),
            rows="villages",
        ),
        LayerSource("hotspots", _("Gi* 冷热点（六边形）"), reverse("api-hotspots"), by_bbox=False, show=False),
        # Hulls without their members' references (at 1M cases those were 17.5 MB); a popup counts them.
        LayerSource(
            "clusters",
            _("DBSCAN 聚集区"),
            reverse("api-clusters"),
            by_bbox=False,
            query={"members": "false"},
            show=False,  # like hot spots, computed when asked for: banner-wide at 10^6 cases it takes minutes
        ),
        # Drawn, with its legend and step selector, by maps/js/emerging.js.
        LayerSource("emerging", _("新兴热点（时空趋势）"), reverse("api-emerging-hotspots"), by_bbox=False, show=False),
    ]
    extra = {
        "heat": HeatMap([], name=_("事项热力图"), show=False, radius=18, blur=14, min_opacity=0.35, max_zoom=14),
        "case-markers": MarkerCluster(
            name=_("事项（聚合标注）"), options={"chunkedLoading": True, "showCoverageOnHover": False}
        ),
    }
    m = _build("planner", sources, result_label=_("选中"), extra=extra, hotspots=True, home=home)
    _page_script(m).config["townships"] = [list(row) for row in townships or []]
    return m


def render_parts(m: folium.Map) -> MapHtml:
    """Render `m` with vendored assets and split it into head, body and script HTML."""
    use_vendored(m, jquery=False)
    root = m.get_root()
    root.render()
    return MapHtml(head=root.header.render(), body=root.html.render(), script=root.script.render())


def _build(
    page: str,
    sources: list[LayerSource],
    result_label: str,
    *,
    extra: dict[str, folium.map.Layer] | None = None,
    statuses: bool = False,
    hotspots: bool = False,
    home: tuple[float, float, float, float] | None = None,
) -> folium.Map:
    m = folium.Map(
        location=CENTRE,
        zoom_start=START_ZOOM,
        tiles=None,
        control_scale=False,  # layers.js adds a metric-only scale (folium's adds miles and feet)
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
    for key, layer in (extra or {}).items():  # layers the page script fills itself (heat, marker clusters)
        groups[key] = layer.add_to(m)
    groups["result"] = folium.FeatureGroup(name=result_label).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    Fullscreen(position="topleft", title=_("全屏"), title_cancel=_("退出全屏")).add_to(m)
    keys = [s.key for s in sources] + list(extra or {}) + ["result"]
    config = _config(page, sources, keys, statuses=statuses, hotspots=hotspots)
    # Leaflet bounds [[south, west], [north, east]]; a page without one fits its `fit` layers instead.
    config["home"] = [[home[1], home[0]], [home[3], home[2]]] if home else None
    PageScript(config, groups).add_to(m)
    if any(s.tiles for s in sources):
        VectorTiles().add_to(m)
    return m


def _page_script(m: folium.Map) -> PageScript:
    return next(child for child in m._children.values() if isinstance(child, PageScript))


def _config(page: str, sources: list[LayerSource], keys: list[str], *, statuses: bool, hotspots: bool) -> dict:
    """What the page script needs: layer endpoints and styles, legend, labels, API URLs."""
    return {
        "page": page,
        "layers": [{**asdict(s), "style": LAYER_STYLES[s.key]} for s in sources],
        "styles": {key: LAYER_STYLES[key] for key in keys if key in LAYER_STYLES},
        "resultStyle": LAYER_STYLES["result"],
        "landUseColours": LAND_USE_COLOURS,
        "statusColours": STATUS_COLOURS,
        "openStatuses": sorted(OPEN_STATUSES),
        "hotspotClasses": [{**row, "label": _(row["label"])} for row in HOTSPOT_CLASSES],
        "choropleth": {"colours": CHOROPLETH_COLOURS, "noData": CHOROPLETH_NO_DATA},
        "legend": legend(
            keys, land_use=any(s.key.endswith("parcels") for s in sources), statuses=statuses, hotspots=hotspots
        ),
        "labels": {
            "land_use": _translated(Parcel.LandUse.choices),
            "township_kind": _translated(Township.Kind.choices),
            "village_kind": _translated(Village.Kind.choices),
            "mine_kind": _translated(MiningArea.Kind.choices),
            "category": _translated(Category.choices),
            "status": _translated(Status.choices),
            "tier": _translated(Tier.choices),
        },
        "cases": {"maxPoints": POINTS_MAX},
        "clusterDefaults": {"eps_m": DEFAULT_EPS_M, "min_points": DEFAULT_MIN_POINTS},
        "api": {
            "locate": reverse("api-locate"),
            "layers": {name: _layer_url(name) for name in ("parcels", "grids", "villages")},
            "parcel": reverse("api-parcel", args=["__code__"]),
            "parcelSearch": reverse("api-parcel-search"),
            "cases": reverse("api-cases"),
            "casePoints": reverse("api-case-points"),
            "caseDetail": reverse("api-case", args=["__ref__"]),
            "case": reverse("case-detail", args=["__ref__"]),
            "caseNew": reverse("case-new"),
        },
    }


def _zoomed(name: str, zoom: int) -> str:
    """A layer shown from a zoom level on: "网格（15级以上）" in the page's language (`name` translated by the
    caller, where makemessages can see the literal)."""
    return _("%(layer)s（%(zoom)s级以上）") % {"layer": name, "zoom": zoom}


def _translated(choices) -> dict[str, str]:
    """A model's choices (gettext_noop labels) as {value: label in the page's language} for the page script."""
    return {value: _(label) for value, label in choices}


def _layer_url(name: str) -> str:
    return reverse("api-layer", args=[name])


def _tile_url(layer: str) -> str:
    """/tiles/<layer>/{z}/{x}/{y}.pbf, the template Leaflet.VectorGrid fills in."""
    return reverse("tiles", args=[layer, 0, 0, 0]).replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")
