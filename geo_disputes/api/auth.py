"""`Authorization: Token <secret>` against hashed, expiring tokens, with bad tokens throttled per address.

Replaces rest_framework.authtoken (plain-text keys that never expire). An address that sent too
many bad tokens is answered 429 with Retry-After before its token is looked up, so the API cannot
be used to try secrets, and a 401 says whether the token is unknown or expired.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from geo_disputes.services.ops import login_throttle, tokens


class HashedTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # not ours: session authentication, or anonymous
        ip = login_throttle.client_ip(request)
        if refusal := login_throttle.token_refusal(ip):
            raise exceptions.Throttled(wait=refusal.retry_after, detail=refusal.message())
        try:
            if len(parts) != 2:
                raise tokens.InvalidToken("令牌格式错误。Invalid token header: `Token <secret>`.")
            try:
                secret = parts[1].decode("ascii")
            except UnicodeDecodeError as exc:
                raise tokens.InvalidToken("无效的令牌。Invalid token.") from exc
            token = tokens.check(secret)
        except tokens.InvalidToken as exc:
            login_throttle.record_token_failure(ip)
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class HashedTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema (/api/schema/) describes the token header."""

    target_class = HashedTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token authentication: `Authorization: Token <secret>` ("Token" prefix required); '
            "`manage.py api_token USERNAME` issues one.",
        }
