"""Case pages: intake form, filtered list (+ CSV export), case page with its workflow actions.

Thin views over the same services as the JSON API (geo_disputes.api.cases): every query starts
from access.visible_cases, an out-of-scope case is a 404, petitioners come only through
access.petitioner_view, and actions need access.can_act and go through workflow.apply.
"""

from __future__ import annotations

import csv
import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
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
from geo_disputes.models import Case, CaseParcel, Grid, MiningArea, Role, Township, Village
from geo_disputes.models.cases import Category, Channel, MiningRelation, PetitionKind, Status, Tier
from geo_disputes.services.access import can_act, parcel_holder, petitioner_view, staff_profile, visible_cases
from geo_disputes.services.case_queries import CaseFilter, filter_cases
from geo_disputes.services.clock import annotate_dues, due_dates, local_date
from geo_disputes.services.intake import IntakeError, open_case
from geo_disputes.services.routing import DEPARTMENTS
from geo_disputes.services.workflow import StaleEditError, WorkflowError, allowed_actions, apply

PAGE_SIZE = 50
STALE_MESSAGE = "此事项已被他人修改,请刷新 / changed by someone else, reload"

STATUS_LABELS = dict(Status.choices)
NEXT_DUE_LABELS = {
    "accept_by": "受理告知期限(条例第23条,15日)",
    "conclude_by": "办结期限(条例第34条,60日+延期)",
    "review_decide_by": "复查决定期限(条例第35条,30日)",
}
EVENT_LABELS = {
    **ACTION_LABELS,
    "report": "登记(说事) report",
    "route": "分流 route",
    "link_repeat": "关联重复信访 repeat",
    "group": "并入事项组 group",
}


def due_text(state: str, days_left: int | None) -> str:
    """The next deadline in words for a badge: 逾期3天 / 今日到期 / 剩5天."""
    if state == "done":
        return "—"
    if days_left is None:
        return ""
    if days_left < 0:
        return f"逾期{-days_left}天 overdue"
    if days_left == 0:
        return "今日到期 due today"
    return f"剩{days_left}天"


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
    """村民说事: the intake form → services.intake.open_case, errors on the field they name."""
    if not can_act(request.user, None):
        raise PermissionDenied("当前角色不能登记事项 / your role cannot register cases")
    status = 200
    if request.method == "POST":
        form = IntakeForm(request.POST)
        formset = PetitionerFormSet(request.POST, prefix="petitioners")
        if form.is_valid() and formset.is_valid():
            petitioners, rows = filled_petitioners(formset)
            try:
                case = open_case(form.intake_request(petitioners), actor=request.user)
            except IntakeError as exc:
                show_intake_error(exc, form, formset, rows)
            else:
                unit = case.unit.name if case.unit_id else "未找到责任单位 no unit"
                messages.success(
                    request,
                    f"已登记 {case.reference}:分流至{case.get_tier_display()} · {unit}。理由:{case.routing_reason}",
                )
                if case.repeat_of_id:
                    messages.info(request, f"重复信访:已关联正在办理的 {case.repeat_of.reference},不重复计数")
                return redirect("case-detail", reference=case.reference)
        status = 400
    else:
        form = IntakeForm(initial=_prefill(request.GET))
        formset = PetitionerFormSet(prefix="petitioners")
    config = {
        "villages": reverse("api-layer", args=["villages"]),
        "locate": reverse("api-locate"),
    }
    return render(request, "cases/new.html", {"form": form, "formset": formset, "map_config": config}, status=status)


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
    qs = annotate_dues(filter_cases(visible_cases(user), flt))
    return qs.select_related("unit").order_by("-received_at", "-id")


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET or None)
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
    a description can name people, so it stays on the case page, behind access.petitioner rules."""
    form = CaseFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return HttpResponseBadRequest(
            f"筛选条件有误 / invalid filter: {form.errors.as_text()}", content_type="text/plain"
        )
    qs = _filtered(request.user, form.case_filter())
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
            c.responsible_person,
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
        yield writer.writerow([_cell(v) for v in row])


def _cell(value):
    """Text starting like a formula is prefixed with ' so a spreadsheet shows it as text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# Case page and actions ------------------------------------------------------------------------


