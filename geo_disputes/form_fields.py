"""Form fields that hold users to models.bounds: every date in 1901–2200, every integer in ASCII digits.

Django's DateField takes 0001-01-01 and 9999-12-31 (whose neighbours overflow date arithmetic), and
its IntegerField reads "１２" and "٣" through Python's int(); the pages use these fields instead.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from geo_disputes.models.bounds import validate_plausible_date


class DateField(forms.DateField):
    """A date users give: within bounds.EARLIEST_YEAR..LATEST_YEAR."""

    default_validators = [validate_plausible_date]


class IntegerField(forms.IntegerField):
    """An integer typed in ASCII digits (an optional minus sign), not fullwidth or other scripts' digits."""

    def to_python(self, value):
        if isinstance(value, str) and not value.strip().isascii():
            raise ValidationError("请用阿拉伯数字 0–9 / use the digits 0-9", code="invalid")
        return super().to_python(value)
