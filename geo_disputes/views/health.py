"""`GET /healthz`: public on purpose (monitors have no login); no personal data (services/ops/health.py)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from geo_disputes.middleware import RETRY_AFTER_SECONDS
from geo_disputes.services.ops.health import health


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    status, body = health()
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
