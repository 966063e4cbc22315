"""Who stands on the accused side of an accusation, and who stepped aside (条例 Arts. 28, 30).

An accusation (检举控告) may name a unit (`Case.accused_unit`) and people (`AccusedPerson`): an
official by name and post, and — when the official has an account here — that account. A
`Recusal` (回避) takes one staff account off one case: the case disappears from everything that
account sees and can be handed to, whatever its role and scope. Naming an accused person who has an
account records their recusal at once; an official with an interest in a matter (Art. 28) is
recused by a handler. Both are kept, never deleted: who was kept away is part of the record.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class AccusedPerson(models.Model):
    """An official an accusation names. Never shown to anyone on the accused side (Art. 30 ¶3)."""

    case = models.ForeignKey("geo_disputes.Case", on_delete=models.PROTECT, related_name="accused_persons")
    name = models.CharField(_("姓名"), max_length=50)
    position = models.CharField(_("职务"), max_length=100, blank=True)
    unit = models.ForeignKey(
        "geo_disputes.Unit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accused_persons",
        verbose_name=_("所在单位"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("系统账号"),
    )

    class Meta:
        ordering = ["id"]
        verbose_name = verbose_name_plural = _("被检举控告人")

    def __str__(self) -> str:
        return f"{self.name} {self.position}".strip()


class Recusal(models.Model):
    """One staff account kept off one case (回避). The username survives the account for the record."""

    class Ground(models.TextChoices):
        ACCUSED = "accused", gettext_noop("被检举控告人(条例第30条)")
        INTEREST = "interest", gettext_noop("与事项有利害关系(条例第28条)")

    case = models.ForeignKey("geo_disputes.Case", on_delete=models.PROTECT, related_name="recusals")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="recusals",
        verbose_name=_("回避人员"),
    )
    username = models.CharField(_("账号"), max_length=150)
    ground = models.CharField(_("回避事由"), max_length=20, choices=Ground.choices)
    reason = models.CharField(_("说明"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = verbose_name_plural = _("回避记录")
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="recusal_case_user_uniq")]

    def __str__(self) -> str:
        return f"{self.username} · {self.get_ground_display()}"
