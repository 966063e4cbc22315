"""Request bodies the API refuses cleanly: too large (413 JSON, not Django's HTML 400), nested too deeply
for the JSON decoder (400, not a RecursionError's 500), or holding what JSON can spell but nothing can
store — a number beyond a double (1e400 decodes to inf) or a lone surrogate ("\\ud800") in a string or
key, which PostgreSQL and the UTF-8 response refuse with a 500. Wired in settings.REST_FRAMEWORK."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import parsers, status, views
from rest_framework.exceptions import APIException, ParseError, ValidationError

from geo_disputes.models.bounds import text_problem


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(f"request body too large: more than {limit} bytes / 请求体过大(上限 {limit} 字节)")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            _check_values(data, "")
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply / JSON 嵌套过深") from None
        return data


def _check_values(value: Any, path: str) -> None:
    """Refuse the first non-finite number or unstorable string in `value`, naming where it is
    (`lat`, `petitioners[0].name`; `non_field_errors` for the body itself)."""
    where = path or "non_field_errors"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError({where: "数值超出范围 / number out of range (beyond a double)"})
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise ValidationError({where: problem})
    elif isinstance(value, dict):
        for key, item in value.items():
            if text_problem(key):
                raise ValidationError({where: f"字段名无效 / invalid field name: {key!r}"})
            _check_values(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, f"{path}[{index}]")


def exception_handler(exc, context):
    """DRF's handler, with Django's RequestDataTooBig (body over DATA_UPLOAD_MAX_MEMORY_SIZE) as a 413."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    return views.exception_handler(exc, context)
