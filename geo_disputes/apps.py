from django.apps import AppConfig


class GeoDisputesConfig(AppConfig):
    name = "geo_disputes"
    verbose_name = "矛盾纠纷地图"
