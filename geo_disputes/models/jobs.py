"""Runs of the periodic jobs (the daily supervision `tick`, housekeeping), one row per job and day.

The row is what makes the schedule safe with several servers: the scheduler takes the job's advisory
lock, looks for the day's row and runs the job only when the day has no successful run
(services/ops/scheduler.py). `/healthz` reads the last completed tick from here. No personal data.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class JobRun(models.Model):
    """One job's run for one scheduled day: when it started and finished, how it ended, what it did."""

    class Outcome(models.TextChoices):
        RUNNING = "running", gettext_noop("运行中 / running")
        OK = "ok", gettext_noop("完成 / completed")
        FAILED = "failed", gettext_noop("失败 / failed")

    job = models.CharField(max_length=50, verbose_name=_("任务"))
    day = models.DateField(help_text="the scheduled day (Asia/Shanghai) the run is for", verbose_name=_("日期"))
    started_at = models.DateTimeField(verbose_name=_("开始时间"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("结束时间"))
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RUNNING, verbose_name=_("结果"))
    attempts = models.PositiveIntegerField(
        default=1, help_text="runs started for this day (retries after failures)", verbose_name=_("尝试次数")
    )
    summary = models.JSONField(
        default=dict, blank=True, help_text="counts, or the error of a failed run", verbose_name=_("摘要")
    )
    runner = models.CharField(
        max_length=200, blank=True, help_text="host:pid of the scheduler that ran it", verbose_name=_("执行进程")
    )

    class Meta:
        verbose_name = verbose_name_plural = _("定时任务运行")
        constraints = [models.UniqueConstraint(fields=["job", "day"], name="job_run_job_day")]
        indexes = [models.Index(fields=["job", "outcome", "-finished_at"], name="job_run_last_done")]

    def __str__(self) -> str:
        return f"{self.job} {self.day}: {self.outcome}"


class ReplicaFence(models.Model):
    """The primary's WAL position after the last change to who may see what (a staff member's role or scope, a
    recusal, an accused person): one row. A map read goes to the replica only once it has replayed past it
    (services/ops/replica.py), so a stale replica never shows a case to someone just recused or moved."""

    lsn = models.CharField(max_length=40, default="0/0", verbose_name=_("日志位置(LSN)"))
    at = models.DateTimeField(auto_now=True, verbose_name=_("时间"))

    def __str__(self) -> str:
        return f"{self.lsn} ({self.at:%Y-%m-%d %H:%M:%S})"
