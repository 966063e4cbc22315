"""Map pages under /maps/ and the court map's own feature endpoint."""

from django.urls import path

from geo_disputes.api.schema import document

from . import views
from .api import MiningParcelsView

document({"MiningParcelsView": MiningParcelsView})

urlpatterns = [
    path("field/", views.field, name="maps-field"),
    path("court/", views.court, name="maps-court"),
    path("court/print/", views.court_print, name="maps-court-print"),
    path("planner/", views.planner, name="maps-planner"),
    path("features/mining-parcels/", MiningParcelsView.as_view(), name="maps-mining-parcels"),
]
