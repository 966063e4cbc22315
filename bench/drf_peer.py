"""The GeoJSON peer: DRF + djangorestframework-gis serialising the same case list object by object.

Same queryset as GET /api/cases/ (access scope, filters, labels, derived dues, order), same page
size limit; `GeoFeatureModelSerializer` builds each Feature in Python, drf-gis's `GeoJsonPagination`
adds count/next/previous, DRF's JSONRenderer writes the text. Mounted by bench/urls.py.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.pagination import GeoJsonPagination
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geo_disputes.api.case_input import case_filter
from geo_disputes.models import Case
from geo_disputes.services.cases.access import visible_cases
from geo_disputes.services.cases.case_queries import CASE_LIST_PROPERTIES, filter_cases, with_labels
from geo_disputes.services.cases.clock import annotate_dues
from geo_disputes.services.geojson import MAX_PAGE_SIZE

ANNOTATED = ("category_label", "status_label", "tier_label", "unit_name", "next_due", "due_state", "supervision")


class CaseFeatureSerializer(GeoFeatureModelSerializer):
    category_label = serializers.CharField(read_only=True)
    status_label = serializers.CharField(read_only=True)
    tier_label = serializers.CharField(read_only=True)
    unit_name = serializers.CharField(read_only=True)
    next_due = serializers.DateField(read_only=True)
    due_state = serializers.CharField(read_only=True)
    supervision = serializers.CharField(read_only=True)
    summary = serializers.CharField(read_only=True)
    # The point as the user may see it (access.location_as_seen), as /api/cases/ draws it.
    shown_location = GeometryField(read_only=True)

    class Meta:
        model = Case
        geo_field = "shown_location"
        id_field = "reference"
        fields = ("shown_location", *CASE_LIST_PROPERTIES)


class CasePagination(GeoJsonPagination):
    page_size = 500
    max_page_size = MAX_PAGE_SIZE


class PeerCaseListView(ListAPIView):
    serializer_class = CaseFeatureSerializer
    pagination_class = CasePagination

    def get_queryset(self):
        flt = case_filter(self.request.query_params)
        qs = with_labels(
            annotate_dues(filter_cases(visible_cases(self.request.user), flt, self.request.user)), self.request.user
        )
        return qs.order_by("-received_at", "-id")
