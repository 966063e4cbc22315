"""Case pages: intake form, filtered list (+ CSV export), case page with its workflow actions.

Thin views over the same services as the JSON API (geo_disputes.api.cases): every query starts
from access.visible_cases, an out-of-scope case is a 404, petitioners come only through
access.petitioner_view, and actions need access.can_act and go through workflow.apply.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from geo_disputes.forms import (
    ACTION_FORMS,
    ACTION_LABELS,
    CaseFilterForm,
    IntakeForm,
    PetitionerFormSet,
    filled_petitioners,
    show_intake_error,
)
from geo_disputes.models import (
    Case,
    CaseParcel,
    Grid,
    LeaderCase,
    MiningArea,
    Recusal,
    Role,
    SupervisionAct,
    Township,
    Village,
)
from geo_disputes.models.attachments import AttachmentKind
from geo_disputes.models.cases import (
    AboveBanner,
    Category,
    Channel,
    Datum,
    LegalOutcome,
    MediationOutcome,
    MiningRelation,
    OpinionOutcome,
    PetitionKind,
    PetitionRoute,
    Procedure,
    ResolutionMethod,
    ReviewOutcome,
    Satisfaction,
    ServiceMethod,
    Status,
    Tier,
)
from geo_disputes.services.analysis.spreadsheet import safe_row
from geo_disputes.services.cases.access import (
    FULL,
    WITHHELD,
    accused_persons_view,
    attachment_view,
    can_act,
    case_as_seen,
    changes_as_seen,
    kept_from,
    may_attach,
    may_perform,
    may_recuse,
    parcel_holder,
    petitioner_view,
    refusal,
    staff_profile,
    text_as_seen,
    visible_cases,
    visible_changes,
    visible_reference,
)
from geo_disputes.services.cases.attachments import AttachmentError, attach_upload, visible_attachments
from geo_disputes.services.cases.case_queries import CaseFilter, listed_cases
from geo_disputes.services.cases.clock import due_dates, local_date
from geo_disputes.services.cases.intake import IntakeError, open_case
from geo_disputes.services.cases.near_identical import check_near_identical, warning_text
from geo_disputes.services.cases.procedures import LEGAL_PROCEDURES
from geo_disputes.services.cases.recusal import RecusalError, record_recusal
from geo_disputes.services.cases.routing import DEPARTMENTS
from geo_disputes.services.cases.workflow import StaleEditError, WorkflowError, allowed_actions, perform, refusal_text
from geo_disputes.services.ops.idempotency import Answer, IdempotencyError, fingerprint, run_once

PAGE_SIZE = 50
STALE_MESSAGE = gettext_lazy("此事项已被他人修改,请刷新")
RESUBMITTED_CHANGED = gettext_lazy("此登记表已提交过,内容又有改动;如需登记另一事项,请重新打开登记页")

STATUS_LABELS = dict(Status.choices)
NEXT_DUE_LABELS = {
    "accept_by": gettext_lazy("受理告知期限(条例第23条,15日)"),
    "conclude_by": gettext_lazy("办结期限(条例第34条,60日+延期)"),
    "review_decide_by": gettext_lazy("复查决定期限(条例第35条,30日)"),
    "agenda_deadline": gettext_lazy("联席会议议定期限"),
}
# Every deadline the clock derives, in the order a matter meets them; the page lists those that apply.
DEADLINE_ROWS = (
    ("accept_by", gettext_lazy("受理告知期限(条例第23条:本单位收到之日起15日)")),
    ("object_by", gettext_lazy("提出异议期限(条例第23条:收到转送之日起5个工作日)")),
    ("conclude_by", gettext_lazy("办结期限(条例第34条:受理之日起60日,可延期30日)")),
    ("review_request_by", gettext_lazy("申请复查/复核期限(条例第35条:送达之日起30日,信访人)")),
    ("review_decide_by", gettext_lazy("复查/复核决定期限(条例第35条:收到请求之日起30日)")),
    ("confirm_apply_by", gettext_lazy("申请司法确认期限(人民调解法第33条:协议生效之日起30日)")),
    ("agenda_deadline", gettext_lazy("联席会议议定期限")),
)
NOT_TIMED_TEXT = gettext_lazy("本程序不适用信访时限")
EVENT_LABELS = {
    **ACTION_LABELS,
    "report": gettext_lazy("登记(说事)"),
    "route": gettext_lazy("分流"),
    "procedure": gettext_lazy("确定程序"),
    "migrate_procedure": gettext_lazy("补录程序(系统升级)"),
    "link_repeat": gettext_lazy("关联重复信访"),
    "possible_repeat": gettext_lazy("疑似重复登记,请核实并案"),
    "possible_duplicate": gettext_lazy("疑似重复提交(数分钟内同地同类),请核实"),
    "group": gettext_lazy("并入事项组"),
    "recuse": gettext_lazy("回避"),
    "issue_document": gettext_lazy("制发文书"),
    "attach": gettext_lazy("添加附件"),
    "remove_attachment": gettext_lazy("删除附件"),
    "import_case": gettext_lazy("交换导入(外单位移交)"),
    "leader_case": gettext_lazy("领导包案"),
    "leader_case_closed": gettext_lazy("领导包案结束"),
    "visit_scheduled": gettext_lazy("列入领导接访/约访/下访"),
    "visit_outcome": gettext_lazy("领导接访结果"),
}
ART31_ROUTE_LABEL = ACTION_LABELS["route"]
# Codes shown in the history's changes, by field: their Chinese labels.
CHOICE_LABELS = {
    "ground": dict(Recusal.Ground.choices),
    "status": dict(Status.choices),
    "procedure": dict(Procedure.choices),
    "tier": dict(Tier.choices),
    "petition_route": dict(PetitionRoute.choices),
    "route": dict(PetitionRoute.choices),
    "led_into": dict(Procedure.choices),
    "opinion_outcome": dict(OpinionOutcome.choices),
    "served_method": dict(ServiceMethod.choices),
    "review_outcome": dict(ReviewOutcome.choices),
    "mediation_outcome": dict(MediationOutcome.choices),
    "legal_outcome": dict(LegalOutcome.choices),
    "resolution_method": dict(ResolutionMethod.choices),
    "satisfaction": dict(Satisfaction.choices),
    "answer": {**dict(Satisfaction.choices), "unreachable": gettext_lazy("未能联系到信访人")},
    "kind": dict(SupervisionAct.Kind.choices),
    "channel": dict(Channel.choices),
    "datum": dict(Datum.choices),
    "category": dict(Category.choices),
    "material": dict(AttachmentKind.choices),
    "leader_status": dict(LeaderCase.Status.choices),
}
# Names in the history's changes that are not Case fields (the events' notes).
NOTE_LABELS = {
    "case": gettext_lazy("新登记事项"),
    "document": gettext_lazy("文书"),
    "supersedes": gettext_lazy("更正文书"),
    "recused": gettext_lazy("回避人员"),
    "ground": gettext_lazy("回避事由"),
    "final": gettext_lazy("原事项已复核"),
    "led_into": gettext_lazy("导入程序"),
    "consent_by": gettext_lazy("同意人"),
    "decided_by": gettext_lazy("决定机关"),
    "lead": gettext_lazy("牵头单位"),
    "reviewing_body": gettext_lazy("复查机关"),
    "session": gettext_lazy("调解"),
    "follow_up": gettext_lazy("回访记录"),
    "answer": gettext_lazy("回访结果"),
    "supervision": gettext_lazy("督办记录"),
    "kind": gettext_lazy("督办方式"),
    "missed": gettext_lazy("所逾期限"),
    "ordered_by": gettext_lazy("督办机关"),
    "repeat_of": gettext_lazy("原事项"),
    "channel": gettext_lazy("渠道"),
    "datum": gettext_lazy("坐标系"),
    "village": gettext_lazy("村"),
    "attachment": gettext_lazy("附件"),
    "material": gettext_lazy("材料类别"),
    "file_type": gettext_lazy("文件类型"),
    "size": gettext_lazy("大小(字节)"),
    "source": gettext_lazy("来源系统"),
    "source_name": gettext_lazy("来源单位"),
    "external_reference": gettext_lazy("来源编号"),
    "source_status": gettext_lazy("来源状态"),
    "source_unit": gettext_lazy("来源承办单位"),
    "exported_at": gettext_lazy("导出时间"),
    "leader": gettext_lazy("领导"),
    "plan_deadline": gettext_lazy("化解期限"),
    "leader_status": gettext_lazy("包案结果"),
    "visit": gettext_lazy("接访安排"),
}
# Event notes that are internal row ids (the records themselves are listed on the page).
# The sender's history, dates and documents of an imported case are kept whole in its import entry, not listed.
HIDDEN_CHANGES = {
    "status",
    "supervision",
    "follow_up",
    "attachment",
    "source_history",
    "source_dates",
    "source_documents",
}


def _label(label) -> str:
    """A choice label (gettext_noop in the models) in the page's language; blank stays blank."""
    return _(str(label)) if label else ""


