"""API tokens: random secrets stored only as their SHA-256, expiring, revoked when the password changes.

A secret is 32 random bytes (URL-safe text), so a hash without salt or stretching is enough: nothing
can be guessed from it, and a stolen table holds no usable token. The secret is returned once by
`issue`; it cannot be recovered later, only replaced.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import is_password_usable
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from geo_disputes.models import ApiToken


class InvalidToken(Exception):
    """The secret names no token, an expired one, or one whose user is inactive."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(user, name: str = "", days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`, valid for `days` (default API_TOKEN_DAYS); returns it and its secret."""
    secret = secrets.token_urlsafe(32)
    lifetime = timedelta(days=settings.API_TOKEN_DAYS if days is None else days)
    token = ApiToken.objects.create(
        user=user, digest=digest(secret), prefix=secret[:8], name=name, expires_at=timezone.now() + lifetime
    )
    return token, secret


def check(secret: str) -> ApiToken:
    """The live token for `secret`, or InvalidToken saying why."""
    token = ApiToken.objects.select_related("user").filter(digest=digest(secret)).first()
    if token is None or not token.user.is_active:
        raise InvalidToken("无效的令牌。Invalid token.")
    if token.expired:
        raise InvalidToken("令牌已过期,请重新申请。Token expired: ask for a new one.")
    return token


def revoke_all(user) -> int:
    """Delete every token of `user`; returns how many there were."""
    return ApiToken.objects.filter(user=user).delete()[0]


# --- revoke on password change ---------------------------------------------------------------------


def _note_password_change(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """Before a user is saved: did the stored password hash change, other than by a hash upgrade?

    Django's own hash upgrade (on login, after a change of hasher settings) re-hashes the same
    password: it calls set_password, clears `_password` and saves only the password. Every other
    change — set_password (password-change page, admin, `changepassword`, `add_staff`), an
    unusable password, or a new hash assigned directly — revokes the user's tokens.
    """
    instance._revoke_api_tokens = False
    if raw or instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return  # a new user, a fixture, or a save that leaves the password alone (e.g. last_login)
    stored = type(instance)._default_manager.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is None or stored == instance.password:
        return
    upgrade = (
        getattr(instance, "_password", None) is None
        and update_fields is not None
        and set(update_fields) == {"password"}
        and is_password_usable(instance.password)
    )
    instance._revoke_api_tokens = not upgrade


def _revoke_after_password_change(sender, instance, raw=False, **kwargs) -> None:
    if getattr(instance, "_revoke_api_tokens", False):
        revoke_all(instance)
        instance._revoke_api_tokens = False


def connect_signals() -> None:
    """Called from the app's ready(): revoke a user's tokens whenever their password changes."""
    user_model = get_user_model()
    pre_save.connect(_note_password_change, sender=user_model, dispatch_uid="api_tokens_note_password")
    post_save.connect(_revoke_after_password_change, sender=user_model, dispatch_uid="api_tokens_revoke")
