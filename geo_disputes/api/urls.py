"""API routes (JSON / GeoJSON)."""

urlpatterns: list = []
