"""GET /api/offline-pack/?village= — the user's own villages' outlines, grids and parcels for the phone.

The page asks again whenever it is online; with `If-None-Match` an unchanged pack costs a 304 and no
bytes on a weak line. What is in it and for whom: services/areas/offline_pack.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from geo_disputes.models import Parcel
from geo_disputes.services.areas.offline_pack import PackRefused, build_pack, pack_villages


class OfflinePackView(APIView):
    def get(self, request: Request) -> HttpResponse:
        village = request.query_params.get("village", "")
        if len(village) > 40 or "\x00" in village:
            raise ValidationError({"village": "不是嘎查村代码 / not a village code"})
        try:
            codes = pack_villages(request.user, village)
        except PackRefused as exc:
            raise ValidationError({"village": str(exc)}) from None
        labels = {value: gettext(label) for value, label in Parcel.LandUse.choices}
        pack = build_pack(codes, land_use_labels=labels)
        if pack.etag in _tags(request.META.get("HTTP_IF_NONE_MATCH", "")):
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(pack.body, content_type="application/json")
            response["X-Pack-Budget"] = str(settings.OFFLINE_PACK_BUDGET_BYTES)
        response["ETag"] = pack.etag
        # Per user, and re-validated every time: the phone keeps it in IndexedDB, not in an HTTP cache.
        response["Cache-Control"] = "private, no-cache"
        response["Vary"] = "Cookie, Authorization, Accept-Language"
        return response


def _tags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
