"""The `Idempotency-Key` header on API POSTs: the view's work runs once per user and key (services.ops.idempotency)."""

from __future__ import annotations

import json
from collections.abc import Callable

from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from geo_disputes.services.ops.idempotency import HEADER, Answer, IdempotencyError, fingerprint, run_once

REPLAYED_HEADER = "Idempotent-Replayed"


def idempotent(
    request: Request, work: Callable[[], Response], replayed: Callable[[dict], dict] | None = None
) -> Response:
    """`work()`'s response; with an Idempotency-Key, the first answer again for the same key and body.

    A replay carries `Idempotent-Replayed: true`; the same key with another body → 422 naming the header.
    `replayed(body)` gives the stored answer as the caller may read it now: access can be lost in between (a
    recusal), and a replay must not hand back what a fresh read would refuse.
    """
    key = request.headers.get(HEADER)
    if key is None:
        return work()
    first: list[Response] = []

    def answer() -> Answer:
        response = work()
        first.append(response)
        return Answer(response.status_code, json.loads(JSONRenderer().render(response.data) or b"null"))

    request_hash = fingerprint(request.method, request.path, _body(request))
    try:
        result = run_once(request.user, key, request_hash, answer)
    except IdempotencyError as exc:
        return Response({HEADER: exc.message}, status=exc.status)
    if not result.replayed:
        return first[0]
    body = replayed(result.body) if replayed is not None and isinstance(result.body, dict) else result.body
    return Response(body, status=result.status, headers={REPLAYED_HEADER: "true"})


def _body(request: Request):
    """The parsed body as plain JSON values (a form body's lists included)."""
    data = request.data
    if hasattr(data, "lists"):
        return {k: v for k, v in data.lists()}
    return json.loads(json.dumps(data, default=str))
