"""The product's URLs plus the peer views the benchmarks compare against (never mounted in the product)."""

from django.urls import include, path

from .drf_peer import PeerCaseListView

urlpatterns = [
    path("bench/peer/cases/", PeerCaseListView.as_view(), name="bench-peer-cases"),
    path("", include("geo_disputes.urls")),
]
