"""Responsible bodies (units) and staff roles with their scope.

A unit is tied to an area by code (township, village or mining area) so the routing
module can find "the committee of this village" or "the court of this mining area".
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from .cases import home_banner_code


class Unit(models.Model):
    """A responsible body: village committee, township committee, banner department, mining court, centre."""

    class Kind(models.TextChoices):
        VILLAGE_COMMITTEE = "village_committee", gettext_noop("村(居)委会")
        TOWNSHIP_COMMITTEE = "township_committee", gettext_noop("苏木乡镇(街道)党委")
        BANNER_DEPARTMENT = "banner_department", gettext_noop("旗直部门")
        BANNER_LEADERSHIP = "banner_leadership", gettext_noop("旗领导包案")
        MINING_COURT = "mining_court", gettext_noop("矿区法庭")
        INTEGRATED_CENTRE = "integrated_centre", gettext_noop("综治中心")

    code = models.CharField(_("单位代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=30, choices=Kind.choices)
    area_code = models.CharField(_("所辖区域代码"), max_length=40, blank=True, db_index=True)
    head_name = models.CharField(_("负责人"), max_length=50, blank=True)
    phone = models.CharField(_("电话"), max_length=20, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = verbose_name_plural = _("责任单位")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    BANNER_ADMIN = "banner_admin", gettext_noop("旗级管理员")
    TOWNSHIP_OFFICER = "township_officer", gettext_noop("苏木乡镇干部")
    VILLAGE_OFFICER = "village_officer", gettext_noop("村干部")
    GRID_WORKER = "grid_worker", gettext_noop("网格员(代办员)")
    MINING_COURT = "mining_court", gettext_noop("矿区法庭")
    PLANNER = "planner", gettext_noop("规划分析")
    FIELD_STAFF = "field_staff", gettext_noop("外业人员")


class StaffProfile(models.Model):
    """A staff user's role and scope: a township, village or grid code, or the whole banner."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff", verbose_name=_("用户")
    )
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices)
    scope_code = models.CharField(_("辖区代码"), max_length=40, blank=True)
    # The banner (6-digit code) the staff member serves, or a city (4-digit code, e.g. 1506 鄂尔多斯市) for the
    # city-wide roles that see every banner of the city (services.cases.access.CITY_ROLES).
    banner_code = models.CharField(
        _("所属旗(市)代码"), max_length=6, default=home_banner_code, help_text=_("6位旗代码;市级角色填4位市代码")
    )
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("所属单位"))

    class Meta:
        verbose_name = verbose_name_plural = _("工作人员")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} {self.scope_code}".strip()