def due_text(state: str, days_left: int | None) -> str:
    """The next deadline in words for a badge: 逾期3天 / 今日到期 / 剩5天 / 本程序不适用信访时限."""
    if state == "done":
        return "—"
    if state == "not_timed":
        return NOT_TIMED_TEXT
    if days_left is None:
        return ""
    if days_left < 0:
        return _("逾期%(n)s天") % {"n": -days_left}
    if days_left == 0:
        return _("今日到期")
    return _("剩%(n)s天") % {"n": days_left}


def with_place_names(rows: list[Case]) -> list[Case]:
    """Set `village_name` and `due_text` on listed cases (one query for the names on the page)."""
    names = dict(
        Village.objects.in_force()
        .filter(code__in={c.village_code for c in rows if c.village_code})
        .values_list("code", "name")
    )
    for case in rows:
        case.village_name = names.get(case.village_code, case.village_code)
        case.due_text = due_text(case.due_state, case.days_left)
    return rows


# Intake ---------------------------------------------------------------------------------------


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    """村民说事: the intake form → services.cases.intake.open_case, errors on the field they name."""
    if not can_act(request.user, None):
        raise PermissionDenied(_("当前角色不能登记事项"))
    status = 200
    if request.method == "POST":
        form = IntakeForm(request.POST, user=request.user)
        formset = PetitionerFormSet(request.POST, prefix="petitioners")
        if form.is_valid() and formset.is_valid():
            petitioners, rows = filled_petitioners(formset)
            try:
                answer = _register_once(request, form, petitioners)
            except IntakeError as exc:
                show_intake_error(exc, form, formset, rows)
            except IdempotencyError as exc:
                form.add_error(None, RESUBMITTED_CHANGED if exc.status == 422 else exc.message)
            else:
                if answer.replayed:
                    messages.info(request, _("此表单已提交,未重复登记:%(ref)s") % {"ref": answer.body["reference"]})
                else:
                    for level, text in answer.body["messages"]:
                        messages.add_message(request, level, text)
                if answer.body.get("visible") is False:
                    return redirect("case-list")  # the registrar may not open it: out of scope, or the accused side
                return redirect("case-detail", reference=answer.body["reference"])
        status = 400
    else:
        form = IntakeForm(initial={**_prefill(request.GET), "submission": uuid.uuid4().hex}, user=request.user)
        formset = PetitionerFormSet(prefix="petitioners")
    config = {
        "villages": reverse("api-layer", args=["villages"]),
        "locate": reverse("api-locate"),
        "english": translation.get_language() == "en",  # which half of the API's "中文 / English" details to show
        "text": {  # the located place's words, in the page's language (case_map.js)
            "where": _("位置"),
            "cannot": _("无法定位此点"),
            "grid_worker": _("网格员"),
            "inside": _("矿区内"),
            "zone": _("矿区影响区"),
            "converted": _("GCJ-02 已换算为 WGS84"),
            "offline": _("(离线:按本机保存的边界;联网发送后由服务器定位和分流)"),
        },
    }
    context = {
        "form": form,
        "formset": formset,
        "map_config": config,
        "max_mb": settings.ATTACHMENT_MAX_BYTES >> 20,
        "offline_budget": settings.OFFLINE_PACK_BUDGET_BYTES,  # the kept area pack's limit (js/offline.js)
    }
    return render(request, "cases/new.html", context, status=status)


