"""The map pages' forms: the field lookup, and the filters of the court and planner maps.

Plain GET forms, so a lookup or a filtered view is a shareable link (/maps/field/?code=…,
/maps/planner/?category=…&since=…) and the page still says what was asked without JavaScript;
the page script answers it through the JSON API. Values typed by the user come back into the
page only through Django's escaping. Townships and mines are listed by the page script from the
layers it loads anyway (the select keeps the linked value in `data-initial` until they arrive).
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from geo_disputes.form_fields import DateField, IntegerField
from geo_disputes.forms import translated_choices
from geo_disputes.models.cases import Category, Status, Tier
from geo_disputes.services.analysis.clusters import DEFAULT_EPS_M, DEFAULT_MIN_POINTS, EPS_RANGE_M, MIN_POINTS_RANGE
from geo_disputes.services.areas.coords import Datum
from geo_disputes.services.cases.case_queries import DONE, OPEN

DATUM_CHOICES = [
    (Datum.WGS84.value, _("WGS84（GPS 原始坐标）")),
    (Datum.CGCS2000.value, _("CGCS2000（国家2000）")),
    (Datum.GCJ02.value, _("GCJ-02（手机地图坐标：高德/腾讯/微信）")),
]
ALL = [("", _("全部"))]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class FieldLookupForm(forms.Form):
    lon = forms.FloatField(label=_("经度"), required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(label=_("纬度"), required=False, min_value=-90, max_value=90)
    datum = forms.ChoiceField(label=_("坐标系"), choices=DATUM_CHOICES, required=False, initial=Datum.WGS84.value)
    code = forms.CharField(label=_("地块编码"), required=False, max_length=40)
    holder = forms.CharField(label=_("承包户姓名"), required=False, max_length=50)


class _AreaSelect(forms.Select):
    """A select the page script fills from a layer; the linked value waits in `data-initial`."""

    def get_context(self, name, value, attrs):
        attrs = {**(attrs or {}), "data-initial": value or ""}
        return super().get_context(name, value, attrs)


class CaseMapFilterForm(forms.Form):
    """Category and period: what both the court and the planner filter by."""

    category = forms.ChoiceField(label=_("类别"), choices=ALL + translated_choices(Category.choices), required=False)
    since = DateField(label=_("登记自"), required=False, widget=DATE)
    until = DateField(label=_("登记至"), required=False, widget=DATE)


class CourtFilterForm(CaseMapFilterForm):
    mining_area = forms.CharField(
        label=_("矿区"), required=False, max_length=40, widget=_AreaSelect(choices=[("", _("全部矿区"))])
    )
    # Open cases by default: 186 closed markers drawn over 16 open ones hid what the court works on.
    status = forms.ChoiceField(
        label=_("状态"),
        choices=[(OPEN, _("在办（未办结）")), (DONE, _("已办结")), ("all", _("全部"))],
        required=False,
        initial=OPEN,
    )
    field_order = ["mining_area", "status", "category", "since", "until"]


class PlannerFilterForm(CaseMapFilterForm):
    status = forms.ChoiceField(
        label=_("状态"),
        choices=ALL + [(OPEN, _("在办（未办结）"))] + translated_choices(Status.choices),
        required=False,
    )
    tier = forms.ChoiceField(label=_("层级"), choices=ALL + translated_choices(Tier.choices), required=False)
    township = forms.CharField(
        label=_("苏木乡镇"), required=False, max_length=40, widget=_AreaSelect(choices=[("", _("全旗"))])
    )
    eps_m = forms.FloatField(
        label=_("聚类半径（米）"),
        required=False,
        min_value=EPS_RANGE_M[0],
        max_value=EPS_RANGE_M[1],
        initial=DEFAULT_EPS_M,
    )
    min_points = IntegerField(
        label=_("最少事项数"),
        required=False,
        min_value=MIN_POINTS_RANGE[0],
        max_value=MIN_POINTS_RANGE[1],
        initial=DEFAULT_MIN_POINTS,
    )
    field_order = ["category", "status", "tier", "township", "since", "until", "eps_m", "min_points"]
