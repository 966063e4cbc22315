from django.apps import AppConfig


class GeoDisputesConfig(AppConfig):
    name = "geo_disputes"
    verbose_name = "矛盾纠纷地图"

    def ready(self) -> None:
        from geo_disputes.services.ops import replica, tokens, version

        tokens.connect_signals()  # a password change revokes the user's API tokens
        replica.connect_signals()  # a change to who may see what fences off a replica not yet past it
        version.load()  # once, at start-up: /healthz reports the code this process loaded