def _register_once(request: HttpRequest, form: IntakeForm, petitioners) -> Answer:
    """Register the form's case once per one-time token (a double click or a resent form makes one case).

    The token is the form's hidden `submission`; its first answer (the reference and the messages)
    is kept like an API Idempotency-Key's (services.ops.idempotency). A form without one registers as before.
    """

    photos = request.FILES.getlist("photos")

    def register() -> Answer:
        with transaction.atomic():  # the case and its files together, or neither
            case = open_case(form.intake_request(petitioners), actor=request.user)
            for upload in photos:
                try:
                    attach_upload(case, request.user, upload, at_intake=True)
                except AttachmentError as exc:
                    raise IntakeError("photos", str(exc)) from None
        if kept_from(request.user, case):
            # The registrar stands on the accused side (or was recused): a receipt, nothing more (Art. 30).
            receipt = _("已登记 %(ref)s,由有权机关办理;您不在此事项的经办范围。") % {"ref": case.reference}
            return Answer(
                302, {"reference": case.reference, "messages": [(messages.SUCCESS, receipt)], "visible": False}
            )
        notes = _intake_messages(request.user, case)
        notes += [(messages.WARNING, warning_text(m)) for m in check_near_identical(case, request.user)]
        visible = visible_cases(request.user).filter(pk=case.pk).exists()  # registered outside one's own scope
        return Answer(302, {"reference": case.reference, "messages": notes, "visible": visible})

    token = form.cleaned_data.get("submission")
    if not token:
        return register()
    body = {k: v for k, v in request.POST.lists() if k != "csrfmiddlewaretoken"}
    body["photos"] = [f"{upload.name}:{upload.size}" for upload in photos]  # other files: another registration
    return run_once(request.user, f"form:{token}", fingerprint("POST", request.path, body), register)


