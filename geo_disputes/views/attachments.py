"""The case page's files: adding one (a plain multipart form; the page's script switches large files to the
resumable API) and removing one with a reason. Downloads go through the API's scope-checked view. Rules in
services/cases/attachments.py; a case the user may not see is a 404, as on the case page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from geo_disputes.services.cases import attachments as service
from geo_disputes.templatetags.bilingual import one_language

from .cases import _render_case, _visible_case


@login_required
@require_POST
def add(request: HttpRequest, reference: str) -> HttpResponse:
    case = _visible_case(request.user, reference)
    uploads = request.FILES.getlist("file")
    if not uploads:
        return _render_case(request, case, attachment_error=_("请选择文件"), status=400)
    added = []
    try:
        for upload in uploads:
            added.append(
                service.attach_upload(
                    case,
                    request.user,
                    upload,
                    kind=request.POST.get("kind", ""),
                    caption=request.POST.get("caption", ""),
                )
            )
    except service.AttachmentError as exc:
        done = _("(此前 %(n)d 个文件已添加)") % {"n": len(added)} if added else ""
        if exc.status == 403:
            return _render_case(request, case, attachment_error=one_language(str(exc)), status=403)
        return _render_case(request, case, attachment_error=one_language(str(exc)) + done, status=400)
    messages.success(request, _("已添加附件:%(names)s") % {"names": "、".join(a.name for a in added)})
    return redirect(f"{case_url(case)}#attachments")


@login_required
@require_POST
def remove(request: HttpRequest, reference: str, pk: str) -> HttpResponse:
    case = _visible_case(request.user, reference)
    try:
        attachment = service.find(request.user, case, pk)
        service.remove(request.user, attachment, request.POST.get("reason", ""))
    except service.AttachmentError as exc:
        status = exc.status if exc.status in (403, 404, 409) else 400
        return _render_case(request, case, attachment_error=one_language(str(exc)), status=status)
    messages.success(request, _("已删除附件:%(name)s") % {"name": attachment.name})
    return redirect(f"{case_url(case)}#attachments")


def case_url(case) -> str:
    return reverse("case-detail", args=[case.reference])
