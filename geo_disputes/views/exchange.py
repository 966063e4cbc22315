"""GET /cases/<ref>/exchange.zip: the case-exchange package (services/cases/exchange.py) for those who read the
case's text and its petitioners; anyone else — planners, field staff, the accused side — gets the case page's 404."""

from __future__ import annotations

import tempfile

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from geo_disputes.services.cases import exchange


@login_required
@require_GET
def package(request: HttpRequest, reference: str) -> FileResponse:
    case = exchange.exportable_case(request.user, reference)
    if case is None:
        raise Http404(_("无此事项或不在您的辖区"))
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # attachments may be large: spill to disk
    exchange.export_case(case, request.user, spool)
    spool.seek(0)
    response = FileResponse(spool, content_type="application/zip", as_attachment=True)
    response["Content-Disposition"] = f'attachment; filename="{case.reference}-exchange.zip"'
    response["Cache-Control"] = "private, no-store"  # petitioners' identity inside: never in a shared cache
    return response
