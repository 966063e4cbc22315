"""Login throttling: after N failed logins for a username, or from one client address, both lock.

A lock lasts LOGIN_THROTTLE_LOCKOUT_SECONDS from the last counted failure; a failure after a
quiet window starts a new count. While locked, a login is refused before the password is
checked, so a guess made during the lock tells nothing. A successful login clears the counts of
its username and address. Counts live in the database (LoginFailure) so every worker process
shares them; usernames are stored hashed and case-folded, so "Admin" and "admin" count together
and the table names nobody.

The login forms (accounts and admin) call `is_locked`, `record_failure` and `record_success`.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from geo_disputes.models import LoginFailure

_UPSERT = """
INSERT INTO geo_disputes_loginfailure AS f (key, failures, last_failure_at)
VALUES (%(key)s, 1, %(now)s)
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN f.last_failure_at <= %(window_start)s THEN 1 ELSE f.failures + 1 END,
    last_failure_at = EXCLUDED.last_failure_at
"""


def lockout_message() -> str:
    minutes = lockout_minutes()
    return (
        f"登录失败次数过多，已暂时锁定，请 {minutes} 分钟后再试。"
        f"Too many failed login attempts: login is locked for {minutes} minutes, please try again later."
    )


def lockout_minutes() -> int:
    return max(1, -(-settings.LOGIN_THROTTLE_LOCKOUT_SECONDS // 60))


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind our reverse proxy the address it appended last."""
    if request is None:
        return ""
    if getattr(settings, "BEHIND_PROXY", False):
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded and forwarded[-1]:
            return forwarded[-1][:45]
    return request.META.get("REMOTE_ADDR", "")[:45]


def _keys(username: str | None, ip: str) -> list[str]:
    keys = []
    if username:
        keys.append("user:" + hashlib.sha256(username.strip().casefold().encode()).hexdigest())
    if ip:
        keys.append("ip:" + ip)
    return keys


def _window_start():
    return timezone.now() - timedelta(seconds=settings.LOGIN_THROTTLE_LOCKOUT_SECONDS)


def is_locked(username: str | None, ip: str) -> bool:
    return LoginFailure.objects.filter(
        key__in=_keys(username, ip),
        failures__gte=settings.LOGIN_THROTTLE_FAILURES,
        last_failure_at__gt=_window_start(),
    ).exists()


def record_failure(username: str | None, ip: str) -> None:
    now = timezone.now()
    window_start = _window_start()
    with connection.cursor() as cursor:
        for key in _keys(username, ip):
            cursor.execute(_UPSERT, {"key": key, "now": now, "window_start": window_start})


def record_success(username: str | None, ip: str) -> None:
    LoginFailure.objects.filter(key__in=_keys(username, ip)).delete()
