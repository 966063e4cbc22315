"""Service (送达) of an issued notice: in person (a signed receipt), by post (its tracking number), electronically
(the address it went to) or by public notice (where it was posted) — and the clocks that run from it.

The law's clocks run from service, not from a click: the petitioner's 30 days to request review run from the day
the written reply (a handling, review or re-review opinion) was served (条例 Art. 35). Recording the service of
such a reply therefore performs the workflow's `serve` action with the service's own date and method — the one
implementation of service on the case (workflow._serve checks the date against the reply and moves the status);
this module adds the proof and keeps a record per document.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from geo_disputes.models import CaseDocument, DocumentService, NoticeKind
from geo_disputes.models.attachments import AttachmentKind
from geo_disputes.models.cases import ServiceMethod, Status
from geo_disputes.services.cases import workflow
from geo_disputes.services.cases.access import can_act
from geo_disputes.services.cases.attachments import AttachmentError, attach_upload, clean_name
from geo_disputes.services.cases.notices import SPECS, NoticeError

# What proves each method, and what it is called on the form.
PROOF = {
    ServiceMethod.IN_PERSON: ("proof", "签收的送达回证(文号或扫描件编号)"),
    ServiceMethod.POST: ("tracking_number", "邮件单号"),
    ServiceMethod.ELECTRONIC: ("proof", "电子送达地址(邮箱、手机号或平台账号)"),
    ServiceMethod.NOTICE: ("proof", "公告地点或载体"),
}
FIELD_MAX = {"recipient": 100, "tracking_number": 40, "proof": 200}


def record_service(
    document: CaseDocument,
    user,
    *,
    method: str,
    served_at: dt.datetime,
    recipient: str = "",
    tracking_number: str = "",
    proof: str = "",
    receipt_scan=None,
    now: dt.datetime | None = None,
) -> DocumentService:
    """Record that `document` was served; a written reply's service also runs `serve` on the case.

    `receipt_scan`: an uploaded file (Django UploadedFile) of the signed receipt — kept as a case attachment and
    linked to the record; in person it stands as the proof when no receipt number is typed.
    """
    now = now or timezone.now()
    case = document.case
    if not can_act(user, case):
        raise NoticeError("您不能为此事项登记送达 / you may not record service for this case", "method")
    if document.kind == NoticeKind.SERVICE_RECEIPT:
        raise NoticeError("送达回证本身不需送达 / a service receipt is not served", "method")
    if method not in ServiceMethod.values:
        raise NoticeError(f"未知送达方式 {method!r} / unknown method", "method")
    values = {"recipient": recipient.strip(), "tracking_number": tracking_number.strip(), "proof": proof.strip()}
    for name, value in values.items():
        if "\x00" in value or len(value) > FIELD_MAX[name]:
            raise NoticeError(f"{name}: 过长或含非法字符 / too long or contains NUL", name)
    needed, label = PROOF[ServiceMethod(method)]
    if receipt_scan is not None and method != ServiceMethod.IN_PERSON:
        raise NoticeError(
            "签收回证扫描件仅用于直接送达 / a signed receipt belongs to service in person", "receipt_scan"
        )
    if receipt_scan is not None and not values["proof"]:
        values["proof"] = f"签收回证扫描件 {clean_name(receipt_scan.name or '')}"[: FIELD_MAX["proof"]]
    if not values[needed]:
        raise NoticeError(f"请填写{label} / {needed} is required for this method", needed)
    if served_at > now:
        raise NoticeError("送达时间不能晚于现在 / service cannot be in the future", "served_at")
    if served_at < document.issued_at.replace(second=0, microsecond=0):  # forms give minutes
        raise NoticeError("送达时间不能早于文书制发时间 / served before it was issued", "served_at")
    if CaseDocument.objects.filter(supersedes=document).exists():
        raise NoticeError("此文书已被更正,请送达更正后的文书 / serve the correction instead", "method")
    with transaction.atomic():
        scan = None
        if receipt_scan is not None:
            try:
                scan = attach_upload(
                    case,
                    user,
                    receipt_scan,
                    kind=AttachmentKind.SERVICE_RECEIPT,
                    caption=f"{document.doc_number} 送达回证",
                )
            except AttachmentError as exc:
                raise NoticeError(str(exc), "receipt_scan") from exc
        service = DocumentService.objects.create(
            document=document,
            method=method,
            served_at=served_at,
            recorded_by=_actor(user),
            receipt_scan=scan,
            **values,
        )
        if SPECS[document.kind].reply and case.status == Status.RESOLVED:
            try:
                workflow.apply(case, "serve", _actor(user), case.version, now=now, served_at=served_at, method=method)
            except workflow.WorkflowError as refusal:
                raise NoticeError(str(refusal), getattr(refusal, "field", "served_at")) from refusal
    return service


def _actor(user):
    return user if getattr(user, "is_authenticated", False) else None