def _visible_case(user, reference: str) -> Case:
    case = (
        visible_cases(user)
        .select_related("unit", "routing_rule", "accused_unit", "group", "repeat_of")
        .filter(reference=reference)
        .first()
    )
    if case is None:
        raise Http404("无此事项或不在您的辖区 / no such case in your scope")
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
        raise PermissionDenied("当前角色无权办理此事项 / your role cannot act on this case")
    action = request.POST.get("action", "")
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        messages.error(request, f"未知操作 unknown action {action!r}")
        return redirect("case-detail", reference=case.reference)
    form = form_class(request.POST, auto_id=f"id_{action}_%s")
    if not form.is_valid():
        return _render_case(request, case, forms={action: form}, status=400)
    before = case.get_status_display()
    try:
        case = apply(case, action, request.user, form.cleaned_data["version"], **form.params())
    except StaleEditError as exc:
        current = _visible_case(request.user, reference)
        # The user's entries come back, now against the version they can see on the page.
        retry = form_class(initial={**form.cleaned_data, "version": current.version}, auto_id=f"id_{action}_%s")
        return _render_case(request, current, forms={action: retry}, stale=str(exc), status=409)
    except WorkflowError as exc:
        field = exc.field if exc.field in form.fields and exc.field not in ("action", "version") else None
        form.add_error(field, str(exc))
        return _render_case(request, case, forms={action: form}, status=400)
    messages.success(request, f"{ACTION_LABELS[action]}:{before} → {case.get_status_display()}")
    return redirect("case-detail", reference=case.reference)


def _render_case(request, case: Case, *, forms=None, stale: str = "", status: int = 200) -> HttpResponse:
    user = request.user
    on = local_date(case.received_at)
    dues = due_dates(case)
    forms = forms or {}
    actions = []
    if can_act(user, case):
        for action in allowed_actions(case.status):
            form = forms.get(action) or ACTION_FORMS[action](
                initial={"action": action, "version": case.version}, auto_id=f"id_{action}_%s"
            )
            actions.append({"action": action, "label": ACTION_LABELS[action], "form": form, "open": action in forms})
    profile = staff_profile(user)
    parcels = [
        {"parcel": cp.parcel, "source": cp.get_source_display(), "holder": parcel_holder(user, cp.parcel)}
        for cp in CaseParcel.objects.filter(case=case).select_related("parcel").order_by("parcel__code")
    ]
    context = {
        "case": case,
        "township": _area(Township, case.township_code, on),
        "village": _area(Village, case.village_code, on),
        "grid": _area(Grid, case.grid_code, on),
        "mining_area": _area(MiningArea, case.mining_area_code, on),
        "parcels": parcels,
        "partner_units": list(case.partner_units.order_by("code")),
        "departments": [DEPARTMENTS.get(code, code) for code in case.departments],
        "dues": dues,
        "next_due_label": NEXT_DUE_LABELS.get(dues.next_due_kind or "", ""),
        "due_text": due_text(dues.state, dues.days_left),
        "petitioners": petitioner_view(user, case),
        "petitioners_withheld": profile is not None and profile.role == Role.PLANNER,
        "events": _events(case),
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


def _area(model, code: str, on: dt.date):
    return model.objects.in_force(on).filter(code=code).first() if code else None


def _events(case: Case) -> list[dict]:
    return [
        {
            "event": e,
            "label": EVENT_LABELS.get(e.action, e.action),
            "from": STATUS_LABELS.get(e.from_status, e.from_status),
            "to": STATUS_LABELS.get(e.to_status, e.to_status),
            "who": e.actor.get_username() if e.actor_id else "系统 system",
            "changes": [_change(k, v) for k, v in e.changes.items() if k != "status"],
        }
        for e in case.events.select_related("actor", "rule").order_by("at", "id")
    ]


def _change(name: str, value) -> str:
    if isinstance(value, list) and len(value) == 2:
        old, new = ("—" if v in (None, "") else v for v in value)
        return f"{name}: {old} → {new}"
    return f"{name}: {value}"
