"""Login throttling: a sprayer or a guesser is stopped, and a stranger cannot lock someone out.

Failures are counted under separate keys, and each count acts only on what it can fairly stop:

- **address** ("ip:<address>"): password failures from one address, for any username. After
  LOGIN_THROTTLE_ADDRESS_FAILURES the address may not log in for LOGIN_THROTTLE_LOCKOUT_SECONDS
  after its last failure. No success clears it, so a sprayer cannot reset it by logging into an
  account of their own between guesses.
- **account at an address** ("pair:<sha256(username, address)>"): after LOGIN_THROTTLE_FAILURES
  that account is locked *at that address* for the same time. The account's own successful login
  there clears it.
- **account** ("user:<sha256(username)>"): failures from anywhere. Never a lock: after
  LOGIN_THROTTLE_FAILURES, an attempt from an address the account has not logged in from within
  LOGIN_THROTTLE_KNOWN_ADDRESS_DAYS must wait 1 s, 2 s, 4 s … (at most the lockout time) after the
  account's last failure. From an address it has logged in from the owner logs in as usual, so
  failures made elsewhere never lock them out. The count starts again after a quiet day.
- **bad API tokens** ("api:<address>"): apart from passwords, so a script with an expired token
  does not lock people out of the login page; the same address limit and lockout.

A refused attempt is refused before the password (or token) is checked, so a guess made then tells
nothing, and it is not counted. Counts live in the database (LoginFailure) so every worker process
shares them; usernames are case-folded and hashed, so "Admin" and "admin" count together and the
table names nobody.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from geo_disputes.models import LoginFailure

ACCOUNT_WINDOW = timedelta(days=1)  # an account's count starts again after a day without failures

_UPSERT_FAILURE = """
INSERT INTO geo_disputes_loginfailure AS f (key, failures, last_failure_at)
VALUES (%(key)s, 1, %(now)s)
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN f.last_failure_at IS NULL OR f.last_failure_at <= %(window_start)s
                    THEN 1 ELSE f.failures + 1 END,
    last_failure_at = EXCLUDED.last_failure_at
