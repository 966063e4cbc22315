"""HTML forms of the case pages. They parse and type-check only; the domain rules stay in the
services (intake, workflow), whose errors name the field they are shown on."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from geo_disputes.form_fields import DateField, IntegerField
from geo_disputes.models import Case, FollowUp, SupervisionAct, Township, Unit, Village
from geo_disputes.models.cases import (
    AboveBanner,
    Category,
    Channel,
    LegalOutcome,
    OpinionOutcome,
    PetitionKind,
    PetitionRoute,
    Procedure,
    ReviewOutcome,
    Satisfaction,
    ServiceMethod,
    Status,
    Tier,
)
from geo_disputes.services.cases.access import banner_prefix
from geo_disputes.services.cases.case_queries import OPEN, CaseFilter
from geo_disputes.services.cases.intake import (
    MAX_DESCRIPTION,
    MAX_REPRESENTATIVES,
    AccusedPersonInput,
    IntakeError,
    IntakeRequest,
    Petitioner,
)
from geo_disputes.services.cases.routing import DEPARTMENTS
from geo_disputes.services.cases.units import units_of

MAX_PETITIONER_ROWS = 20  # a group visit sends at most 5 representatives (Art. 20); households go in a case group

DATUM_CHOICES = [
    ("wgs84", _("WGS84(GPS/卫星定位/地图点选)")),
    ("cgcs2000", _("CGCS2000(国家2000/天地图)")),
    ("gcj02", _("GCJ-02 手机坐标(高德/腾讯/微信位置)")),
]

# Coordinates and accuracy: a phone shows its numeric keyboard with the decimal point and minus sign.
DECIMAL = {"step": "any", "inputmode": "decimal"}

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
    "procedure",
    "forwarded_by",
    "above_banner",
    "group",
}


def translated_choices(choices) -> list[tuple[str, str]]:
    """A model's choices (labels marked with gettext_noop) with their labels in the language of the page."""
    return [(value, gettext_lazy(label)) for value, label in choices]


def _units():
    return Unit.objects.order_by("kind", "code")


