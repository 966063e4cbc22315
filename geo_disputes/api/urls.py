"""API routes (JSON / GeoJSON). Plain path() routes; every endpoint needs an authenticated user."""

from django.urls import path

from .cases import CaseDetailView, CaseListView, CaseTransitionView
from .layers import LayerView
from .locate import LocateView
from .parcels import ParcelView

urlpatterns = [
    path("locate/", LocateView.as_view(), name="api-locate"),
    path("layers/<slug:layer>/", LayerView.as_view(), name="api-layer"),
    path("parcels/<str:code>/", ParcelView.as_view(), name="api-parcel"),
    path("cases/", CaseListView.as_view(), name="api-cases"),
    path("cases/<str:reference>/", CaseDetailView.as_view(), name="api-case"),
    path("cases/<str:reference>/transitions/", CaseTransitionView.as_view(), name="api-case-transitions"),
]
