"""The field lookup form: coordinates with their datum, or a parcel code.

A plain GET form, so a lookup is a shareable link (/maps/field/?code=… or ?lon=…&lat=…&datum=gcj02)
and the page still says what was asked without JavaScript; the page script answers it through
the JSON API. Values typed by the user come back into the page only through Django's escaping.
"""

from __future__ import annotations

from django import forms

from geo_disputes.services.coords import Datum

DATUM_CHOICES = [
    (Datum.WGS84.value, "WGS84（GPS 原始坐标）"),
    (Datum.CGCS2000.value, "CGCS2000（国家2000）"),
    (Datum.GCJ02.value, "GCJ-02（手机地图坐标：高德/腾讯/微信）"),
]


class FieldLookupForm(forms.Form):
    lon = forms.FloatField(label="经度", required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(label="纬度", required=False, min_value=-90, max_value=90)
    datum = forms.ChoiceField(label="坐标系", choices=DATUM_CHOICES, required=False, initial=Datum.WGS84.value)
    code = forms.CharField(label="地块编码", required=False, max_length=40)
