"""HTML forms of the case pages. They parse and type-check only; the domain rules stay in the
services (intake, workflow), whose errors name the field they are shown on."""

from __future__ import annotations

from django import forms

from geo_disputes.models import Township, Unit, Village
from geo_disputes.models.cases import (
    Category,
    Channel,
    PetitionKind,
    ResolutionMethod,
    Satisfaction,
    Status,
    Tier,
)
from geo_disputes.services.case_queries import OPEN, CaseFilter
from geo_disputes.services.intake import MAX_DESCRIPTION, IntakeError, IntakeRequest, Petitioner
from geo_disputes.services.routing import DEPARTMENTS

MAX_PETITIONER_ROWS = 20  # a group visit sends at most 5 representatives (Art. 20); households go in a case group

DATUM_CHOICES = [
    ("wgs84", "WGS84(GPS/卫星定位/地图点选)"),
    ("cgcs2000", "CGCS2000(国家2000/天地图)"),
    ("gcj02", "GCJ-02 手机坐标(高德/腾讯/微信位置)"),
]

# Intake fields the service may name in an IntakeError; anything else is shown above the form.
_INTAKE_FIELDS = {
    "category",
    "channel",
    "kind",
    "description",
    "lon",
    "lat",
    "datum",
    "accuracy_m",
    "parcel_code",
    "households_affected",
    "departments",
    "legacy",
    "accused_unit",
}


def _units():
    return Unit.objects.order_by("kind", "code")


