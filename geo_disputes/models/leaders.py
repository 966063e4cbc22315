"""Leaders' cases (包案) and leaders' receptions and visits (领导接访/约访/下访), issue 15 item 5.

A hard case gets a named leader who answers for it with a plan and a deadline (the "handle" stage of the
five matters: banner leaders take on hard cases, visit, invite petitioners). The leader is a person and a
post, not an account: leaders rarely log in; the office registers for them. The case stays with its
responsible unit (谁主管谁负责) — taking a case on changes no tier and no unit. Every act is also written
into the case history (CaseEvent) by services.cases.leaders.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from .bounds import NAME_MAX, REASON_MAX, TITLE_MAX, max_text, validate_plausible_date
from .cases import Case


class LeaderCase(models.Model):
    """A leader takes on a case (包案): the plan, its deadline, and how it ended."""

    class Status(models.TextChoices):
        ACTIVE = "active", gettext_noop("包案中")
        RESOLVED = "resolved", gettext_noop("已化解")
        ENDED = "ended", gettext_noop("已结束(未化解)")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="leader_cases", verbose_name=_("信访事项"))
    leader_name = models.CharField(_("包案领导"), max_length=NAME_MAX)
    leader_post = models.CharField(_("职务"), max_length=TITLE_MAX)
    plan = models.TextField(_("化解方案"), validators=[max_text(REASON_MAX)])
    deadline = models.DateField(_("化解期限"), validators=[validate_plausible_date])
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    outcome = models.TextField(_("结果"), blank=True, default="", validators=[max_text(REASON_MAX)])
    taken_at = models.DateTimeField(_("包案时间"))
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("登记人"),
    )

    class Meta:
        ordering = ["leader_name", "deadline", "id"]
        verbose_name = verbose_name_plural = _("领导包案")
        constraints = [
            # One open commitment per leader and case: a second is a mistake, a renewal is a new row after closing.
            models.UniqueConstraint(
                fields=["case", "leader_name"], condition=Q(status="active"), name="leadercase_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"{self.leader_name} · {self.case_id}"


class LeaderVisit(models.Model):
    """A scheduled reception, invitation or visit by a leader, with the cases to be discussed (VisitCase)."""

    class Kind(models.TextChoices):
        RECEPTION = "reception", gettext_noop("领导接访")
        INVITED = "invited", gettext_noop("领导约访")
        FIELD = "field", gettext_noop("领导下访")

    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    on = models.DateField(_("日期"), db_index=True, validators=[validate_plausible_date])
    starts = models.TimeField(_("开始时间"), null=True, blank=True)
    place = models.CharField(_("地点"), max_length=TITLE_MAX)
    leader_name = models.CharField(_("领导"), max_length=NAME_MAX)
    leader_post = models.CharField(_("职务"), max_length=TITLE_MAX)
    # The township the visit is held in ("" = at the banner): township officers schedule in their own only.
    township_code = models.CharField(_("乡镇代码"), max_length=40, blank=True, default="")
    cases = models.ManyToManyField(Case, through="VisitCase", related_name="leader_visits", verbose_name=_("事项"))
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("登记人"),
    )
    registered_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        ordering = ["on", "starts", "id"]
        verbose_name = verbose_name_plural = _("领导接访/约访/下访")

    def __str__(self) -> str:
        return f"{self.on} {self.leader_name} {self.kind}"


class VisitCase(models.Model):
    """A case on a visit's list and, afterwards, what came of it there."""

    visit = models.ForeignKey(LeaderVisit, on_delete=models.CASCADE, related_name="visit_cases", verbose_name=_("接访"))
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="visit_entries", verbose_name=_("事项"))
    outcome = models.TextField(_("接访结果"), blank=True, default="", validators=[max_text(REASON_MAX)])
    outcome_at = models.DateTimeField(_("结果记录时间"), null=True, blank=True)

    class Meta:
        ordering = ["visit", "id"]
        constraints = [models.UniqueConstraint(fields=["visit", "case"], name="visitcase_uniq")]

    def __str__(self) -> str:
        return f"{self.visit_id} · {self.case_id}"
