"""folium elements of our own: the hand-over from the server-built map to the page's JavaScript.

folium draws the frame (map, empty layer groups, layer control, scale, full screen); the
features themselves arrive later by bounding box from the JSON API, so no feature is ever
embedded in the HTML. `PageScript` passes the layer groups and a JSON config to
`GeoDisputesMaps.mount` (maps/static/maps/js/layers.js). Jinja's `tojson` escapes <, >, &
and quotes, so config strings cannot break out of the script.
"""

from __future__ import annotations

from branca.element import MacroElement
from folium import FeatureGroup
from folium.elements import JSCSSMixin
from folium.template import Template


class PageScript(MacroElement):
    """Calls `GeoDisputesMaps.mount(map, config, groups)` once the map and its groups exist."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            GeoDisputesMaps.mount({{ this._parent.get_name() }}, {{ this.config|tojson }}, {
            {%- for key, group in this.groups.items() %}
                {{ key|tojson }}: {{ group.get_name() }},
            {%- endfor %}
            });
        {% endmacro %}
        """
    )

    def __init__(self, config: dict, groups: dict[str, FeatureGroup]) -> None:
        super().__init__()
        self._name = "PageScript"
        self.config = config
        self.groups = groups


class VectorTiles(JSCSSMixin, MacroElement):
    """Brings Leaflet.VectorGrid (vendored, maps/assets.py) to a page whose script draws vector tiles
    (/tiles/<layer>/<z>/<x>/<y>.pbf); it writes nothing itself."""

    _template = Template("")
    default_js = [("leaflet.vectorgrid", "leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js")]  # maps/assets.py

    def __init__(self) -> None:
        super().__init__()
        self._name = "VectorTiles"