class IntakeForm(forms.Form):
    """村民说事: what, where (map click, typed coordinates with their datum, or a parcel code), who."""

    category = forms.ChoiceField(label="类别 category", choices=Category.choices)
    channel = forms.ChoiceField(label="渠道 channel", choices=Channel.choices)
    kind = forms.ChoiceField(label="信访类型 kind", choices=PetitionKind.choices, initial=PetitionKind.CLAIM)
    description = forms.CharField(
        label="事项描述 description", max_length=MAX_DESCRIPTION, widget=forms.Textarea(attrs={"rows": 4})
    )
    lon = forms.FloatField(label="经度 lon", required=False, widget=forms.NumberInput(attrs={"step": "any"}))
    lat = forms.FloatField(label="纬度 lat", required=False, widget=forms.NumberInput(attrs={"step": "any"}))
    datum = forms.ChoiceField(label="坐标系 datum", choices=DATUM_CHOICES, initial="wgs84")
    accuracy_m = forms.FloatField(
        label="定位精度(米) accuracy", required=False, min_value=0, widget=forms.NumberInput(attrs={"step": "any"})
    )
    parcel_code = forms.CharField(label="或地块编码 or parcel code", required=False, max_length=60)
    households_affected = forms.IntegerField(label="涉及户数 households", min_value=0, max_value=100000, initial=1)
    departments = forms.MultipleChoiceField(
        label="协同部门 departments",
        required=False,
        choices=list(DEPARTMENTS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    legacy = forms.BooleanField(label="历史遗留 legacy", required=False)
    accused_unit = forms.ModelChoiceField(
        label="被检举控告单位(可选) accused unit",
        queryset=_units(),
        to_field_name="code",
        required=False,
        empty_label="(无 none)",
    )

    def intake_request(self, petitioners: list[Petitioner]) -> IntakeRequest:
        data = self.cleaned_data
        return IntakeRequest(
            category=data["category"],
            channel=data["channel"],
            kind=data["kind"],
            description=data["description"],
            lon=data["lon"],
            lat=data["lat"],
            datum=data["datum"],
            accuracy_m=data["accuracy_m"],
            parcel_code=(data["parcel_code"] or "").strip(),
            households_affected=data["households_affected"],
            departments=list(data["departments"]),
            legacy=data["legacy"],
            petitioners=petitioners,
            accused_unit_code=data["accused_unit"].code if data["accused_unit"] else "",
        )


class PetitionerForm(forms.Form):
    """One petitioner row; a row left empty is skipped."""

    name = forms.CharField(label="姓名 name", max_length=50, required=False)
    phone = forms.CharField(label="电话 phone", max_length=20, required=False)
    id_number = forms.CharField(label="身份证号 ID number", max_length=18, required=False)

    def clean(self):
        data = super().clean()
        if (data.get("phone") or data.get("id_number")) and not (data.get("name") or "").strip():
            self.add_error("name", "请填写姓名 / name required")
        return data


PetitionerFormSet = forms.formset_factory(
    PetitionerForm, extra=1, max_num=MAX_PETITIONER_ROWS, validate_max=True, absolute_max=MAX_PETITIONER_ROWS
)


def filled_petitioners(formset) -> tuple[list[Petitioner], list[int]]:
    """The non-empty rows as Petitioners, and the formset index of each (to put service errors on the row)."""
    petitioners, rows = [], []
    for index, form in enumerate(formset.forms):
        data = form.cleaned_data
        if not (data.get("name") or "").strip():
            continue
        petitioners.append(Petitioner(name=data["name"], phone=data["phone"], id_number=data["id_number"]))
        rows.append(index)
    return petitioners, rows


def show_intake_error(exc: IntakeError, form: IntakeForm, formset, rows: list[int]) -> None:
    """Put the service's error on the field it names ("petitioners[2].name" → row 3's name)."""
    field = exc.field
    if field.startswith("petitioners[") and "]." in field:
        index = int(field[len("petitioners[") : field.index("]")])
        name = field.split("].", 1)[1]
        if index < len(rows) and name in PetitionerForm.base_fields:
            formset.forms[rows[index]].add_error(name, exc.message)
            return
    if field in _INTAKE_FIELDS:
        form.add_error(field, exc.message)
    else:
        form.add_error(None, f"{field}: {exc.message}")


class CaseFilterForm(forms.Form):
    """The list's filters (GET); an invalid value is reported and that filter left out."""

    category = forms.ChoiceField(label="类别", required=False, choices=[("", "全部类别"), *Category.choices])
    status = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[("", "全部状态"), (OPEN, "在办(全部未办结) open"), *Status.choices],
    )
    tier = forms.ChoiceField(label="层级", required=False, choices=[("", "全部层级"), *Tier.choices])
    township = forms.ChoiceField(label="苏木乡镇", required=False)
    village = forms.ChoiceField(label="嘎查村", required=False)
    since = forms.DateField(label="登记自", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="登记至", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        townships = Township.objects.in_force().order_by("code").values_list("code", "name")
        self.fields["township"].choices = [("", "全部乡镇"), *townships]
        villages = Village.objects.in_force().order_by("code").values_list("code", "name")
        self.fields["village"].choices = [("", "全部村"), *((code, f"{name} {code}") for code, name in villages)]

    def case_filter(self) -> CaseFilter:
        """The filter from the valid fields (call after is_valid())."""
        data = getattr(self, "cleaned_data", {})
        return CaseFilter(
            category=data.get("category") or None,
            status=data.get("status") or None,
            tier=data.get("tier") or None,
            township=data.get("township") or None,
            village=data.get("village") or None,
            since=data.get("since"),
            until=data.get("until"),
        )


# Workflow actions: one small form each. `action` and `version` travel hidden; the rest are the
# parameters workflow.apply takes for that action (workflow.PARAMETERS).

ACTION_LABELS = {
    "accept": "受理 accept",
    "reject": "不予受理 reject",
    "transfer": "转送 transfer",
    "assign": "交办责任人 assign",
    "extend": "延期 extend",
    "put_on_agenda": "提交联席会议 put on agenda",
    "resolve": "化解答复 resolve",
    "evaluate": "评事 evaluate",
    "close": "办结 close",
    "request_review": "申请复查 request review",
    "escalate": "上报上一级 escalate",
}


class ActionForm(forms.Form):
    action = forms.CharField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(label="理由 reason", required=False, max_length=2000, widget=forms.Textarea({"rows": 2}))

    def params(self) -> dict:
        """The workflow parameters: every field but the hidden ones."""
        return {k: v for k, v in self.cleaned_data.items() if k not in ("action", "version")}


class _ReasonRequired(ActionForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = True


class AcceptForm(ActionForm):
    person = forms.CharField(label="责任人(可选) person", required=False, max_length=50)
    field_order = ["person", "reason"]


class RejectForm(_ReasonRequired):
    pass


class TransferForm(_ReasonRequired):
    unit = forms.ModelChoiceField(label="转送单位 unit", queryset=_units(), to_field_name="code")
    field_order = ["unit", "reason"]


class AssignForm(ActionForm):
    person = forms.CharField(label="责任人 person", max_length=50)
    unit = forms.ModelChoiceField(label="改由单位(可选) unit", queryset=_units(), to_field_name="code", required=False)
    field_order = ["person", "unit", "reason"]


class ExtendForm(_ReasonRequired):
    days = forms.IntegerField(label="延期天数(≤30)days", min_value=1, max_value=30)
    field_order = ["days", "reason"]


class AgendaForm(ActionForm):
    plan = forms.CharField(label="议事方案 plan", max_length=2000, widget=forms.Textarea({"rows": 2}))
    unit = forms.ModelChoiceField(label="责任单位 unit", queryset=_units(), to_field_name="code")
    person = forms.CharField(label="责任人 person", max_length=50)
    deadline = forms.DateField(label="期限 deadline", widget=forms.DateInput(attrs={"type": "date"}))
    field_order = ["plan", "unit", "person", "deadline", "reason"]


class ResolveForm(ActionForm):
    method = forms.ChoiceField(label="化解方式 method", choices=ResolutionMethod.choices)
    outcome = forms.CharField(label="化解结果 outcome", max_length=2000, widget=forms.Textarea({"rows": 2}))
    field_order = ["method", "outcome", "reason"]


class EvaluateForm(ActionForm):
    satisfaction = forms.ChoiceField(label="满意度 satisfaction", choices=Satisfaction.choices)
    deputies_reviewed = forms.BooleanField(label="人大代表参与评事 deputies reviewed", required=False)
    field_order = ["satisfaction", "deputies_reviewed", "reason"]


class CloseForm(ActionForm):
    pass


class RequestReviewForm(ActionForm):
    pass


class EscalateForm(_ReasonRequired):
    pass


ACTION_FORMS: dict[str, type[ActionForm]] = {
    "accept": AcceptForm,
    "reject": RejectForm,
    "transfer": TransferForm,
    "assign": AssignForm,
    "extend": ExtendForm,
    "put_on_agenda": AgendaForm,
    "resolve": ResolveForm,
    "evaluate": EvaluateForm,
    "close": CloseForm,
    "request_review": RequestReviewForm,
    "escalate": EscalateForm,
}


class QueueDateForm(forms.Form):
    date = forms.DateField(label="日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
