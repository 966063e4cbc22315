"""Attaching files to a case, reading them back and removing them — each step checked and recorded.

Who: `access.attachment_view` (originals to the handlers, EXIF-free pictures of the damage to field staff and
the court, nothing to planners or the accused side) and `access.may_attach`. An upload is checked by its content
(`attachment_types.detect`) before anything is stored; the bytes go to the content-addressed store first and the
row and the history entry are written in one transaction, so a refusal or a failure leaves no row and at most an
unreferenced file (swept after a day). Removal is an act with a reason: the row stays (who, when, why), the bytes
go once the transaction commits and no other attachment uses them.

Large files on a slow line go through an upload session (`start_upload`, `append_chunk`): the client sends
chunks at the offset the server reports, so a dropped connection resumes where it broke instead of starting over.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import unicodedata
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from geo_disputes.models import Case, CaseEvent, PersonalDataAccess
from geo_disputes.models.attachments import Attachment, AttachmentKind, FileType, UploadSession
from geo_disputes.services.cases import attachment_store as store
from geo_disputes.services.cases.access import FULL, SHOWN, SHOWN_KINDS, attachment_view, may_attach
from geo_disputes.services.cases.attachment_pictures import copies, facts
from geo_disputes.services.cases.attachment_types import FileTypeError, detect

NAME_MAX = 200
CAPTION_MAX = 200
REASON_MAX = 200
_SHA = re.compile(r"[0-9a-f]{64}")
UPLOAD_SESSION_HOURS = 24
# Files that carry a person's identity, signature or voice: each download is recorded (PersonalDataAccess).
PERSONAL_KINDS = (
    AttachmentKind.IDENTITY,
    AttachmentKind.AGREEMENT,
    AttachmentKind.AUDIO,
    AttachmentKind.SERVICE_RECEIPT,
)


class AttachmentError(ValueError):
    """A refused upload, read or removal; `field` names the input at fault, `status` the HTTP answer."""

    def __init__(self, message: str, field: str = "file", status: int = 400):
        super().__init__(message)
        self.field, self.status = field, status


class AttachmentNotFound(AttachmentError):
    def __init__(self) -> None:
        super().__init__("无此附件或不在您的权限内 / no such attachment in your scope", "id", 404)


def attach(
    case: Case,
    user,
    source: Path,
    *,
    name: str,
    kind: str = "",
    caption: str = "",
    now: dt.datetime | None = None,
    at_intake: bool = False,
) -> Attachment:
    """Check the file at `source` and keep it with `case`. `at_intake`: the registrar's files sent with the
    registration itself (field staff may attach then, and only then)."""
    if not at_intake and not may_attach(user, case):
        raise AttachmentError("您不能为此事项添加附件 / you may not add files to this case", "file", 403)
    name, caption = clean_name(name), _clean_text(caption, CAPTION_MAX, "caption")
    try:
        found = detect(source)
    except FileTypeError as exc:
        raise AttachmentError(f"{name}: {exc}", "file") from exc
    kind = _kind(kind, found.file_type)
    now = now or timezone.now()
    sha, size = store.put_file(source)
    stripped = thumbnail = ""
    point, taken_at = None, None
    if found.file_type in (FileType.JPEG, FileType.PNG, FileType.HEIC):
        photo = facts(source)
        if photo.has_point:
            point = Point(photo.lon, photo.lat, srid=4326)
        taken_at = photo.taken_at
        made = copies(source, found.file_type)
        stripped, thumbnail = store.put_bytes(made.stripped), store.put_bytes(made.thumbnail)
    with transaction.atomic():
        attachment = Attachment.objects.create(
            case=case,
            kind=kind,
            file_type=found.file_type,
            name=name,
            caption=caption,
            size=size,
            sha256=sha,
            stripped_sha256=stripped,
            thumbnail_sha256=thumbnail,
            width=found.width,
            height=found.height,
            exif_point=point,
            exif_taken_at=taken_at,
            added_at=now,
            added_by=user,
        )
        CaseEvent.objects.create(
            case=case,
            at=now,
            actor=user,
            action="attach",
            changes={"attachment": str(attachment.pk), "material": kind, "file_type": found.file_type, "size": size},
        )
    return attachment


def attach_upload(case: Case, user, upload, **kwargs) -> Attachment:
    """`attach` for a Django UploadedFile (in memory or a temporary file)."""
    if upload is None:
        raise AttachmentError("请选择文件 / choose a file (multipart field 'file')", "file")
    path = getattr(upload, "temporary_file_path", None)
    if path is not None:
        return attach(case, user, Path(path()), name=upload.name or "", **kwargs)
    spool = store.staging_dir() / f"mem-{os.getpid()}-{id(upload)}"
    try:
        with spool.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        return attach(case, user, spool, name=upload.name or "", **kwargs)
    finally:
        spool.unlink(missing_ok=True)


# `view` arguments below: the caller's access.attachment_view(user, case) when it has it already (a request asks
# once: each asking is two queries), else ASK.
ASK = "ask"


def visible_attachments(user, case: Case, view: str | None = ASK) -> QuerySet[Attachment]:
    """The attachments of `case` that `user` may see (removed ones excluded)."""
    view = attachment_view(user, case) if view == ASK else view
    qs = Attachment.objects.filter(case=case, removed_at__isnull=True).select_related("added_by")
    if view == FULL:
        return qs
    if view == SHOWN:
        return qs.filter(kind__in=SHOWN_KINDS, file_type__in=(FileType.JPEG, FileType.PNG, FileType.HEIC))
    return qs.none()


def find(user, case: Case, attachment_id: str, view: str | None = ASK) -> Attachment:
    """One visible attachment; a removed, unknown, malformed or withheld id answers the same 404."""
    pk = _uuid(attachment_id)
    found = visible_attachments(user, case, view).filter(pk=pk).first() if pk else None
    if found is None:
        raise AttachmentNotFound()
    return found


def content(user, attachment: Attachment, variant: str = "", view: str | None = ASK) -> tuple[str, str, str]:
    """(stored sha256, content type, download name) of what `user` gets for `variant` ('' = the file itself,
    'thumbnail'). A viewer without the location gets the EXIF-free copy even when asking for the original."""
    view = attachment_view(user, attachment.case) if view == ASK else view
    if view is None:
        raise AttachmentNotFound()
    stem = Path(attachment.name).stem or "attachment"
    if variant == "thumbnail":
        if not attachment.thumbnail_sha256:
            raise AttachmentNotFound()
        return attachment.thumbnail_sha256, FileType.JPEG.value, f"{stem}-thumbnail.jpg"
    if variant == "shown" or (view == SHOWN):
        if not attachment.stripped_sha256:
            raise AttachmentNotFound()
        shown_type = FileType.PNG.value if attachment.file_type == FileType.PNG else FileType.JPEG.value
        return attachment.stripped_sha256, shown_type, f"{stem}.{'png' if shown_type == FileType.PNG else 'jpg'}"
    if variant:
        raise AttachmentError(f"variant: 'thumbnail', 'shown' or none; got {variant!r}", "variant")
    if attachment.kind in PERSONAL_KINDS:
        PersonalDataAccess.objects.create(user=user, case=attachment.case, purpose=f"下载附件 {stem}"[:60])
    return attachment.sha256, str(FileType(attachment.file_type).value), attachment.name


def remove(user, attachment: Attachment, reason: str, now: dt.datetime | None = None) -> Attachment:
    """Remove a file by a recorded act: the row keeps who, when and why; the bytes are purged."""
    if not may_attach(user, attachment.case):  # acting on a case and reading all of it: the FULL view
        raise AttachmentError("您不能删除此事项的附件 / you may not remove this case's files", "reason", 403)
    reason = _clean_text(reason, REASON_MAX, "reason")
    if not reason:
        raise AttachmentError("删除附件须写明理由 / removing a file needs a reason", "reason")
    now = now or timezone.now()
    with transaction.atomic():
        locked = Attachment.objects.select_for_update().get(pk=attachment.pk)
        if locked.removed_at is not None:
            raise AttachmentError("此附件已删除 / this file was removed already", "id", 409)
        locked.removed_at, locked.removed_by, locked.removal_reason = now, user, reason
        locked.save(update_fields=["removed_at", "removed_by", "removal_reason"])
        CaseEvent.objects.create(
            case=locked.case,
            at=now,
            actor=user,
            action="remove_attachment",
            changes={"attachment": str(locked.pk), "material": locked.kind, "file_type": locked.file_type},
            reason=reason,
        )
        hashes = {locked.sha256, locked.stripped_sha256, locked.thumbnail_sha256} - {""}
        transaction.on_commit(lambda: _purge(hashes))
    return locked


def referenced_hashes() -> set[str]:
    """Every stored file a live attachment uses (what the sweep keeps)."""
    live = Attachment.objects.filter(removed_at__isnull=True)
    found: set[str] = set()
    for row in live.values_list("sha256", "stripped_sha256", "thumbnail_sha256").iterator():
        found.update(value for value in row if value)
    return found


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """The daily clean-up: upload sessions untouched for a day and files nothing references."""
    now = now or timezone.now()
    stale = UploadSession.objects.filter(touched_at__lt=now - dt.timedelta(hours=UPLOAD_SESSION_HOURS))
    sessions = 0
    for session in stale:
        _staging_path(session).unlink(missing_ok=True)
        session.delete()
        sessions += 1
    files = store.sweep(referenced_hashes())
    return {"upload_sessions": sessions, "files": len(files)}


# -- Resumable uploads -------------------------------------------------------------------------


def start_upload(
    case: Case, user, *, name: str, size, kind: str = "", caption: str = "", sha256: str = ""
) -> UploadSession:
    if not may_attach(user, case):
        raise AttachmentError("您不能为此事项添加附件 / you may not add files to this case", "file", 403)
    try:
        size = int(size)
    except (TypeError, ValueError) as exc:
        raise AttachmentError(f"size: 须为字节数 / a number of bytes; got {size!r}", "size") from exc
    if size <= 0:
        raise AttachmentError("size: 文件为空 / the file is empty", "size")
    if size > settings.ATTACHMENT_MAX_BYTES:
        limit = settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)
        raise AttachmentError(f"size: 文件过大,上限 {limit} MB / over the {limit} MB limit", "size", 413)
    sha256 = (sha256 or "").strip().lower()
    if sha256 and not _SHA.fullmatch(sha256):
        raise AttachmentError("sha256: 须为 64 位十六进制 / 64 hex digits", "sha256")
    if kind and kind not in AttachmentKind.values:
        raise AttachmentError(f"kind: 未知类别 {kind!r} / unknown kind", "kind")
    now = timezone.now()
    session = UploadSession.objects.create(
        case=case,
        user=user,
        kind=kind,
        name=clean_name(name),
        caption=_clean_text(caption, CAPTION_MAX, "caption"),
        size=size,
        sha256=sha256,
        started_at=now,
        touched_at=now,
    )
    _staging_path(session).write_bytes(b"")
    return session


def upload_session(user, case: Case, session_id: str) -> UploadSession:
    """The caller's own session on `case` (another user's session id answers 404)."""
    pk = _uuid(session_id)
    found = UploadSession.objects.filter(pk=pk, case=case, user=user).first() if pk else None
    if found is None:
        raise AttachmentError("无此上传或已过期 / no such upload (or it expired)", "id", 404)
    return found


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def append_chunk(session: UploadSession, offset: int, data: bytes) -> UploadSession | Attachment:
    """Add `data` at `offset` (which must be what the server holds so far — else 409 with the right offset);
    the finished Attachment when the last byte arrived, else the session."""
    with transaction.atomic():
        locked = UploadSession.objects.select_for_update().get(pk=session.pk)
        if offset != locked.received:
            raise AttachmentError(
                f"offset: 服务器已收到 {locked.received} 字节,请从此处续传 / resume at byte {locked.received}",
                "offset",
                409,
            )
        if locked.received + len(data) > locked.size:
            raise AttachmentError("超出声明的文件大小 / more bytes than the declared size", "size")
        path = _staging_path(locked)
        if not path.exists() or path.stat().st_size != locked.received:
            raise AttachmentError("上传已中断,请重新开始 / the upload's partial file is gone; start again", "id", 410)
        with path.open("ab") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        locked.received += len(data)
        locked.touched_at = timezone.now()
        locked.save(update_fields=["received", "touched_at"])
    if locked.received < locked.size:
        return locked
    return _finish(locked)


def _finish(session: UploadSession) -> Attachment:
    path = _staging_path(session)
    try:
        if session.sha256 and _sha256_of(path) != session.sha256:
            raise AttachmentError("文件校验不符,请重新上传 / the file does not match its SHA-256; upload again")
        with transaction.atomic():
            attachment = attach(
                session.case, session.user, path, name=session.name, kind=session.kind, caption=session.caption
            )
            UploadSession.objects.filter(pk=session.pk).delete()
        return attachment
    except AttachmentError:
        UploadSession.objects.filter(pk=session.pk).delete()
        raise
    finally:
        path.unlink(missing_ok=True)


def _staging_path(session: UploadSession) -> Path:
    return store.staging_dir() / f"upload-{session.pk}"


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(store.BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _purge(hashes: set[str]) -> None:
    still = Attachment.objects.filter(removed_at__isnull=True).filter(
        Q(sha256__in=hashes) | Q(stripped_sha256__in=hashes) | Q(thumbnail_sha256__in=hashes)
    )
    used = {value for row in still.values_list("sha256", "stripped_sha256", "thumbnail_sha256") for value in row}
    for sha in hashes - used:
        store.remove(sha)


def _kind(kind: str, file_type: str) -> str:
    if kind:
        if kind not in AttachmentKind.values:
            raise AttachmentError(f"kind: 未知类别 {kind!r} / unknown kind", "kind")
        return kind
    if file_type in (FileType.MP3, FileType.M4A):
        return AttachmentKind.AUDIO
    if file_type == FileType.PDF:
        return AttachmentKind.OTHER
    return AttachmentKind.SITE_PHOTO


def clean_name(name: str) -> str:
    """A file name fit to keep and to send back: no directories, no control characters, at most NAME_MAX."""
    name = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return (name or "attachment")[-NAME_MAX:]


def _clean_text(value: str, limit: int, field: str) -> str:
    value = str(value or "").strip()
    if "\x00" in value:
        raise AttachmentError(f"{field}: 含非法字符 / contains NUL", field)
    if len(value) > limit:
        raise AttachmentError(f"{field}: 超过 {limit} 字 / longer than {limit} characters", field)
    return value