"""

_UPSERT_SUCCESS = """
INSERT INTO geo_disputes_loginfailure AS f (key, failures, last_success_at)
VALUES (%(key)s, 0, %(now)s)
ON CONFLICT (key) DO UPDATE SET failures = 0, last_success_at = EXCLUDED.last_success_at
"""


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused now, and for how many more seconds."""

    reason: str  # "address", "pair" (account at this address) or "account"
    retry_after: int

    def message(self) -> str:
        if self.reason == "account":
            return (
                f"该账号登录失败次数较多,请 {self.retry_after} 秒后再试(在常用地址登录不受影响)。"
                f"This account has had many failed logins: please wait {self.retry_after} seconds and try again "
                "(logging in from an address you have used before is not delayed)."
            )
        minutes = max(1, math.ceil(self.retry_after / 60))
        return (
            f"登录失败次数过多,已暂时锁定,请 {minutes} 分钟后再试。"
            f"Too many failed login attempts: login is locked for {minutes} minutes, please try again later."
        )


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind our reverse proxy the address it appended last."""
    if request is None:
        return ""
    if getattr(settings, "BEHIND_PROXY", False):
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded and forwarded[-1]:
            return forwarded[-1][:45]
    return request.META.get("REMOTE_ADDR", "")[:45]


def _hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _name(username: str | None) -> str:
    return (username or "").strip().casefold()


def _keys(username: str | None, ip: str) -> dict[str, str]:
    """The keys an attempt counts under, by role."""
    keys = {}
    if ip:
        keys["address"] = "ip:" + ip
    if _name(username):
        keys["account"] = "user:" + _hash(_name(username))
        if ip:
            keys["pair"] = "pair:" + _hash(_name(username), ip)
    return keys


def _lock_left(row: LoginFailure | None, limit: int, now: datetime) -> int:
    """Seconds a lock on `row` still lasts (0: none)."""
    if row is None or row.last_failure_at is None or row.failures < limit:
        return 0
    ends = row.last_failure_at + timedelta(seconds=settings.LOGIN_THROTTLE_LOCKOUT_SECONDS)
    return max(0, math.ceil((ends - now).total_seconds()))


def _account_wait(row: LoginFailure | None, now: datetime) -> int:
    """Seconds an attempt from an unknown address must still wait: doubling per failure past the limit."""
    if row is None or row.last_failure_at is None or row.last_failure_at <= now - ACCOUNT_WINDOW:
        return 0
    excess = row.failures - settings.LOGIN_THROTTLE_FAILURES
    if excess < 0:
        return 0
    delay = min(2 ** min(excess, 30), settings.LOGIN_THROTTLE_LOCKOUT_SECONDS)
    ends = row.last_failure_at + timedelta(seconds=delay)
    return max(0, math.ceil((ends - now).total_seconds()))


def _known_address(pair: LoginFailure | None, now: datetime) -> bool:
    horizon = timedelta(days=settings.LOGIN_THROTTLE_KNOWN_ADDRESS_DAYS)
    return pair is not None and pair.last_success_at is not None and pair.last_success_at > now - horizon


def refusal(username: str | None, ip: str) -> Refusal | None:
    """Why a login attempt for `username` from `ip` is refused now, or None to check the password."""
    now = timezone.now()
    keys = _keys(username, ip)
    rows = {row.key: row for row in LoginFailure.objects.filter(key__in=keys.values())}
    row = {role: rows.get(key) for role, key in keys.items()}
    if left := _lock_left(row.get("address"), settings.LOGIN_THROTTLE_ADDRESS_FAILURES, now):
        return Refusal("address", left)
    if left := _lock_left(row.get("pair"), settings.LOGIN_THROTTLE_FAILURES, now):
        return Refusal("pair", left)
    if not _known_address(row.get("pair"), now) and (left := _account_wait(row.get("account"), now)):
        return Refusal("account", left)
    return None


def _count(keys: list[tuple[str, timedelta]]) -> None:
    now = timezone.now()
    with connection.cursor() as cursor:
        for key, window in keys:
            cursor.execute(_UPSERT_FAILURE, {"key": key, "now": now, "window_start": now - window})


def record_failure(username: str | None, ip: str) -> None:
    """A wrong password: count it for the address, the account at the address, and the account."""
    lockout = timedelta(seconds=settings.LOGIN_THROTTLE_LOCKOUT_SECONDS)
    windows = {"address": lockout, "pair": lockout, "account": ACCOUNT_WINDOW}
    _count([(key, windows[role]) for role, key in _keys(username, ip).items()])


def record_success(username: str | None, ip: str) -> None:
    """A right password: clear the account's count at this address and remember the address.

    The address's count and the account's count stay: a success proves nothing about the
    other attempts made from that address or against that account.
    """
    pair = _keys(username, ip).get("pair")
    if pair:
        with connection.cursor() as cursor:
            cursor.execute(_UPSERT_SUCCESS, {"key": pair, "now": timezone.now()})
    prune()


def prune() -> int:
    """Delete counts that no longer act: no failure within a day, no success within the known-address days."""
    now = timezone.now()
    stale_failure = now - max(ACCOUNT_WINDOW, timedelta(seconds=settings.LOGIN_THROTTLE_LOCKOUT_SECONDS))
    stale_success = now - timedelta(days=settings.LOGIN_THROTTLE_KNOWN_ADDRESS_DAYS)
    rows = LoginFailure.objects.exclude(last_failure_at__gt=stale_failure).exclude(last_success_at__gt=stale_success)
    return rows.delete()[0]


# --- API tokens --------------------------------------------------------------------------------------


def token_refusal(ip: str) -> Refusal | None:
    """Too many bad API tokens from `ip`: refuse every token from it for now (not checked)."""
    if not ip:
        return None
    row = LoginFailure.objects.filter(key="api:" + ip).first()
    left = _lock_left(row, settings.LOGIN_THROTTLE_ADDRESS_FAILURES, timezone.now())
    return Refusal("address", left) if left else None


def record_token_failure(ip: str) -> None:
    if ip:
        _count([("api:" + ip, timedelta(seconds=settings.LOGIN_THROTTLE_LOCKOUT_SECONDS))])
