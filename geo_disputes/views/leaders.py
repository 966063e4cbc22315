"""Leaders' cases (包案) per leader, the calendar of leaders' receptions and visits, and the joint meeting's
minutes: thin over services/cases/leaders.py and minutes.py. A refusal of the role is the Chinese 403 page;
bad input re-renders the form with the field named (400); every list goes through access.visible_cases."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from geo_disputes.forms import LeaderCaseForm, LeaderCloseForm, MonthForm, QueueDateForm, VisitForm, VisitOutcomeForm
from geo_disputes.models import LeaderCase, LeaderVisit
from geo_disputes.models.bounds import text_problem
from geo_disputes.services.cases import leaders, minutes
from geo_disputes.services.cases.access import visible_cases
from geo_disputes.services.cases.clock import local_today, next_joint_meeting
from geo_disputes.services.cases.leaders import LeaderError
from geo_disputes.services.cases.notice_files import to_docx
from geo_disputes.templatetags.bilingual import one_language

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _refused(form, refusal: LeaderError) -> None:
    form.add_error(refusal.field if refusal.field in form.fields else None, one_language(str(refusal)))


@login_required
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """GET: the 包案 register per leader (overdue plans flagged). POST: a leader takes on a case."""
    may = leaders.may_register(request.user)
    form, status = LeaderCaseForm(), 200
    if request.method == "POST":
        if not may:
            raise PermissionDenied(_("当前角色不能登记领导包案"))
        form = LeaderCaseForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            case = visible_cases(request.user).filter(reference=data["reference"].strip()).first()
            try:
                if case is None:
                    raise LeaderError("无此事项或不在您的辖区 / no such case in your scope", "reference")
                leaders.take_on(
                    case,
                    request.user,
                    leader_name=data["leader_name"],
                    leader_post=data["leader_post"],
                    plan=data["plan"],
                    deadline=data["deadline"],
                )
            except LeaderError as refusal:
                _refused(form, refusal)
            else:
                messages.success(request, _("已登记包案:%(ref)s") % {"ref": case.reference})
                return redirect("leader-register", permanent=False)
        status = 400
    leader = request.GET.get("leader", "")[:50]
    if text_problem(leader):  # a NUL or a lone surrogate names no leader
        leader, status = "", 400
    today = local_today()
    groups = leaders.leader_register(request.user, today, leader=leader, open_only=request.GET.get("open") == "1")
    context = {
        "groups": groups,
        "form": form,
        "may_register": may,
        "close_form": LeaderCloseForm(),
        "today": today,
        "leader": leader,
        "overdue": sum(g.overdue for g in groups),
    }
    return render(request, "leaders/register.html", context, status=status)


@login_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    """End a 包案 (resolved, or ended unresolved) with its outcome."""
    record = LeaderCase.objects.filter(pk=pk, case__in=visible_cases(request.user)).select_related("case").first()
    if record is None:
        raise Http404(_("无此包案"))
    if not leaders.may_register(request.user, record.case):
        raise PermissionDenied(_("当前角色不能结束此包案"))
    form = LeaderCloseForm(request.POST)
    try:
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise LeaderError(f"{form.fields[field].label}: {' '.join(errors)}", field)
        leaders.close_leader_case(record, request.user, **form.cleaned_data)
    except LeaderError as refusal:
        messages.error(request, f"{record.case.reference}: {one_language(str(refusal))}")
    else:
        messages.success(request, _("包案已结束:%(ref)s") % {"ref": record.case.reference})
    response = redirect("leader-register")
    response.status_code = 303
    return response


@login_required
@require_http_methods(["GET", "POST"])
def calendar(request: HttpRequest) -> HttpResponse:
    """GET: the month's receptions and visits (?month=YYYY-MM). POST: schedule one."""
    may = leaders.may_register(request.user)
    month_form = MonthForm(request.GET or None)
    today = local_today()
    status = 200
    first = today.replace(day=1)
    if month_form.is_bound:
        if month_form.is_valid():
            first = month_form.cleaned_data["month"] or first
        else:
            status = 400
    form = VisitForm(initial={"on": today})
    if request.method == "POST":
        if not may:
            raise PermissionDenied(_("当前角色不能登记领导接访"))
        form = VisitForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                visit = leaders.schedule_visit(
                    request.user,
                    kind=data["kind"],
                    on=data["on"],
                    starts=data["starts"],
                    place=data["place"],
                    leader_name=data["leader_name"],
                    leader_post=data["leader_post"],
                    township_code=data["township_code"],
                    references=form.reference_list(),
                )
            except LeaderError as refusal:
                _refused(form, refusal)
            else:
                messages.success(request, _("已安排:%(day)s") % {"day": visit.on.isoformat()})
                response = redirect(f"{request.path}?month={visit.on:%Y-%m}")
                response.status_code = 303
                return response
        status = 400
    start, end = leaders.month_bounds(first.year, first.month)
    views = leaders.visits_in(request.user, start, end, today)
    previous = (start - dt.timedelta(days=1)).replace(day=1)
    following = end + dt.timedelta(days=1)
    context = {
        "visits": views,
        "month": start,
        "previous": previous if previous.year >= 1901 else None,
        "following": following if following.year <= 2200 else None,
        "form": form,
        "month_form": month_form,
        "may_register": may,
        "kinds": dict(LeaderVisit.Kind.choices),
    }
    return render(request, "leaders/calendar.html", context, status=status)


