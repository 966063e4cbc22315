"""How each layer looks, in one place: the legend and the drawing code read the same table.

Colours are Leaflet path options; labels are what the legend shows (Chinese first).
Land-use labels come from the Parcel model's choices so the legend never disagrees with the data.
"""

from __future__ import annotations

from geo_disputes.models import Parcel

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
}


LAYER_LABELS: dict[str, str] = {
    "townships": "苏木乡镇/街道界",
    "villages": "嘎查村/社区界",
    "grids": "网格",
    "mining-areas": "矿区",
    "mining-zones": "矿区影响区",
    "result": "查询结果",
}


def legend(layer_keys: list[str], land_use: bool) -> list[dict]:
    """Legend rows for the layers on a page, then one row per land use when parcels are drawn."""
    rows = [{"label": LAYER_LABELS[key], "style": LAYER_STYLES[key]} for key in layer_keys if key in LAYER_LABELS]
    if land_use:
        rows += [
            {"label": f"地类：{label}", "style": {"color": "#4e4e4e", "fillColor": LAND_USE_COLOURS[value]}}
            for value, label in Parcel.LandUse.choices
        ]
    return rows
