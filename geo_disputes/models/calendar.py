"""The working-day calendar the statutory clock counts in, as a table SQL can read.

Filled from the `chinesecalendar` library (the State Council's yearly holiday arrangements,
make-up working days included) by services.cases.workdays.sync_calendar; the Python clock reads the
library directly, and a test holds the two equal.

Unmanaged: the table is created by migration 0008, so Django's flush (the test suite's
transactional tests) never empties it — the clock's SQL path needs it in every test.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarDay(models.Model):
    day = models.DateField(_("日期"), primary_key=True)
    working = models.BooleanField(_("工作日"))
    provisional = models.BooleanField(_("暂按周末推定(当年安排未收录)"), default=False)

    class Meta:
        managed = False
        ordering = ["day"]
        verbose_name = verbose_name_plural = _("工作日历")

    def __str__(self) -> str:
        return f"{self.day} {'工作日' if self.working else '休息日'}"
