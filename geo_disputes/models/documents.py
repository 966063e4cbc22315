"""Written notices issued from a case (issue 15), their numbers and their service (送达).

An issued document is a record, not a draft: the row keeps the words as issued (the template's text and the
case's facts frozen at that moment), and PostgreSQL refuses any UPDATE or DELETE of it (the audit trigger of
migration 0003). A correction is a new document that names the one it supersedes. Numbers run per issuing
unit and year with no gaps: the counter row is locked and bumped in the issuing transaction, so a refused or
failed issue gives its number back.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from .cases import Case, ServiceMethod


class NoticeKind(models.TextChoices):
    ACCEPTANCE = "acceptance", gettext_noop("受理告知书")
    NON_ACCEPTANCE = "non_acceptance", gettext_noop("不予受理告知书")
    TRANSFER = "transfer", gettext_noop("转送/交办单")
    EXTENSION = "extension", gettext_noop("延期告知书")
    HANDLING_OPINION = "handling_opinion", gettext_noop("信访处理意见书")
    REVIEW_OPINION = "review_opinion", gettext_noop("复查意见书")
    REREVIEW_OPINION = "rereview_opinion", gettext_noop("复核意见书")
    MEDIATION_AGREEMENT = "mediation_agreement", gettext_noop("人民调解协议书")
    SERVICE_RECEIPT = "service_receipt", gettext_noop("送达回证")
    AGENDA_ASSIGNMENT = "agenda_assignment", gettext_noop("联席会议交办单")


class DocumentCounter(models.Model):
    """The last number a unit issued in a year (locked while a document is issued)."""

    unit = models.ForeignKey("geo_disputes.Unit", on_delete=models.PROTECT, verbose_name=_("单位"))
    year = models.PositiveSmallIntegerField(verbose_name=_("年度"))
    last = models.PositiveIntegerField(default=0, verbose_name=_("已用最大序号"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "year"], name="documentcounter_unit_year_uniq")]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.year}: {self.last}"


class CaseDocument(models.Model):
    """One issued notice: its number, its frozen words and facts, and what it supersedes or answers."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="documents", verbose_name=_("事项"))
    kind = models.CharField(_("文书种类"), max_length=30, choices=NoticeKind.choices)
    unit = models.ForeignKey("geo_disputes.Unit", on_delete=models.PROTECT, verbose_name=_("制发单位"))
    year = models.PositiveSmallIntegerField(_("年度"))
    seq = models.PositiveIntegerField(_("序号"))
    number = models.CharField(_("编号"), max_length=80)  # URL-safe: <unit code>-<year>-<seq>
    doc_number = models.CharField(_("文号"), max_length=80)  # as printed: 准格尔旗信访局〔2026〕7号
    title = models.CharField(_("标题"), max_length=100)
    template_text = models.TextField(_("模板原文"))  # the template as it was when issued
    facts = models.JSONField(_("文书事实"))  # the case's facts as they were when issued
    issued_at = models.DateTimeField(_("制发时间"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, verbose_name=_("签发人")
    )
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by", verbose_name=_("更正")
    )
    receipt_for = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="receipts", verbose_name=_("送达文书")
    )
    correction_reason = models.TextField(_("更正理由"), blank=True, default="")

    class Meta:
        ordering = ["issued_at", "id"]
        verbose_name = verbose_name_plural = _("文书")
        constraints = [
            models.UniqueConstraint(fields=["unit", "year", "seq"], name="casedocument_unit_year_seq_uniq"),
            models.UniqueConstraint(fields=["number"], name="casedocument_number_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.doc_number}"


class DocumentService(models.Model):
    """The service (送达) of an issued document: how, when, and its proof. Append-only too."""

    document = models.ForeignKey(
        CaseDocument, on_delete=models.PROTECT, related_name="services", verbose_name=_("文书")
    )
    method = models.CharField(_("送达方式"), max_length=20, choices=ServiceMethod.choices)
    served_at = models.DateTimeField(_("送达时间"))
    recipient = models.CharField(_("受送达人"), max_length=100, blank=True, default="")
    tracking_number = models.CharField(_("邮件单号"), max_length=40, blank=True, default="")
    # the signed receipt's number or scan, the electronic address, or where the public notice was posted
    proof = models.CharField(_("送达凭证"), max_length=200, blank=True, default="")
    # In person: the scan or photo of the receipt the recipient signed (kept as a case attachment).
    receipt_scan = models.ForeignKey(
        "geo_disputes.Attachment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("送达回证扫描件"),
    )
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, verbose_name=_("记录人")
    )

    class Meta:
        ordering = ["served_at", "id"]
        verbose_name = verbose_name_plural = _("送达记录")

    def __str__(self) -> str:
        return f"{self.document_id} {self.method} {self.served_at:%Y-%m-%d}"
