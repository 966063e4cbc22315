"""API routes (JSON / GeoJSON). Plain path() routes; every endpoint needs an authenticated user."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import analysis, attachments
from .case_points import CasePointsView
from .cases import CaseDetailView, CaseListView, CaseRecusalView, CaseTransitionView
from .emerging import EmergingHotSpotView
from .layers import LayerView
from .locate import LocateView
from .offline_pack import OfflinePackView
from .parcels import ParcelSearchView, ParcelView
from .schema import document
from .stats import StatsView

document(
    {
        view.__name__: view
        for view in (
            LocateView,
            OfflinePackView,
            LayerView,
            ParcelView,
            ParcelSearchView,
            CaseListView,
            CasePointsView,
            CaseDetailView,
            CaseTransitionView,
            CaseRecusalView,
            StatsView,
            analysis.HotSpotView,
            EmergingHotSpotView,
            analysis.VillageRateView,
            analysis.ClusterView,
            analysis.GroupProposalListView,
            analysis.ConfirmProposalView,
            analysis.RejectProposalView,
        )
    }
)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("locate/", LocateView.as_view(), name="api-locate"),
    path("offline-pack/", OfflinePackView.as_view(), name="api-offline-pack"),
    path("layers/<slug:layer>/", LayerView.as_view(), name="api-layer"),
    path("parcels/", ParcelSearchView.as_view(), name="api-parcel-search"),
    path("parcels/<str:code>/", ParcelView.as_view(), name="api-parcel"),
    path("cases/", CaseListView.as_view(), name="api-cases"),
    path("case-points/", CasePointsView.as_view(), name="api-case-points"),
    path("cases/<str:reference>/", CaseDetailView.as_view(), name="api-case"),
    path("cases/<str:reference>/transitions/", CaseTransitionView.as_view(), name="api-case-transitions"),
    path("cases/<str:reference>/recusals/", CaseRecusalView.as_view(), name="api-case-recusals"),
    path("cases/<str:reference>/attachments/", attachments.AttachmentListView.as_view(), name="api-case-attachments"),
    path(
        "cases/<str:reference>/attachments/<str:pk>/",
        attachments.AttachmentView.as_view(),
        name="api-case-attachment",
    ),
    path("cases/<str:reference>/uploads/", attachments.UploadStartView.as_view(), name="api-case-uploads"),
    path("cases/<str:reference>/uploads/<str:pk>/", attachments.UploadView.as_view(), name="api-case-upload"),
    path("stats/", StatsView.as_view(), name="api-stats"),
    path("hotspots/", analysis.HotSpotView.as_view(), name="api-hotspots"),
    path("emerging-hotspots/", EmergingHotSpotView.as_view(), name="api-emerging-hotspots"),
    path("village-rates/", analysis.VillageRateView.as_view(), name="api-village-rates"),
    path("clusters/", analysis.ClusterView.as_view(), name="api-clusters"),
    path("group-proposals/", analysis.GroupProposalListView.as_view(), name="api-group-proposals"),
    path("group-proposals/<str:pk>/confirm/", analysis.ConfirmProposalView.as_view(), name="api-proposal-confirm"),
    path("group-proposals/<str:pk>/reject/", analysis.RejectProposalView.as_view(), name="api-proposal-reject"),
]
