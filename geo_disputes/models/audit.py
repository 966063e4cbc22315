"""Record of each view of unmasked personal data (PIPL; 信访工作条例 Art. 46)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _


class PersonalDataAccess(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("时间"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, verbose_name=_("用户"))
    case = models.ForeignKey(
        "geo_disputes.Case", null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("事项")
    )
    parcel = models.ForeignKey(
        "geo_disputes.Parcel", null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("地块")
    )
    purpose = models.CharField(_("用途"), max_length=60)

    class Meta:
        ordering = ["-at"]
        verbose_name = verbose_name_plural = _("个人信息查看记录")