class IntakeForm(forms.Form):
    """村民说事: what, where (map click, typed coordinates with their datum, or a parcel code), who."""

    category = forms.ChoiceField(label=_("类别"), choices=translated_choices(Category.choices))
    channel = forms.ChoiceField(label=_("渠道"), choices=translated_choices(Channel.choices))
    kind = forms.ChoiceField(
        label=_("信访类型"), choices=translated_choices(PetitionKind.choices), initial=PetitionKind.CLAIM
    )
    description = forms.CharField(
        label=_("事项描述"), max_length=MAX_DESCRIPTION, widget=forms.Textarea(attrs={"rows": 4})
    )
    lon = forms.FloatField(label=_("经度"), required=False, widget=forms.NumberInput(attrs=DECIMAL))
    lat = forms.FloatField(label=_("纬度"), required=False, widget=forms.NumberInput(attrs=DECIMAL))
    datum = forms.ChoiceField(label=_("坐标系"), choices=DATUM_CHOICES, initial="wgs84")
    accuracy_m = forms.FloatField(
        label=_("定位精度(米)"), required=False, min_value=0, widget=forms.NumberInput(attrs=DECIMAL)
    )
    parcel_code = forms.CharField(label=_("或地块编码"), required=False, max_length=60)
    households_affected = IntegerField(label=_("涉及户数"), min_value=0, max_value=100000, initial=1)
    departments = forms.MultipleChoiceField(
        label=_("协同部门"),
        required=False,
        choices=list(DEPARTMENTS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    legacy = forms.BooleanField(label=_("历史遗留"), required=False)
    accused_unit = forms.ModelChoiceField(
        label=_("被检举控告单位(可选)"),
        queryset=_units(),
        to_field_name="code",
        required=False,
        empty_label=_("(无)"),
    )
    accused_persons = forms.CharField(
        label=_("被检举控告人(可选)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("每行一人:姓名,职务,单位代码,系统账号(后三项可省)。被检举控告人及其单位不会看到此事项。"),
    )
    procedure = forms.ChoiceField(
        label=_("程序"),
        required=False,
        choices=[("", _("按类型和渠道自动选择")), *translated_choices(Procedure.choices)],
        help_text=_("检举控告一律转纪检监察;说事室、网格代办、代表站的求决事项默认人民调解,其余默认信访。"),
    )
    forwarded_by = forms.ModelChoiceField(
        label=_("转送/交办单位(可选)"),
        queryset=_units(),
        to_field_name="code",
        required=False,
        empty_label=_("(直接收到)"),
        help_text=_("转送或交办来的事项:本单位自收到之日起15日内告知,5个工作日内可提出异议(条例第23条)。"),
    )
    above_banner = forms.ChoiceField(
        label=_("越级/上级交办(可选)"),
        required=False,
        choices=[("", _("(无)")), *((v, label) for v, label in translated_choices(AboveBanner.choices) if v)],
    )

    group = forms.IntegerField(
        label=_("并入事项组编号(可选)"),
        required=False,
        min_value=1,
        help_text=_("同一事件多户信访的,填写已有事项组的编号;只能并入您辖区内、同一类别的事项组。"),
    )

    # A one-time token set when the form is shown: the same form sent twice registers one case.
    submission = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:  # the bodies of the registering user's banner(s): not another banner's committees
            prefix = banner_prefix(user)
            for name in ("accused_unit", "forwarded_by"):
                self.fields[name].queryset = units_of(prefix)

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
            accused_persons=accused_person_lines(data.get("accused_persons") or ""),
            procedure=data["procedure"] or "",
            forwarded_by_code=data["forwarded_by"].code if data["forwarded_by"] else "",
            above_banner=data["above_banner"] or "",
            group_id=data["group"],
        )


def accused_person_lines(text: str) -> list[AccusedPersonInput]:
    """One accused person per line, "name,post,unit code,username" (Chinese or ASCII commas; the tail optional)."""
    people = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if not any(parts):
            continue
        parts += [""] * (4 - len(parts))
        people.append(AccusedPersonInput(name=parts[0], position=parts[1], unit_code=parts[2], username=parts[3]))
    return people


class PetitionerForm(forms.Form):
    """One petitioner row; a row left empty is skipped."""

    name = forms.CharField(
        label=_("姓名"), max_length=50, required=False, widget=forms.TextInput({"placeholder": "姓名"})
    )
    phone = forms.CharField(
        label=_("电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput({"placeholder": "电话", "type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )
    id_number = forms.CharField(
        label=_("身份证号"),
        max_length=18,
        required=False,
        widget=forms.TextInput({"placeholder": "身份证号"}),
    )
    representative = forms.BooleanField(label=_("代表"), required=False)

    def clean(self):
        data = super().clean()
        if (data.get("phone") or data.get("id_number")) and not (data.get("name") or "").strip():
            self.add_error("name", "请填写姓名")
        return data


class BasePetitionerFormSet(forms.BaseFormSet):
    def clean(self):
        """Art. 20: a group visit sends at most 5 representatives."""
        if any(self.errors):
            return
        flagged = sum(
            1 for f in self.forms if f.cleaned_data.get("representative") and (f.cleaned_data.get("name") or "").strip()
        )
        if flagged > MAX_REPRESENTATIVES:
            raise forms.ValidationError(
                f"勾选了 {flagged} 名代表:走访一次最多推选{MAX_REPRESENTATIVES}名代表(条例第20条),其余按信访人登记"
            )


PetitionerFormSet = forms.formset_factory(
    PetitionerForm,
    formset=BasePetitionerFormSet,
    extra=1,
    max_num=MAX_PETITIONER_ROWS,
    validate_max=True,
    absolute_max=MAX_PETITIONER_ROWS,
)


def filled_petitioners(formset) -> tuple[list[Petitioner], list[int]]:
    """The non-empty rows as Petitioners, and the formset index of each (to put service errors on the row)."""
    petitioners, rows = [], []
    for index, form in enumerate(formset.forms):
        data = form.cleaned_data
        if not (data.get("name") or "").strip():
            continue
        petitioners.append(
            Petitioner(
                name=data["name"],
                phone=data["phone"],
                id_number=data["id_number"],
                # unticked: let intake decide (on a visit, the first five who came are the representatives)
                representative=True if data.get("representative") else None,
            )
        )
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
    if field == "petitioners":
        formset._non_form_errors.append(exc.message)
        return
    if field.startswith("accused_persons"):  # "accused_persons[1].unit" → the box, naming the line
        line = field[field.find("[") + 1 : field.find("]")] if "[" in field else ""
        where = f"第{int(line) + 1}行 · {field.rsplit('.', 1)[-1]}: " if line.isdigit() else ""
        form.add_error("accused_persons", f"{where}{exc.message}")
        return
    if field == "photos":  # a file sent with the registration: its name leads the message
        form.add_error(None, f"{_('现场照片、材料和录音')}:{exc.message}")
        return
    if field in _INTAKE_FIELDS:
        form.add_error(field, exc.message)
    else:
        form.add_error(None, f"{field}: {exc.message}")


class CaseFilterForm(forms.Form):
    """The list's filters (GET); an invalid value is reported and that filter left out."""

    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("编号、地块编码、描述、信访人姓名或电话")}),
    )

    category = forms.ChoiceField(
        label=_("类别"), required=False, choices=[("", _("全部类别")), *translated_choices(Category.choices)]
    )
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部状态")), (OPEN, _("在办(全部未办结)")), *translated_choices(Status.choices)],
    )
    tier = forms.ChoiceField(
        label=_("层级"), required=False, choices=[("", _("全部层级")), *translated_choices(Tier.choices)]
    )
    township = forms.ChoiceField(label=_("苏木乡镇"), required=False)
    village = forms.ChoiceField(label=_("嘎查村"), required=False)
    since = DateField(label=_("登记自"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = DateField(label=_("登记至"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due = forms.ChoiceField(
        label=_("期限"),
        required=False,
        choices=[("", _("全部")), ("overdue", _("已超期")), ("soon", _("临近期限"))],
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The places of the user's banner(s) only (an area code begins with its banner's): a list never offers
        # another banner's townships (several banners per deployment).
        prefix = banner_prefix(user)
        townships = Township.objects.in_force().filter(code__startswith=prefix).order_by("code")
        self.fields["township"].choices = [("", _("全部乡镇")), *townships.values_list("code", "name")]
        villages = (
            Village.objects.in_force().filter(code__startswith=prefix).order_by("code").values_list("code", "name")
        )
        self.fields["village"].choices = [("", _("全部村")), *((code, f"{name} {code}") for code, name in villages)]

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
            text=data.get("q") or None,
            due=data.get("due") or None,
        )


# Workflow actions: one small form each. `action` and `version` travel hidden; the rest are the
# parameters workflow.apply takes for that action (workflow.PARAMETERS). A form built for a case
# (`case=`) may narrow its choices to what that case's procedure allows.

ACTION_LABELS = {
    "accept": _("受理"),
    "reject": _("不予受理"),
    "transfer": _("转送"),
    "object": _("提出异议(退回转送机关)"),
    "assign": _("交办责任人"),
    "lead": _("确定牵头单位"),
    "route": _("确定办理途径(第31条)"),
    "extend": _("延期"),
    "put_on_agenda": _("提交联席会议"),
    "opinion": _("出具处理意见"),
    "serve": _("送达书面答复"),
    "request_review": _("申请复查/复核"),
    "review_decision": _("复查/复核决定"),
    "session": _("调解"),
    "agreement": _("达成协议"),
    "fail": _("调解不成"),
    "confirm": _("司法确认"),
    "convert": _("转为信访"),
    "pre_mediate": _("诉前调解"),
    "file": _("立案"),
    "conclude": _("结案"),
    "follow_up": _("回访"),
    "supervise": _("督办"),
    "close": _("办结"),
}


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _text_area():
    return forms.Textarea({"rows": 2})


class ActionForm(forms.Form):
    action = forms.CharField(widget=forms.HiddenInput)
    version = IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(label=_("理由"), required=False, max_length=2000, widget=_text_area())

    def __init__(self, *args, case: Case | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        if case is not None:  # the case's own banner's bodies only (workflow refuses any other)
            for field in self.fields.values():
                if isinstance(field, forms.ModelChoiceField) and field.queryset.model is Unit:
                    field.queryset = units_of(case.banner_code)

    def params(self) -> dict:
        """The workflow parameters: every field but the hidden ones."""
        return {k: v for k, v in self.cleaned_data.items() if k not in ("action", "version")}


class _ReasonRequired(ActionForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = True


class AcceptForm(ActionForm):
    person = forms.CharField(label=_("责任人(可选)"), required=False, max_length=50)
    field_order = ["person", "reason"]


class RejectForm(_ReasonRequired):
    pass


class TransferForm(_ReasonRequired):
    unit = forms.ModelChoiceField(label=_("转送单位"), queryset=_units(), to_field_name="code")
    field_order = ["unit", "reason"]


class ObjectForm(_ReasonRequired):
    """Art. 23: a forwarded matter outside the remit goes back, with the forwarding body's consent."""

    consent_by = forms.CharField(label=_("转送机关同意人"), max_length=100)
    field_order = ["reason", "consent_by"]


class AssignForm(ActionForm):
    person = forms.CharField(label=_("责任人"), max_length=50)
    unit = forms.ModelChoiceField(label=_("改由单位(可选)"), queryset=_units(), to_field_name="code", required=False)
    field_order = ["person", "unit", "reason"]


class LeadForm(ActionForm):
    """Art. 24: the lead among co-handling bodies, agreed or decided by the common superior."""

    unit = forms.ModelChoiceField(label=_("牵头单位"), queryset=_units(), to_field_name="code")
    decided_by = forms.CharField(
        label=_("协商一致或决定的上级机关"), max_length=100, help_text=_("如:协商一致 / 旗人民政府")
    )
    field_order = ["unit", "decided_by", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.case is not None:
            self.fields["unit"].queryset = self.case.partner_units.order_by("code")


class RouteForm(ActionForm):
    """Art. 31: items 1–5 lead a claim into a legal procedure; item 6 is answered by a handling opinion."""

    route = forms.ChoiceField(label=_("办理途径"), choices=translated_choices(PetitionRoute.choices))
    body = forms.CharField(label=_("办理机关(可选)"), required=False, max_length=100)
    field_order = ["route", "body", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.case is not None and self.case.procedure == Procedure.MEDIATION:
            # A failed mediation may be led into litigation or arbitration only.
            keep = (PetitionRoute.LITIGATION, PetitionRoute.ARBITRATION)
            self.fields["route"].choices = [
                (v, label) for v, label in translated_choices(PetitionRoute.choices) if v in keep
            ]


class ExtendForm(_ReasonRequired):
    days = IntegerField(label=_("延期天数(≤30)"), min_value=1, max_value=30)
    approved_by = forms.CharField(label=_("批准人(机关负责人)"), max_length=50)
    told_at = DateField(label=_("告知信访人日期"), widget=_date_input())
    field_order = ["days", "reason", "approved_by", "told_at"]


class AgendaForm(ActionForm):
    plan = forms.CharField(label=_("议事方案"), max_length=2000, widget=_text_area())
    unit = forms.ModelChoiceField(label=_("责任单位"), queryset=_units(), to_field_name="code")
    person = forms.CharField(label=_("责任人"), max_length=50)
    deadline = DateField(label=_("期限"), widget=_date_input())
    field_order = ["plan", "unit", "person", "deadline", "reason"]


class OpinionForm(ActionForm):
    """Art. 32: support, explanation, or not supported — in writing."""

    outcome = forms.ChoiceField(label=_("处理意见"), choices=translated_choices(OpinionOutcome.choices))
    text = forms.CharField(label=_("意见书内容"), max_length=5000, widget=_text_area())
    field_order = ["outcome", "text", "reason"]


class ServeForm(ActionForm):
    served_at = DateField(label=_("送达日期"), widget=_date_input())
    method = forms.ChoiceField(label=_("送达方式"), choices=translated_choices(ServiceMethod.choices))
    field_order = ["served_at", "method", "reason"]


class RequestReviewForm(ActionForm):
    pass


class ReviewDecisionForm(ActionForm):
    outcome = forms.ChoiceField(label=_("复查/复核结论"), choices=translated_choices(ReviewOutcome.choices))
    text = forms.CharField(label=_("决定书内容"), max_length=5000, widget=_text_area())
    field_order = ["outcome", "text", "reason"]


class SessionForm(ActionForm):
    at = DateField(label=_("调解日期(默认今天)"), required=False, widget=_date_input())
    mediators = forms.CharField(label=_("调解员"), required=False, max_length=200)
    deputies_reviewed = forms.BooleanField(label=_("人大代表参与"), required=False)
    field_order = ["at", "mediators", "deputies_reviewed", "reason"]


class AgreementForm(ActionForm):
    text = forms.CharField(label=_("协议内容"), max_length=5000, widget=_text_area())
    agreement_at = DateField(label=_("协议生效日期(默认今天)"), required=False, widget=_date_input())
    mediators = forms.CharField(label=_("调解员"), required=False, max_length=200)
    field_order = ["text", "agreement_at", "mediators", "reason"]


class FailForm(_ReasonRequired):
    pass


class ConfirmForm(ActionForm):
    """人民调解法 Art. 33: applied for within 30 days of the agreement."""

    court = forms.CharField(label=_("法院"), max_length=100)
    number = forms.CharField(label=_("裁定书号"), max_length=60)
    applied_at = DateField(label=_("申请日期"), widget=_date_input())
    ruled_at = DateField(label=_("裁定日期"), widget=_date_input())
    field_order = ["court", "number", "applied_at", "ruled_at", "reason"]


class ConvertForm(_ReasonRequired):
    pass


class PreMediateForm(ActionForm):
    body = forms.CharField(label=_("办理机关(可选)"), required=False, max_length=100)
    at = DateField(label=_("开始日期(默认今天)"), required=False, widget=_date_input())
    field_order = ["body", "at", "reason"]


class FileForm(ActionForm):
    body = forms.CharField(label=_("法院/仲裁委/机关(可选)"), required=False, max_length=100)
    number = forms.CharField(label=_("案号"), max_length=60)
    filed_at = DateField(label=_("立案日期(默认今天)"), required=False, widget=_date_input())
    field_order = ["body", "number", "filed_at", "reason"]


class ConcludeForm(ActionForm):
    outcome = forms.ChoiceField(label=_("结案方式"), choices=translated_choices(LegalOutcome.choices))
    number = forms.CharField(label=_("案号/文号(可选)"), required=False, max_length=60)
    at = DateField(label=_("结案日期(默认今天)"), required=False, widget=_date_input())
    text = forms.CharField(label=_("结果"), max_length=5000, widget=_text_area())
    field_order = ["outcome", "number", "at", "text", "reason"]


class FollowUpForm(ActionForm):
    """回访 by someone other than the handler: the petitioner's answer, or that they could not be reached."""

    satisfaction = forms.ChoiceField(
        label=_("满意度"), required=False, choices=[("", _("(未答)")), *translated_choices(Satisfaction.choices)]
    )
    unreachable = forms.BooleanField(label=_("未能联系到信访人"), required=False)
    by = forms.CharField(label=_("回访人(非承办人)"), max_length=50)
    method = forms.ChoiceField(label=_("回访方式"), choices=translated_choices(FollowUp.Method.choices))
    at = DateField(label=_("回访日期(默认今天)"), required=False, widget=_date_input())
    deputies_reviewed = forms.BooleanField(label=_("人大代表参与"), required=False)
    field_order = ["satisfaction", "unreachable", "by", "method", "at", "deputies_reviewed", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = "备注 note"

    def clean(self):
        data = super().clean()
        if bool(data.get("unreachable")) == bool(data.get("satisfaction")):
            self.add_error(
                "satisfaction",
                "请填写满意度,或勾选“未能联系到信访人”(二选一)",
            )
        return data


class SuperviseForm(_ReasonRequired):
    kind = forms.ChoiceField(label=_("督办方式"), choices=translated_choices(SupervisionAct.Kind.choices))
    deadline = DateField(label=_("限期"), widget=_date_input())
    field_order = ["kind", "reason", "deadline"]


class CloseForm(ActionForm):
    pass


ACTION_FORMS: dict[str, type[ActionForm]] = {
    "accept": AcceptForm,
    "reject": RejectForm,
    "transfer": TransferForm,
    "object": ObjectForm,
    "assign": AssignForm,
    "lead": LeadForm,
    "route": RouteForm,
    "extend": ExtendForm,
    "put_on_agenda": AgendaForm,
    "opinion": OpinionForm,
    "serve": ServeForm,
    "request_review": RequestReviewForm,
    "review_decision": ReviewDecisionForm,
    "session": SessionForm,
    "agreement": AgreementForm,
    "fail": FailForm,
    "confirm": ConfirmForm,
    "convert": ConvertForm,
    "pre_mediate": PreMediateForm,
    "file": FileForm,
    "conclude": ConcludeForm,
    "follow_up": FollowUpForm,
    "supervise": SuperviseForm,
    "close": CloseForm,
}


class QueueDateForm(forms.Form):
    date = DateField(label=_("日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


# -- follow-up register, leaders' cases and visits (issue 15 items 4–5) -------------------------------------------


class FollowUpRegisterForm(forms.Form):
    """The register's filter: a period (default: the year to date) and a unit."""

    since = DateField(label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = DateField(label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    unit = forms.CharField(label=_("责任单位"), required=False, max_length=40, widget=forms.Select)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].widget.choices = [("", _("全部单位")), *((u.code, u.name) for u in units)]


class LeaderCaseForm(forms.Form):
    """A leader takes on a case (包案): the service checks the rest and names the field it refuses."""

    reference = forms.CharField(label=_("事项编号"), max_length=20)
    leader_name = forms.CharField(label=_("包案领导"), max_length=50)
    leader_post = forms.CharField(label=_("职务"), max_length=200)
    plan = forms.CharField(label=_("化解方案"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    deadline = DateField(label=_("化解期限"), widget=forms.DateInput(attrs={"type": "date"}))


class LeaderCloseForm(forms.Form):
    status = forms.ChoiceField(label=_("结果"), choices=())
    outcome = forms.CharField(label=_("结果说明"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        from geo_disputes.models import LeaderCase

        super().__init__(*args, **kwargs)
        done = [c for c in LeaderCase.Status.choices if c[0] != LeaderCase.Status.ACTIVE]
        self.fields["status"].choices = translated_choices(done)


class VisitForm(forms.Form):
    """A leader's reception or visit: date, place, leader, kind and the cases to discuss (references)."""

    kind = forms.ChoiceField(label=_("类型"), choices=())
    on = DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    starts = forms.TimeField(label=_("开始时间"), required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    place = forms.CharField(label=_("地点"), max_length=200)
    leader_name = forms.CharField(label=_("领导"), max_length=50)
    leader_post = forms.CharField(label=_("职务"), max_length=200)
    township_code = forms.CharField(label=_("乡镇代码(下访地)"), max_length=9, required=False)
    references = forms.CharField(
        label=_("涉及事项编号(每行一个)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        from geo_disputes.models import LeaderVisit

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = translated_choices(LeaderVisit.Kind.choices)

    def reference_list(self) -> list[str]:
        return [r for r in re.split(r"[\s,，、;；]+", self.cleaned_data.get("references", "")) if r]


class VisitOutcomeForm(forms.Form):
    reference = forms.CharField(max_length=20)
    outcome = forms.CharField(label=_("接访结果"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class MonthForm(forms.Form):
    month = forms.RegexField(
        label=_("月份"),
        regex=r"^[0-9]{4}-[0-9]{2}$",
        required=False,
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month"}),
    )

    def clean_month(self):
        import datetime as dt

        text = self.cleaned_data.get("month") or ""
        if not text:
            return None
        year, month = int(text[:4]), int(text[5:])
        if not (1901 <= year <= 2200 and 1 <= month <= 12):
            raise forms.ValidationError("月份须为1901–2200年的 YYYY-MM / month must be YYYY-MM within 1901..2200")
        return dt.date(year, month, 1)
