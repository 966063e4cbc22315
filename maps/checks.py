"""System check: a wrong basemap setting is reported at start-up, not on the first map page."""

from __future__ import annotations

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from .basemap import tile_sources


@register()
def basemap_configured(app_configs, **kwargs) -> list[Error]:
    try:
        tile_sources()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="see MAP_BASEMAP in geo_disputes/settings.py", id="maps.E001")]
    return []
