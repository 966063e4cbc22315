"""Login throttling counts and hashed API tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LoginFailure(models.Model):
    """Failures for one key since its window last started, and the pair's last success.

    Keys: "ip:<address>" (password failures from an address), "api:<address>" (bad API tokens from
    an address), "user:<sha256>" (an account, from anywhere) and "pair:<sha256>" (an account at one
    address; `last_success_at` marks an address the account logged in from). Kept in the database
    so every worker process of the server sees the same count.
    """

    key = models.CharField(max_length=80, unique=True, verbose_name=_("登录名或来源"))
    failures = models.PositiveIntegerField(default=0, verbose_name=_("失败次数"))
    last_failure_at = models.DateTimeField(null=True, blank=True, verbose_name=_("最近失败时间"))
    last_success_at = models.DateTimeField(null=True, blank=True, verbose_name=_("最近成功时间"))

    class Meta:
        verbose_name = verbose_name_plural = _("登录失败计数")

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"


class ApiToken(models.Model):
    """An API token: only the SHA-256 of its random secret is stored; the secret is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("用户")
    )
    digest = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("令牌摘要"))
    prefix = models.CharField(
        max_length=8,
        editable=False,
        help_text="the secret's first characters, to tell tokens apart",
        verbose_name=_("令牌前缀"),
    )
    name = models.CharField(max_length=100, blank=True, verbose_name=_("名称"))
    created_at = models.DateTimeField(default=timezone.now, editable=False, verbose_name=_("创建时间"))
    expires_at = models.DateTimeField(verbose_name=_("过期时间"))

    class Meta:
        verbose_name = verbose_name_plural = _("API 令牌")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()
