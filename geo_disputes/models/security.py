"""Failed logins counted per username and per client address (login throttling)."""

from __future__ import annotations

from django.contrib.gis.db import models


class LoginFailure(models.Model):
    """Failures for one key ("user:<sha256>" or "ip:<address>") since the window last started.

    Kept in the database so every worker process of the server sees the same count.
    """

    key = models.CharField(max_length=80, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()

    class Meta:
        verbose_name = verbose_name_plural = "登录失败计数"

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"