def _intake_messages(user, case: Case) -> list[tuple[int, str]]:
    """What the page tells the person who registered `case` (a repeat's original only if they may see it)."""
    unit = case.unit.name if case.unit_id else _("未找到责任单位")
    notes = [
        (
            messages.SUCCESS,
            _("已登记 %(ref)s:%(procedure)s程序,分流至%(tier)s · %(unit)s。理由:%(reason)s")
            % {
                "ref": case.reference,
                "procedure": _label(case.get_procedure_display()),
                "tier": _label(case.get_tier_display()),
                "unit": unit,
                "reason": case.routing_reason,
            },
        )
    ]
    if case.repeat_of_id:
        original = visible_reference(user, case.repeat_of_id)
        of = f" {original}" if original else ""
        if case.status == Status.NOT_ACCEPTED:
            notes.append(
                (
                    messages.WARNING,
                    _("同一事项已经复核%(of)s,不再受理:%(reason)s") % {"of": of, "reason": case.not_accepted_reason},
                )
            )
        else:
            notes.append(
                (messages.INFO, _("重复信访:已并入正在办理的原事项%(of)s,不另计时限、不重复计数") % {"of": of})
            )
    return notes


_REFERENCE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,39}")


@login_required
def case_go(request: HttpRequest) -> HttpResponse:
    """The header's box: a reference the user may see opens its case; anything else is searched in the list
    (`/cases/?q=`), where a case out of scope is simply not found — as a mistyped reference is."""
    text = request.GET.get("reference", "").strip()
    reference = text.upper()
    if _REFERENCE.fullmatch(reference) and visible_cases(request.user).filter(reference=reference).exists():
        return redirect("case-detail", reference=reference)
    if not text or "\x00" in text:
        return redirect("case-list")
    return redirect(f"{reverse('case-list')}?{urlencode({'q': text[:200]})}")


def _prefill(query) -> dict:
    """lon/lat/datum from a link such as the field map's /cases/new/?lon=..&lat=..&datum=wgs84."""
    initial = {}
    for name in ("lon", "lat"):
        try:
            initial[name] = float(query.get(name, ""))
        except ValueError:
            continue
    if query.get("datum") in ("wgs84", "cgcs2000", "gcj02"):
        initial["datum"] = query["datum"]
    if query.get("parcel_code"):
        initial["parcel_code"] = query["parcel_code"][:60]
    return initial


# List and export ------------------------------------------------------------------------------


def _filtered(user, flt: CaseFilter) -> QuerySet[Case]:
    qs = listed_cases(user, flt)
    return qs.select_related("unit").order_by("-received_at", "-id")


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET or None, user=request.user)
    form.is_valid()  # invalid filters are reported on the form and left out
    qs = _filtered(request.user, form.case_filter())
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = with_place_names(list(page.object_list))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cases/list.html",
        {"form": form, "page": page, "rows": rows, "filter_query": query.urlencode()},
    )


CSV_HEADERS = [
    "编号 reference",
    "登记时间 received_at",
    "类别 category",
    "类别代码",
    "渠道 channel",
    "信访类型 kind",
    "状态 status",
    "状态代码",
    "层级 tier",
    "责任单位 unit",
    "责任单位代码",
    "责任人 responsible",
    "苏木乡镇 township",
    "乡镇代码",
    "嘎查村 village",
    "村代码",
    "网格代码 grid",
    "矿区代码 mining area",
    "与矿区关系",
    "涉及户数 households",
    "历史遗留 legacy",
    "下一期限 next due",
    "期限类型",
    "剩余天数 days left",
    "期限状态 due state",
    "督办 supervision",
]


