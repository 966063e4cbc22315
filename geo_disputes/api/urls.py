"""API routes (JSON / GeoJSON). Plain path() routes; every endpoint needs an authenticated user."""

from django.urls import path

from .layers import LayerView
from .locate import LocateView

urlpatterns = [
    path("locate/", LocateView.as_view(), name="api-locate"),
    path("layers/<slug:layer>/", LayerView.as_view(), name="api-layer"),
]
