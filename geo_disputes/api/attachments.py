"""Case attachments API: upload (whole or resumable), list, download, remove.

GET/POST /api/cases/<ref>/attachments/ · GET/DELETE /api/cases/<ref>/attachments/<id>/ (?variant=thumbnail) ·
POST /api/cases/<ref>/uploads/ · GET/PUT /api/cases/<ref>/uploads/<id>/ (PUT a chunk with Content-Range).

A case outside the caller's scope, an attachment they may not see and one that does not exist all answer the
same 404. Downloads are sent as attachments with `nosniff` and a sandboxing CSP, so a stored PDF or picture is
never run as a page of this site. The rules are in services.cases.attachments; this module only translates.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_disputes.models.attachments import Attachment, UploadSession
from geo_disputes.services.cases import attachment_store as store
from geo_disputes.services.cases import attachments as service
from geo_disputes.services.cases.access import FULL, attachment_view, may_attach, visible_cases

_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
# Room for the multipart envelope and the form's other fields around a file at the size limit.
_ENVELOPE = 256 * 1024


class _Refused(APIException):
    def __init__(self, field: str, message: str, code: int):
        self.status_code = code
        super().__init__({field: message})


def attachment_dict(attachment: Attachment, view: str | None) -> dict:
    """What a client learns of one attachment (`view`: access.attachment_view of the reader); EXIF place and time
    only for those who read the exact point."""
    ref = attachment.case.reference
    url = reverse("api-case-attachment", args=[ref, attachment.pk])
    full = view == FULL
    data = {
        "id": str(attachment.pk),
        "case": ref,
        "kind": attachment.kind,
        "kind_label": attachment.get_kind_display(),
        "file_type": attachment.file_type,
        "name": attachment.name if full else "",
        "caption": attachment.caption if full else "",
        "size": attachment.size,
        "width": attachment.width,
        "height": attachment.height,
        "added_at": attachment.added_at.isoformat(),
        "url": url,
        "thumbnail_url": f"{url}?variant=thumbnail" if attachment.thumbnail_sha256 else None,
    }
    if full:
        data["sha256"] = attachment.sha256
        point = attachment.exif_point
        data["exif"] = {
            "lon": point.x if point else None,
            "lat": point.y if point else None,
            "datum": "WGS84",
            "taken_at": attachment.exif_taken_at.isoformat() if attachment.exif_taken_at else None,
        }
    return data


class AttachmentListView(APIView):
    def get(self, request: Request, reference: str) -> Response:
        case, view = _case(request, reference)
        rows = service.visible_attachments(request.user, case, view)
        return Response({"case": case.reference, "attachments": [attachment_dict(a, view) for a in rows]})

    def post(self, request: Request, reference: str) -> Response:
        case, _view = _case(request, reference)
        if not may_attach(request.user, case):
            raise PermissionDenied("您不能为此事项添加附件 / you may not add files to this case")
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.ATTACHMENT_MAX_BYTES + _ENVELOPE:
            limit = settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)
            raise _Refused("file", f"文件过大,上限 {limit} MB / over the {limit} MB limit", 413)
        files = request.FILES
        upload = files.get("file") or (next(iter(files.values())) if len(files) == 1 else None)
        data = request.data
        try:
            attachment = service.attach_upload(
                case, request.user, upload, kind=str(data.get("kind", "")), caption=str(data.get("caption", ""))
            )
        except service.AttachmentError as exc:
            raise _Refused(exc.field, str(exc), exc.status) from None
        return Response(attachment_dict(attachment, FULL), status=status.HTTP_201_CREATED)  # may_attach: FULL


class AttachmentView(APIView):
    def get(self, request: Request, reference: str, pk: str) -> HttpResponse:
        case, view = _case(request, reference)
        try:
            attachment = service.find(request.user, case, pk, view)
            sha, content_type, name = service.content(request.user, attachment, request.GET.get("variant", ""), view)
            handle = store.open_file(sha)
        except service.AttachmentError as exc:
            raise _Refused(exc.field, str(exc), exc.status) from None
        except store.StoreError as exc:
            raise _Refused("id", f"附件文件缺失,请联系管理员 / the stored file is missing: {exc}", 500) from None
        inline = request.GET.get("variant") == "thumbnail" or request.GET.get("inline") == "1"
        response = FileResponse(handle, content_type=content_type)
        response["Content-Disposition"] = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(name)}"
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
        response["Cache-Control"] = "private, no-store"
        return response

    def delete(self, request: Request, reference: str, pk: str) -> Response:
        case, view = _case(request, reference)
        reason = request.data.get("reason", "") if isinstance(request.data, dict) else ""
        reason = reason or request.GET.get("reason", "")
        try:
            attachment = service.find(request.user, case, pk, view)
            service.remove(request.user, attachment, str(reason))
        except service.AttachmentError as exc:
            raise _Refused(exc.field, str(exc), exc.status) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadStartView(APIView):
    """Start a resumable upload: {name, size, kind?, caption?, sha256?} → 201 {id, url, received, chunk_size}."""

    def post(self, request: Request, reference: str) -> Response:
        case, _view = _case(request, reference)
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ValidationError({"name": "expected a JSON object {name, size, kind, caption, sha256}"})
        unknown = sorted(set(data) - {"name", "size", "kind", "caption", "sha256"})
        if unknown:
            raise ValidationError({unknown[0]: "unknown field; fields: name, size, kind, caption, sha256"})
        try:
            session = service.start_upload(
                case,
                request.user,
                name=str(data.get("name", "")),
                size=data.get("size"),
                kind=str(data.get("kind", "")),
                caption=str(data.get("caption", "")),
                sha256=str(data.get("sha256", "")),
            )
        except service.AttachmentError as exc:
            raise _Refused(exc.field, str(exc), exc.status) from None
        return Response(_session_dict(session), status=status.HTTP_201_CREATED)


class UploadView(APIView):
    """Where a resumable upload stands (GET), and its next chunk (PUT, Content-Range: bytes a-b/total)."""

    def get(self, request: Request, reference: str, pk: str) -> Response:
        case, _view = _case(request, reference)
        try:
            return Response(_session_dict(service.upload_session(request.user, case, pk)))
        except service.AttachmentError as exc:
            raise _Refused(exc.field, str(exc), exc.status) from None

    def put(self, request: Request, reference: str, pk: str) -> Response:
        case, _view = _case(request, reference)
        try:
            session = service.upload_session(request.user, case, pk)
        except service.AttachmentError as exc:
            raise _Refused(exc.field, str(exc), exc.status) from None
        match = _RANGE.fullmatch(request.META.get("HTTP_CONTENT_RANGE", "").strip())
        if match is None:
            raise ValidationError({"Content-Range": "required: bytes <first>-<last>/<total>"})
        first, last, total = (int(part) for part in match.groups())
        body = request.body
        if total != session.size or last < first or last - first + 1 != len(body):
            raise ValidationError(
                {
                    "Content-Range": f"bytes {first}-{last}/{total} does not fit a {len(body)}-byte chunk "
                    f"of a {session.size}-byte file"
                }
            )
        if len(body) > settings.ATTACHMENT_CHUNK_BYTES:
            raise _Refused("Content-Range", f"chunks of at most {settings.ATTACHMENT_CHUNK_BYTES} bytes", 413)
        try:
            result = service.append_chunk(session, first, body)
        except service.AttachmentError as exc:
            if exc.status == 409:
                fresh = UploadSession.objects.filter(pk=session.pk).first()
                return Response(
                    {"offset": str(exc), **(_session_dict(fresh) if fresh else {})}, status=status.HTTP_409_CONFLICT
                )
            raise _Refused(exc.field, str(exc), exc.status) from None
        if isinstance(result, Attachment):
            return Response(attachment_dict(result, FULL), status=status.HTTP_201_CREATED)
        return Response(_session_dict(result))


def _session_dict(session: UploadSession) -> dict:
    return {
        "id": str(session.pk),
        "url": reverse("api-case-upload", args=[session.case.reference, session.pk]),
        "name": session.name,
        "size": session.size,
        "received": session.received,
        "chunk_size": settings.ATTACHMENT_CHUNK_BYTES,
    }


def _case(request: Request, reference: str) -> tuple:
    """The case, and how the reader may see its files (access.attachment_view, asked once per request)."""
    case = visible_cases(request.user).select_related("unit").filter(reference=reference).first()
    view = attachment_view(request.user, case) if case is not None else None
    if view is None:
        raise NotFound(f"no case {reference!r} in your scope / 无此事项或不在您的辖区")
    return case, view
