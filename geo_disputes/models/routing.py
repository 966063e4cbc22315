"""Ordered, data-driven routing rules: category × spatial context × scale → tier and unit.

The first active rule (by `order`) whose every condition holds decides; a blank
condition matches anything. Rules are edited in the admin; each change is kept in
RoutingRuleChange so a decision can always be explained with the rule as it was.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from .bounds import REASON_MAX, max_text
from .cases import Category, Procedure, Tier


class MiningCondition(models.TextChoices):
    ANY = "any", gettext_noop("不限")
    INSIDE = "inside", gettext_noop("位于矿区内")
    INSIDE_OR_ZONE = "inside_or_zone", gettext_noop("位于矿区或影响区")
    OUTSIDE = "outside", gettext_noop("不涉及矿区")


class RoutingRule(models.Model):
    order = models.PositiveIntegerField(_("顺序"), db_index=True)
    name = models.CharField(_("规则名称"), max_length=120)
    active = models.BooleanField(_("启用"), default=True)
    categories = ArrayField(
        models.CharField(max_length=30, choices=Category.choices),
        default=list,
        blank=True,
        verbose_name=_("类别(空=不限)"),
    )
    mining = models.CharField(
        _("矿区条件"), max_length=20, choices=MiningCondition.choices, default=MiningCondition.ANY
    )
    min_households = models.PositiveIntegerField(_("户数至少"), null=True, blank=True)
    max_households = models.PositiveIntegerField(_("户数至多"), null=True, blank=True)
    min_departments = models.PositiveIntegerField(_("协同部门至少"), null=True, blank=True)
    min_townships = models.PositiveIntegerField(_("跨乡镇数至少"), null=True, blank=True)
    min_villages = models.PositiveIntegerField(_("跨村数至少"), null=True, blank=True)
    legacy = models.BooleanField(_("历史遗留(空=不限)"), null=True, blank=True)
    tier = models.CharField(_("层级"), max_length=20, choices=Tier.choices)
    procedure = models.CharField(
        _("程序(空=按类型和渠道)"), max_length=20, choices=Procedure.choices, blank=True, default="", db_default=""
    )
    partner_departments = ArrayField(
        models.CharField(max_length=40), default=list, blank=True, verbose_name=_("协同部门")
    )
    explanation = models.TextField(_("依据说明"), blank=True, validators=[max_text(REASON_MAX)])

    class Meta:
        ordering = ["order", "id"]
        verbose_name = verbose_name_plural = _("分流规则")

    def __str__(self) -> str:
        return f"#{self.order} {self.name}"


class RoutingRuleChange(models.Model):
    """Append-only record of each edit of a routing rule (who, when, the rule as saved)."""

    rule = models.ForeignKey(
        RoutingRule, null=True, on_delete=models.SET_NULL, related_name="changes", verbose_name=_("分流规则")
    )
    at = models.DateTimeField(auto_now_add=True, verbose_name=_("时间"))
    # PROTECT, as every audit record's actor: the log is append-only (a SET_NULL would be an UPDATE the
    # trigger refuses, a 500) and must keep naming who edited; a departed editor is deactivated, not deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("操作人")
    )
    action = models.CharField(max_length=20, verbose_name=_("操作"))
    snapshot = models.JSONField(default=dict, verbose_name=_("保存时的规则"))

    class Meta:
        ordering = ["at", "id"]
        verbose_name = verbose_name_plural = _("分流规则变更记录")
