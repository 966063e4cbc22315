"""Request bodies the API refuses cleanly: too large (413 JSON, not Django's HTML 400) or nested too deeply
for the JSON decoder (400, not a RecursionError's 500). Wired in settings.REST_FRAMEWORK."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import parsers, status, views
from rest_framework.exceptions import APIException, ParseError


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(f"request body too large: more than {limit} bytes / 请求体过大(上限 {limit} 字节)")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply / JSON 嵌套过深") from None


def exception_handler(exc, context):
    """DRF's handler, with Django's RequestDataTooBig (body over DATA_UPLOAD_MAX_MEMORY_SIZE) as a 413."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    return views.exception_handler(exc, context)
