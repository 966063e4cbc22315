"""How each layer looks, in one place: the legend and the drawing code read the same table.

Colours are Leaflet path options; labels are what the legend shows (Chinese first).
Land-use labels come from the Parcel model's choices so the legend never disagrees with the data.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from geo_disputes.models import Parcel
from geo_disputes.models.cases import Status

LAND_USE_COLOURS: dict[str, str] = {
    Parcel.LandUse.GRASSLAND: "#8bc34a",
    Parcel.LandUse.CULTIVATED: "#f9d35b",
    Parcel.LandUse.HOMESTEAD: "#e57373",
    Parcel.LandUse.FOREST: "#2e7d32",
    Parcel.LandUse.CONSTRUCTION: "#9e9e9e",
    Parcel.LandUse.MINING: "#6d4c41",
    Parcel.LandUse.OTHER: "#cfd8dc",
}

LAYER_STYLES: dict[str, dict] = {
    "townships": {"color": "#8b1a1a", "weight": 2.5, "fill": False},
    "villages": {"color": "#5f5f5f", "weight": 1.2, "dashArray": "4 3", "fillColor": "#ffffff", "fillOpacity": 0.02},
    "grids": {"color": "#1e88e5", "weight": 0.8, "fillOpacity": 0},
    "parcels": {"color": "#4e4e4e", "weight": 0.6, "fillOpacity": 0.5},
    "mining-parcels": {"color": "#4e4e4e", "weight": 0.8, "fillOpacity": 0.55},
    "mining-areas": {"color": "#212121", "weight": 2, "fillColor": "#424242", "fillOpacity": 0.3},
    "mining-zones": {"color": "#ef6c00", "weight": 1.5, "dashArray": "6 4", "fillColor": "#ffb74d", "fillOpacity": 0.1},
    "result": {"color": "#d50000", "weight": 3, "fillOpacity": 0.15},
    "cases": {"radius": 6, "color": "#ffffff", "weight": 1.5, "fillColor": "#e53935", "fillOpacity": 0.95},
    "village-rates": {"color": "#757575", "weight": 0.6, "fillColor": "#e0e0e0", "fillOpacity": 0.7},
    "hotspots": {"color": "#9e9e9e", "weight": 0.3, "fillOpacity": 0.7},
    "emerging": {"color": "#757575", "weight": 0.4, "fillOpacity": 0.7},
    "clusters": {"color": "#6a1b9a", "weight": 2.5, "fillColor": "#ba68c8", "fillOpacity": 0.2},
    "case-markers": {"color": "#ffffff", "fillColor": "#1565c0"},
    "heat": {"color": "#ff5722", "fillColor": "#ffeb3b"},
}

# Cases by status: red while nobody has taken the case up, warm while it is being handled,
# green/blue once resolved, grey when refused or passed on.
STATUS_COLOURS: dict[str, str] = {
    Status.REPORTED: "#e53935",
    Status.ACCEPTED: "#fb8c00",
    Status.IN_HANDLING: "#fdd835",
    Status.ON_AGENDA: "#8e24aa",
    Status.REVIEW_REQUESTED: "#d81b60",
    Status.TRANSFERRED: "#78909c",
    Status.NOT_ACCEPTED: "#9e9e9e",
    Status.RESOLVED: "#43a047",
    Status.EVALUATED: "#00897b",
    Status.CLOSED: "#1e88e5",
    Status.SERVED: "#2e7d32",
    Status.LED_INTO: "#5e35b1",
    Status.FILED: "#3949ab",
    Status.MEDIATION_FAILED: "#6d4c41",
    Status.REPEAT: "#bdbdbd",
}

# Gi* classes as ArcGIS draws them (FDR-corrected confidence), hot first.
HOTSPOT_CLASSES: list[dict] = [
    {"value": "hot_99", "label": gettext_noop("热点 99% 置信"), "colour": "#d62f27"},
    {"value": "hot_95", "label": gettext_noop("热点 95% 置信"), "colour": "#ed7551"},
    {"value": "hot_90", "label": gettext_noop("热点 90% 置信"), "colour": "#fab984"},
    {"value": "not_significant", "label": gettext_noop("不显著"), "colour": "#ffffbf"},
    {"value": "cold_90", "label": gettext_noop("冷点 90% 置信"), "colour": "#c0ccbe"},
    {"value": "cold_95", "label": gettext_noop("冷点 95% 置信"), "colour": "#849eba"},
    {"value": "cold_99", "label": gettext_noop("冷点 99% 置信"), "colour": "#4575b5"},
]

# Cases per 100 households (EB-smoothed): five quantile classes, light to dark; grey = no households.
CHOROPLETH_COLOURS = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
CHOROPLETH_NO_DATA = "#e0e0e0"


LAYER_LABELS: dict[str, str] = {
    "townships": gettext_noop("苏木乡镇/街道界"),
    "villages": gettext_noop("嘎查村/社区界"),
    "grids": gettext_noop("网格"),
    "mining-areas": gettext_noop("矿区"),
    "mining-zones": gettext_noop("矿区影响区"),
    "result": gettext_noop("查询结果"),
    "clusters": gettext_noop("DBSCAN 聚集区（凸包）"),
    "case-markers": gettext_noop("事项（聚合标注，数字为件数）"),
    "heat": gettext_noop("事项热力图"),
}


def legend(layer_keys: list[str], land_use: bool, *, statuses: bool = False, hotspots: bool = False) -> list[dict]:
    """Legend rows for the layers on a page, then one row per land use when parcels are drawn,
    per case status when cases are coloured by status, per Gi* class when hot spots are drawn."""
    rows = [{"label": _(LAYER_LABELS[key]), "style": LAYER_STYLES[key]} for key in layer_keys if key in LAYER_LABELS]
    if land_use:
        rows += [
            {"label": _("地类：%(label)s") % {"label": _(label)}, "style": {"color": "#4e4e4e", "fillColor": colour}}
            for (value, label), colour in ((c, LAND_USE_COLOURS[c[0]]) for c in Parcel.LandUse.choices)
        ]
    if statuses:
        rows += [
            {
                "label": _("事项状态：%(label)s") % {"label": _(label)},
                "style": {"color": "#ffffff", "fillColor": colour},
            }
            for (value, label), colour in ((c, STATUS_COLOURS[c[0]]) for c in Status.choices)
        ]
    if hotspots:
        rows += [
            {"label": f"Gi* {_(row['label'])}", "style": {"color": "#9e9e9e", "fillColor": row["colour"]}}
            for row in HOTSPOT_CLASSES
        ]
    return rows