@login_required
@require_POST
def visit_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    """After a visit: what came of it for one case on its list."""
    visit = leaders.visible_visits(request.user).filter(pk=pk).first()
    if visit is None:
        raise Http404(_("无此接访安排"))
    if not leaders.may_register(request.user):
        raise PermissionDenied(_("当前角色不能登记接访结果"))
    form = VisitOutcomeForm(request.POST)
    try:
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise LeaderError(f"{form.fields[field].label or field}: {' '.join(errors)}", field)
        leaders.record_visit_outcome(
            visit, form.cleaned_data["reference"], request.user, outcome=form.cleaned_data["outcome"]
        )
    except LeaderError as refusal:
        messages.error(request, one_language(str(refusal)))
    else:
        messages.success(request, _("已登记接访结果"))
    response = redirect(f"{reverse('visit-calendar')}?month={visit.on:%Y-%m}#visit-{visit.pk}")
    response.status_code = 303
    return response


def _meeting(request: HttpRequest) -> tuple[QueueDateForm, dt.date, int]:
    form = QueueDateForm(request.GET or None)
    today = local_today()
    default = next_joint_meeting(today - dt.timedelta(days=1))
    if form.is_bound and not form.is_valid():
        return form, default, 400
    day = form.cleaned_data.get("date") if form.is_bound else None
    return form, day or default, 200


@login_required
def agenda_minutes(request: HttpRequest) -> HttpResponse:
    """The joint meeting's minutes from its agenda, with each case's 交办单 when issued."""
    form, meeting, status = _meeting(request)
    today = local_today()
    items = minutes.minute_items(request.user, meeting, today)
    context = {"form": form, "meeting": meeting, "items": items, "today": today}
    return render(request, "cases/minutes.html", context, status=status)


@login_required
def agenda_minutes_docx(request: HttpRequest) -> HttpResponse:
    """The minutes as a Word file, in the notices' layout (notice_files.to_docx)."""
    form, meeting, status = _meeting(request)
    if status != 200:
        return HttpResponse(_("日期格式不对"), status=400, content_type="text/plain; charset=utf-8")
    draft = minutes.minutes_draft(request.user, meeting, local_today())
    response = HttpResponse(to_docx(draft), content_type=DOCX)
    response["Content-Disposition"] = f'attachment; filename="minutes-{meeting.isoformat()}.docx"'
    response["Cache-Control"] = "private, no-store"
    return response
