"""Idempotency keys: a POST sent again with the same key and body gets the first answer, once.

Eight identical intakes sent at once (a flaky line, a double click) must make one case. The client
names its request with a key; `run_once` claims (user, key) by inserting its row *first*, inside
the transaction that does the work. A concurrent send with the same key blocks on the unique index
until the first commits, then finds the stored answer and replays it; if the first fails (an error
answer, an exception) its row rolls back with its work and the next send does the work instead.
Only answers below 400 are stored: a refused request leaves nothing behind, as before.

Keys are per user: another user's key never replays this answer (it would show them someone
else's case). The same key with another body (or another endpoint) is refused, not replayed.
Rows expire after IDEMPOTENCY_HOURS; a user's expired rows are deleted when they claim a key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from geo_disputes.models import IdempotentRequest

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_PENDING = 0  # status of a claimed row whose answer is not written yet (never committed so)


class IdempotencyError(ValueError):
    """A key that cannot be used: `status` is the HTTP answer (400 malformed, 422 reused with another body)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Answer:
    """What a request answered: its status and JSON body; `replayed` when it is a stored first answer."""

    status: int
    body: Any
    replayed: bool = False


def check_key(key: str) -> str:
    """The key as sent, refused when empty, too long or not visible ASCII (it is stored and compared as is)."""
    if not key or len(key) > MAX_KEY_LENGTH or not all("\x21" <= c <= "\x7e" for c in key):
        raise IdempotencyError(
            f"{HEADER}: 1 to {MAX_KEY_LENGTH} visible ASCII characters, e.g. a UUID "
            f"/ 应为1至{MAX_KEY_LENGTH}个可见ASCII字符",
            400,
        )
    return key


def fingerprint(method: str, path: str, body: Any) -> str:
    """A hash of what the request asks: method, path and body (JSON, keys sorted, so key order does not count)."""
    text = json.dumps([method.upper(), path, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def run_once(user, key: str, request_hash: str, work: Callable[[], Answer]) -> Answer:
    """`work()` once per (user, key); a later or concurrent call with the same hash gets its answer again.

    `work` runs inside this transaction: its changes commit together with the stored answer, or
    not at all. Error answers (400 and above) are returned but not stored (their work rolls back).
    """
    with transaction.atomic():
        record = _claim(user, check_key(key), request_hash)
        if record.status_code != _PENDING:
            if record.request_hash != request_hash:
                raise IdempotencyError(
                    f"{HEADER} {key!r} was already used with another request; send a new key for a new request "
                    f"/ 该幂等键已用于另一请求,新请求请使用新的键",
                    422,
                )
            return Answer(record.status_code, record.response_body, replayed=True)
        answer = work()
        if answer.status >= 400:
            transaction.set_rollback(True)
            return answer
        record.status_code, record.response_body = answer.status, answer.body
        record.save(update_fields=["status_code", "response_body"])
        return answer


def _claim(user, key: str, request_hash: str) -> IdempotentRequest:
    """The row of (user, key): the stored one, or a new pending one that this transaction now holds.

    The insert comes first: a concurrent claim of the same key waits on the unique index until
    this transaction ends, then sees the committed answer (or, after a rollback, inserts its own).
    """
    now = timezone.now()
    IdempotentRequest.objects.filter(user=user, expires_at__lte=now).delete()
    try:
        with transaction.atomic():
            return IdempotentRequest.objects.create(
                user=user,
                key=key,
                request_hash=request_hash,
                status_code=_PENDING,
                response_body={},
                created_at=now,
                expires_at=now + dt.timedelta(hours=settings.IDEMPOTENCY_HOURS),
            )
    except IntegrityError:
        return IdempotentRequest.objects.get(user=user, key=key)
