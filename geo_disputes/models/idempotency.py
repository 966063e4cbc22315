"""Answers to POSTs sent with an `Idempotency-Key`, kept so a retry gets the first answer again."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _


class IdempotentRequest(models.Model):
    """One user's key: the hash of the request it was first sent with, and the answer it got.

    Keyed by user and key (a unique constraint), so concurrent sends of one key serialise on the
    index and another user's key never replays this answer. The answer is the caller's own, as their
    role saw it; it expires (IDEMPOTENCY_HOURS) and is deleted with the user.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("用户")
    )
    key = models.CharField(max_length=255, verbose_name=_("幂等键"))
    request_hash = models.CharField(max_length=64, verbose_name=_("请求摘要"))
    status_code = models.PositiveSmallIntegerField(verbose_name=_("状态码"))
    response_body = models.JSONField(verbose_name=_("首次答复"))
    created_at = models.DateTimeField(verbose_name=_("创建时间"))
    expires_at = models.DateTimeField(db_index=True, verbose_name=_("过期时间"))

    class Meta:
        verbose_name = verbose_name_plural = _("幂等请求")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotent_request_user_key")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key} → {self.status_code}"
