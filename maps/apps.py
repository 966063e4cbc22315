from django.apps import AppConfig


class MapsConfig(AppConfig):
    name = "maps"
    verbose_name = "地图"

    def ready(self) -> None:
        from . import checks  # noqa: F401 — registers the basemap check
