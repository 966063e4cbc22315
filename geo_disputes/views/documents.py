"""The case's written notices: what can be issued now (GET), issuing or previewing one (POST), downloading
an issued one as .docx or .pdf, and recording its service. Logic in services/cases/notices.py and
service_of_documents.py; an out-of-scope case or document is a 404, as on the case page."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from geo_disputes.models import NoticeKind
from geo_disputes.models.cases import ServiceMethod
from geo_disputes.services.cases import notices
from geo_disputes.services.cases.access import can_act, can_read_case_text
from geo_disputes.services.cases.notice_files import to_docx, to_pdf
from geo_disputes.services.cases.notices import NoticeError
from geo_disputes.services.cases.service_of_documents import PROOF, record_service
from geo_disputes.templatetags.bilingual import one_language

from .cases import _visible_case

FORMATS = {
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", to_docx),
    "pdf": ("application/pdf", to_pdf),
}


@login_required
@require_http_methods(["GET", "POST"])
def documents(request: HttpRequest, reference: str) -> HttpResponse:
    case = _visible_case(request.user, reference)
    if not can_read_case_text(request.user, case):
        raise Http404(_("无此事项或不在您的辖区"))
    error, preview, status = None, None, 200
    posted = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        inputs = {k: v for k, v in request.POST.items() if k not in ("kind", "csrfmiddlewaretoken")}
        kind = request.POST.get("kind", "")
        try:
            if "preview" in request.POST:
                preview = notices.render(
                    notices.prepare(case, kind, inputs, request.user, receipt_for=inputs.get("receipt_for", ""))
                )
            else:
                document = notices.issue(
                    case,
                    kind,
                    inputs,
                    request.user,
                    supersedes=inputs.get("supersedes", ""),
                    reason=inputs.get("reason", "") if inputs.get("supersedes") else "",
                    receipt_for=inputs.get("receipt_for", ""),
                )
                response = redirect(f"{reverse('case-documents', args=[case.reference])}?issued={document.number}")
                response.status_code = 303
                response["X-Document-Number"] = document.number
                return response
        except NoticeError as refusal:
            error, status = {"field": refusal.field, "message": one_language(str(refusal))}, 400
    issued = notices.documents_for(request.user, case)
    offered = notices.offered_kinds(case) if can_act(request.user, case) else []
    context = {
        "case": case,
        "issued": issued,
        "just_issued": request.GET.get("issued", ""),
        "offered": [
            {
                "kind": kind,
                "label": _(NoticeKind(kind).label),
                "inputs": [
                    {
                        "name": item.name,
                        "label": _(item.label),
                        "required": item.required,
                        "value": posted.get(item.name, "") if posted.get("kind") == kind else item.default(case),
                    }
                    for item in notices.SPECS[kind].inputs
                ],
            }
            for kind in offered
        ],
        "receipt_targets": [d for d in issued if d.kind != NoticeKind.SERVICE_RECEIPT],
        "methods": [(value, _(label)) for value, label in ServiceMethod.choices],
        "proof_labels": {str(method): label for method, (_name, label) in PROOF.items()},
        "error": error,
        "posted": posted,
        "preview": preview,
        "preview_blocks": [
            {"table": b} if isinstance(b, list) else {"text": b} for b in (preview.blocks if preview else [])
        ],
        "now": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }
    return render(request, "cases/documents.html", context, status=status)


@login_required
def download(request: HttpRequest, reference: str, number: str, fmt: str) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404(_("无此文书"))
    document = notices.readable_document(request.user, reference, number)
    if document is None:
        raise Http404(_("无此文书"))
    content_type, write = FORMATS[fmt]
    response = HttpResponse(write(notices.as_read_by(request.user, document)), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{document.number}.{fmt}"'
    response["Cache-Control"] = "private, no-store"  # names inside: never in a shared cache
    return response


@login_required
@require_POST
def serve(request: HttpRequest, reference: str, number: str) -> HttpResponse:
    document = notices.readable_document(request.user, reference, number)
    if document is None:
        raise Http404(_("无此文书"))
    try:
        served_at = _local_moment(request.POST.get("served_at", ""))
        record_service(
            document,
            request.user,
            method=request.POST.get("method", ""),
            served_at=served_at,
            recipient=request.POST.get("recipient", ""),
            tracking_number=request.POST.get("tracking_number", ""),
            proof=request.POST.get("proof", ""),
            receipt_scan=request.FILES.get("receipt_scan"),
        )
    except NoticeError as refusal:
        messages.error(request, f"{document.doc_number}: {one_language(str(refusal))}")
        return redirect(f"{reverse('case-documents', args=[reference])}#doc-{document.number}")
    response = redirect(f"{reverse('case-documents', args=[reference])}#doc-{document.number}")
    response.status_code = 303
    return response


def _local_moment(text: str) -> dt.datetime:
    """A date-time from the form (the banner's local time)."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise NoticeError("送达时间格式不对(年-月-日 时:分) / served_at must be a date-time", "served_at") from exc
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