@login_required
def case_export(request: HttpRequest) -> HttpResponse:
    """The filtered list as CSV (UTF-8 with BOM, for Excel). No petitioner data and no free text:
    a description can name people, so it stays on the case page, behind access.petitioner rules. The
    responsible person only for the cases the user handles (access.text_as_seen)."""
    form = CaseFilterForm(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        return HttpResponseBadRequest(
            f"筛选条件有误 / invalid filter: {form.errors.as_text()}", content_type="text/plain"
        )
    qs = _filtered(request.user, form.case_filter()).annotate(
        person_shown=text_as_seen(request.user, "responsible_person")
    )
    townships = dict(Township.objects.in_force().values_list("code", "name"))
    villages = dict(Village.objects.in_force().values_list("code", "name"))
    filename = f"cases-{timezone.localdate():%Y%m%d}.csv"
    response = StreamingHttpResponse(_csv_lines(qs, townships, villages), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(qs: QuerySet[Case], townships: dict, villages: dict):
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(CSV_HEADERS)
    labels = {
        "category": dict(Category.choices),
        "channel": dict(Channel.choices),
        "kind": dict(PetitionKind.choices),
        "tier": dict(Tier.choices),
        "mining": dict(MiningRelation.choices),
    }
    for c in qs.iterator(chunk_size=2000):
        row = [
            c.reference,
            timezone.localtime(c.received_at).strftime("%Y-%m-%d %H:%M"),
            labels["category"].get(c.category, c.category),
            c.category,
            labels["channel"].get(c.channel, c.channel),
            labels["kind"].get(c.kind, c.kind),
            STATUS_LABELS.get(c.status, c.status),
            c.status,
            labels["tier"].get(c.tier, c.tier),
            c.unit.name if c.unit_id else "",
            c.unit.code if c.unit_id else "",
            c.person_shown,
            townships.get(c.township_code, ""),
            c.township_code,
            villages.get(c.village_code, ""),
            c.village_code,
            c.grid_code,
            c.mining_area_code,
            labels["mining"].get(c.mining_relation, c.mining_relation) if c.mining_relation else "",
            c.households_affected,
            "是" if c.legacy else "否",
            c.next_due.isoformat() if c.next_due else "",
            c.next_due_kind or "",
            "" if c.days_left is None else c.days_left,
            c.due_state,
            c.supervision,
        ]
        yield writer.writerow(safe_row(row))


# Case page and actions ------------------------------------------------------------------------


def _visible_case(user, reference: str) -> Case:
    case = (
        visible_cases(user)
        .select_related("unit", "routing_rule", "accused_unit", "group", "repeat_of")
        .filter(reference=reference)
        .first()
    )
    if case is None:
        raise Http404(_("无此事项或不在您的辖区"))
    return case


@login_required
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    return _render_case(request, _visible_case(request.user, reference))


@login_required
@require_POST
def case_action(request: HttpRequest, reference: str) -> HttpResponse:
    """One workflow action from the case page; the posted `version` guards against stale edits."""
    case = _visible_case(request.user, reference)
    if not can_act(request.user, case):
        raise PermissionDenied(_("当前角色无权办理此事项"))
    action = request.POST.get("action", "")
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        messages.error(request, _("未知操作 %(action)r") % {"action": action})
        return redirect("case-detail", reference=case.reference)
    refused = refusal(request.user, case, action)
    if refused:
        raise PermissionDenied(refused)
    form = form_class(request.POST, case=case, auto_id=f"id_{action}_%s")
    if not form.is_valid():
        return _render_case(request, case, forms={action: form}, status=400)
    before = _label(case.get_status_display())
    try:
        case = perform(case, action, request.user, form.cleaned_data["version"], form.params())
    except StaleEditError as exc:
        current = _visible_case(request.user, reference)
        # The user's entries come back, now against the version they can see on the page.
        retry = form_class(
            initial={**form.cleaned_data, "version": current.version}, case=current, auto_id=f"id_{action}_%s"
        )
        return _render_case(request, current, forms={action: retry}, stale=str(exc), status=409)
    except WorkflowError as exc:
        field = exc.field if exc.field in form.fields and exc.field not in ("action", "version") else None
        form.add_error(field, refusal_text(exc))
        return _render_case(request, case, forms={action: form}, status=400)
    messages.success(request, f"{ACTION_LABELS[action]}:{before} → {_label(case.get_status_display())}")
    return redirect("case-detail", reference=case.reference)


@login_required
@require_POST
def case_recusal(request: HttpRequest, reference: str) -> HttpResponse:
    """回避 from the case page: oneself, or — for the holder's tier — someone else (条例 Art. 28)."""
    case = _visible_case(request.user, reference)
    username = request.POST.get("user", "")
    if not may_recuse(request.user, case, username):
        raise PermissionDenied(_("本人可申请回避;决定他人回避须由承办层级或上级作出"))
    try:
        recusal = record_recusal(
            case, request.user, username, request.POST.get("ground", ""), request.POST.get("reason", "")
        )
    except RecusalError as exc:
        return _render_case(request, case, recusal_error=f"{exc.field}: {exc.message}", status=400)
    messages.success(
        request,
        _("已记录回避:%(user)s(%(ground)s)")
        % {"user": recusal.username, "ground": _label(recusal.get_ground_display())},
    )
    if not visible_cases(request.user).filter(pk=case.pk).exists():
        return redirect("case-list")  # one who recused themselves no longer sees the case
    return redirect("case-detail", reference=case.reference)


def offered_actions(user, case: Case) -> list[str]:
    """The actions the case's track allows now, less those its own facts would refuse and those the user
    may not take (supervision only from above) — so the page offers what can succeed."""
    return [a for a in allowed_actions(case) if may_perform(user, case, a)]


def _render_case(
    request,
    case: Case,
    *,
    forms=None,
    stale: str = "",
    status: int = 200,
    recusal_error: str = "",
    attachment_error: str = "",
) -> HttpResponse:
    user = request.user
    on = local_date(case.received_at)
    dues = due_dates(case)
    forms = forms or {}
    actions = []
    if can_act(user, case):
        for action in offered_actions(user, case):
            form = forms.get(action) or ACTION_FORMS[action](
                initial={"action": action, "version": case.version}, case=case, auto_id=f"id_{action}_%s"
            )
            actions.append({"action": action, "label": ACTION_LABELS[action], "form": form, "open": action in forms})
        for action, form in forms.items():  # a refused form stays in view even if the action is no longer offered
            if action not in {a["action"] for a in actions}:
                actions.append({"action": action, "label": ACTION_LABELS[action], "form": form, "open": True})
    profile = staff_profile(user)
    # Actions work on the case itself; the page shows it as the user may read it (access.case_as_seen):
    # to a planner or field staff, description redacted, text and people withheld, a coarse point.
    files = attachment_context(user, case)
    case, full = case_as_seen(user, case)
    parcels = _parcels(case, user) if full else []
    events = _events(case, user, full)
    context = {
        "case": case,
        "full_text": full,
        "township": _area(Township, case.township_code, on),
        "village": _area(Village, case.village_code, on),
        "grid": _area(Grid, case.grid_code, on),
        "mining_area": _area(MiningArea, case.mining_area_code, on),
        "parcels": parcels,
        "partner_units": list(case.partner_units.order_by("code")),
        "departments": [DEPARTMENTS.get(code, code) for code in case.departments],
        "repeat_of_reference": visible_reference(user, case.repeat_of_id),
        "above_banner": AboveBanner(case.above_banner).label if case.above_banner else "",
        "dues": dues,
        "deadlines": _deadlines(case, dues),
        "next_due_label": NEXT_DUE_LABELS.get(dues.next_due_kind or "", ""),
        "due_text": due_text(dues.state, dues.days_left),
        "petition_facts": _petition_facts(case),
        "mediation_facts": _mediation_facts(case, events, full),
        "legal_facts": _legal_facts(case),
        "result_facts": _result_facts(case),
        "supervision_acts": list(case.supervision_acts.select_related("unit").order_by("at", "id")),
        "follow_ups": list(case.follow_ups.order_by("at", "id")),
        "petitioners": petitioner_view(user, case),
        "accused_persons": accused_persons_view(user, case),
        "recusal_grounds": [(value, _(label)) for value, label in Recusal.Ground.choices],
        "recusal_error": recusal_error,
        "petitioners_withheld": profile is not None and profile.role == Role.PLANNER,
        "events": events,
        "attachments": files,
        "attachment_error": attachment_error,
        "actions": actions,
        "stale": stale,
        "stale_message": STALE_MESSAGE,
        "map_config": {
            "point": [round(case.location.x, 7), round(case.location.y, 7)],
            "parcels": [p["parcel"].code for p in parcels],
            "village": case.village_code,
            "villages": reverse("api-layer", args=["villages"]),
            "parcelsLayer": reverse("api-layer", args=["parcels"]),
        },
    }
    return render(request, "cases/detail.html", context, status=status)


def attachment_context(user, case: Case) -> dict | None:
    """The case page's files as `user` may see them (None: the section is not shown at all)."""
    view = attachment_view(user, case)
    if view is None:
        return None
    rows = []
    for item in visible_attachments(user, case, view):
        url = reverse("api-case-attachment", args=[case.reference, item.pk])
        rows.append(
            {
                "item": item,
                "url": url,
                "view_url": f"{url}?inline=1",
                "thumbnail": f"{url}?variant=thumbnail" if item.thumbnail_sha256 else "",
                "kind": _label(item.get_kind_display()),
                "point": (round(item.exif_point.x, 6), round(item.exif_point.y, 6)) if item.exif_point else None,
                "remove_url": reverse("case-attachment-remove", args=[case.reference, item.pk]),
            }
        )
    return {
        "rows": rows,
        "full": view == FULL,
        "may_add": may_attach(user, case),
        "kinds": [(value, _label(label)) for value, label in AttachmentKind.choices],
        "add_url": reverse("case-attachment-add", args=[case.reference]),
        "uploads_url": reverse("api-case-uploads", args=[case.reference]),
        "max_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
    }


def _parcels(case: Case, user) -> list[dict]:
    """The parcels the case concerns, each holder as `user` may see it (only for those who handle the case:
    a parcel pinpoints a household more closely than the coarse point others get)."""
    return [
        {"parcel": cp.parcel, "source": cp.get_source_display(), "holder": parcel_holder(user, cp.parcel)}
        for cp in CaseParcel.objects.filter(case=case).select_related("parcel").order_by("parcel__code")
    ]


def _day(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d")
    return value.isoformat()


def _rows(*pairs) -> list[tuple[str, str]]:
    """(label, text) rows, leaving out those with nothing to say."""
    return [(label, str(value)) for label, value in pairs if value not in (None, "", 0, False)]


def _deadlines(case: Case, dues) -> list[dict]:
    """The deadlines that exist for this case, each with what already happened against it."""
    notes = {
        "accept_by": _("已受理 %(day)s") % {"day": _day(case.accepted_at)} if case.accepted_at else "",
        "conclude_by": (
            _("已延期 %(days)s 日(批准人 %(by)s,告知 %(told)s):%(reason)s")
            % {
                "days": case.extension_days,
                "by": case.extension_approved_by,
                "told": _day(case.extension_told_at),
                "reason": case.extension_reason,
            }
            if case.extension_days
            else ""
        ),
        "review_decide_by": _("第 %(n)s 轮") % {"n": case.review_round} if case.review_round else "",
        "confirm_apply_by": _("已申请 %(day)s") % {"day": _day(case.confirmation_applied_at)}
        if case.confirmation_applied_at
        else "",
        "agenda_deadline": (
            _("联席会议 %(day)s · %(plan)s") % {"day": _day(case.agenda_date), "plan": case.agenda_plan}
            if case.agenda_date
            else ""
        ),
    }
    return [
        {"kind": kind, "label": label, "date": getattr(dues, kind), "note": notes.get(kind, "")}
        for kind, label in DEADLINE_ROWS
        if getattr(dues, kind) is not None
    ]


def _petition_facts(case: Case) -> list[tuple[str, str]]:
    if not (case.procedure == Procedure.PETITION or case.petition_route or case.review_round or case.served_at):
        return []
    review = ""
    if case.review_round:
        step = _("复查") if case.review_round == 1 else _("复核")
        review = _("第 %(n)s 轮(%(step)s),申请于 %(day)s") % {
            "n": case.review_round,
            "step": step,
            "day": _day(case.review_requested_at),
        }
        if case.review_external:
            review += _(",由上级(市)人民政府办理")
    return _rows(
        (_("办理途径(第31条)"), _label(case.get_petition_route_display())),
        (_("处理意见(第32条)"), _label(case.get_opinion_outcome_display())),
        (_("答复时间"), _day(case.replied_at)),
        (
            _("书面答复送达"),
            f"{_day(case.served_at)} · {_label(case.get_served_method_display())}" if case.served_at else "",
        ),
        (_("复查/复核"), review),
        (
            _("复查/复核结论"),
            f"{_label(case.get_review_outcome_display())} · {_day(case.review_decided_at)}"
            if case.review_outcome
            else "",
        ),
        (_("不予受理理由"), case.not_accepted_reason),
    )


def _mediation_facts(case: Case, events: list[dict], full: bool) -> list[tuple[str, str]]:
    sessions = [e for e in events if e["event"].action == "session"]
    if not (case.procedure == Procedure.MEDIATION or case.mediators or case.mediation_outcome or sessions):
        return []
    session_lines = "; ".join(f"{_day(e['event'].at)} {_session_mediators(e['event'], full)}".strip() for e in sessions)
    confirmation = ""
    if case.confirmation_ruled_at:
        confirmation = _("%(court)s %(number)s,申请 %(applied)s,裁定 %(ruled)s") % {
            "court": case.confirmation_court,
            "number": case.confirmation_number,
            "applied": _day(case.confirmation_applied_at),
            "ruled": _day(case.confirmation_ruled_at),
        }
    return _rows(
        (_("调解员"), case.mediators),
        (_("调解(共 %(n)s 次)") % {"n": len(sessions)}, session_lines),
        (_("调解结果"), _label(case.get_mediation_outcome_display())),
        (_("协议生效日期"), _day(case.agreement_at)),
        (_("司法确认"), confirmation),
    )


def _session_mediators(event, full: bool) -> str:
    """Who mediated a session: named people, so only for those who handle the case."""
    mediators = (event.changes.get("session") or {}).get("mediators", "")
    return mediators if full or not mediators else WITHHELD


def _legal_facts(case: Case) -> list[tuple[str, str]]:
    if not (case.procedure in LEGAL_PROCEDURES or case.legal_body or case.legal_number or case.filed_at):
        return []
    outcome = ""
    if case.legal_outcome:
        outcome = f"{_label(case.get_legal_outcome_display())} · {_day(case.legal_outcome_at)}"
    return _rows(
        (_("导入法定程序"), _day(case.led_into_at)),
        (_("办理机关"), case.legal_body),
        (_("案号/文号"), case.legal_number),
        (_("诉前调解开始"), _day(case.pre_mediation_at)),
        (_("立案/受理日期"), _day(case.filed_at)),
        (_("结案"), outcome),
    )


def _result_facts(case: Case) -> list[tuple[str, str]]:
    return _rows(
        (_("化解方式"), _label(case.get_resolution_method_display())),
        (_("结果"), case.outcome),
        (_("满意度(回访)"), _label(case.get_satisfaction_display())),
        (_("人大代表参与"), _("是") if case.deputies_reviewed else ""),
    )


def _area(model, code: str, on: dt.date):
    return model.objects.in_force(on).filter(code=code).first() if code else None


def _event_label(e) -> str:
    if e.action == "route" and ("petition_route" in e.changes or "led_into" in e.changes):
        return ART31_ROUTE_LABEL  # the Art. 31 route, not intake's routing
    return EVENT_LABELS.get(e.action, e.action)


def _events(case: Case, user, full: bool) -> list[dict]:
    """The history; reasons and the changes' free text and people only for those who handle the case."""
    return [
        {
            "event": e,
            "label": _event_label(e),
            "from": _(STATUS_LABELS[e.from_status]) if e.from_status in STATUS_LABELS else e.from_status,
            "to": _(STATUS_LABELS[e.to_status]) if e.to_status in STATUS_LABELS else e.to_status,
            "who": e.actor.get_username() if e.actor_id else _("系统"),
            "reason": e.reason if full else (WITHHELD if e.reason else ""),
            "changes": [
                _change(k, v)
                for k, v in changes_as_seen(visible_changes(user, e.changes), full).items()
                if k not in HIDDEN_CHANGES
            ],
        }
        for e in case.events.select_related("actor", "rule").order_by("at", "id")
    ]


def _field_label(name: str) -> str:
    if name in NOTE_LABELS:
        return NOTE_LABELS[name]
    try:
        return str(Case._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


def _shown(name: str, value) -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, dict):
        return " ".join(_shown(k, v) for k, v in value.items())
    if isinstance(value, str) and len(value) > 10 and value[4:5] == "-" and value[10:11] == "T":
        try:  # a moment stored as ISO 8601: shown in the banner's local time
            return timezone.localtime(dt.datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            pass
    if name == "missed" and isinstance(value, str) and value.partition(":")[0] in NEXT_DUE_LABELS:
        kind, _sep, day = value.partition(":")  # a supervision's missed deadline, "conclude_by:2026-10-19"
        return f"{NEXT_DUE_LABELS[kind]} {day}"
    label = CHOICE_LABELS.get(name, {}).get(value)
    return _(str(label)) if label else str(value)


def _change(name: str, value) -> str:
    label = _field_label(name)
    if isinstance(value, list) and len(value) == 2:
        return f"{label}: {_shown(name, value[0])} → {_shown(name, value[1])}"
    return f"{label}: {_shown(name, value)}"
