"""Unit queues (the village secretary's weekly and the township secretary's monthly review) and the
joint-meeting agenda (闭环议事). Queues come from clock.unit_queue, narrowed by access.visible_cases."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from geo_disputes.forms import QueueDateForm
from geo_disputes.models import Case, Unit
from geo_disputes.models.bounds import text_problem
from geo_disputes.models.cases import Status
from geo_disputes.services.cases.access import staff_profile, text_as_seen, visible_cases
from geo_disputes.services.cases.clock import (
    OPEN_STATUSES,
    ReviewPeriod,
    annotate_dues,
    local_today,
    next_joint_meeting,
    review_period_bounds,
    review_queue_period,
    unit_queue,
)
from geo_disputes.services.cases.supervision import supervised_cases, supervising_units
from geo_disputes.services.cases.units import tier_of_unit

from .cases import NEXT_DUE_LABELS, with_place_names

PERIOD_LABELS = {
    ReviewPeriod.WEEKLY: gettext_lazy("本周(村级每周理事)"),
    ReviewPeriod.MONTHLY: gettext_lazy("本月(乡镇及以上每月理事)"),
}
QUEUE_PAGE_SIZE = 100  # most urgent first; a committee's review rarely goes past the first page


def _date_param(request: HttpRequest) -> tuple[QueueDateForm, dt.date | None, int]:
    """The `date` asked for (None: the default day) and the page's status: 400 when it was refused
    (e.g. outside 1901–2200, where the period and meeting arithmetic would overflow), shown on the form."""
    form = QueueDateForm(request.GET or None)
    if not form.is_bound:
        return form, None, 200
    if not form.is_valid():
        return form, None, 400
    return form, form.cleaned_data.get("date"), 200


@login_required
def my_queue(request: HttpRequest) -> HttpResponse:
    """The user's own unit's queue; without a unit (banner admins), pick one of the units with open cases."""
    profile = staff_profile(request.user)
    if profile is not None and profile.unit_id:
        return redirect("queue-unit", unit_code=profile.unit.code)
    picked = request.GET.get("unit", "")
    if picked:
        # a code with "/", a NUL or any unknown one is no unit (and no lookup is made with a NUL)
        unit = None if text_problem(picked) else Unit.objects.filter(code=picked).first()
        if unit is None:
            return HttpResponseBadRequest(
                f"unit: 无此单位 / no such unit: {picked[:60]!r}", content_type="text/plain; charset=utf-8"
            )
        return redirect("queue-unit", unit_code=unit.code)
    units = (
        visible_cases(request.user)
        .filter(status__in=OPEN_STATUSES, unit__isnull=False)
        .values("unit__code", "unit__name", "unit__kind")
        .annotate(open_cases=Count("id"))
        .order_by("unit__code")
    )
    supervising = [(unit, len(supervised_cases(unit, request.user))) for unit in supervising_units(request.user)]
    return render(request, "cases/queue_pick.html", {"units": list(units), "supervising": supervising})


@login_required
def unit_queue_page(request: HttpRequest, unit_code: str) -> HttpResponse:
    """A unit's open cases for its review period, most urgent first (only units whose cases the user sees)."""
    unit = Unit.objects.filter(code=unit_code).first()
    if unit is None:
        raise Http404(_("无此单位"))
    profile = staff_profile(request.user)
    own = profile is not None and profile.unit_id == unit.pk
    keeps_its_list = unit in supervising_units(request.user)  # the bureau's list, kept by the banner admin
    if not (own or keeps_its_list or visible_cases(request.user, Case.objects.filter(unit=unit)).exists()):
        raise Http404(_("该单位的事项不在您的辖区"))
    form, on, status = _date_param(request)
    on = on or local_today()
    supervised = with_place_names(supervised_cases(unit, request.user, on))
    for case in supervised:
        case.next_due_label = NEXT_DUE_LABELS.get(case.next_due_kind or "", "")
    period = review_queue_period(tier_of_unit(unit))
    start, end = review_period_bounds(period, on)
    qs = visible_cases(request.user, unit_queue(unit, on)).annotate(
        person_shown=text_as_seen(request.user, "responsible_person")
    )
    page = Paginator(qs, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = with_place_names(list(page.object_list))
    for case in rows:
        case.next_due_label = NEXT_DUE_LABELS.get(case.next_due_kind or "", "")
    context = {
        "unit": unit,
        "own": own,
        "period": period,
        "period_label": PERIOD_LABELS[period],
        "start": start,
        "end": end,
        "on": on,
        "rows": rows,
        "page": page,
        "due_in_period": qs.filter(due_in_period=True).count(),
        "form": form,
        "supervised": supervised,
        "supervises": keeps_its_list or unit.kind == Unit.Kind.TOWNSHIP_COMMITTEE,
    }
    return render(request, "cases/queue.html", context, status=status)


@login_required
def agenda(request: HttpRequest) -> HttpResponse:
    """The joint meeting's agenda: cases listed for that meeting, and cases on the agenda (status
    on_agenda) since on or before it — grouped by responsible unit, with plan, person, deadline."""
    form, meeting, status = _date_param(request)
    today = local_today()
    meeting = meeting or next_joint_meeting(today - dt.timedelta(days=1))  # today's meeting is still "next"
    listed = Q(agenda_date=meeting) | Q(status=Status.ON_AGENDA, agenda_date__lte=meeting)
    qs = annotate_dues(visible_cases(request.user, Case.objects.filter(listed))).annotate(
        person_shown=text_as_seen(request.user, "responsible_person"),  # plan and person: handlers only
        plan_shown=text_as_seen(request.user, "agenda_plan"),
    )
    rows = with_place_names(list(qs.select_related("unit").order_by("unit__code", "agenda_deadline", "received_at")))
    for case in rows:
        case.agenda_overdue = (
            # the agreed deadline binds while the matter is on the agenda (as clock.next_due_kind)
            case.agenda_deadline is not None and case.agenda_deadline < today and case.status == Status.ON_AGENDA
        )
    context = {
        "meeting": meeting,
        "is_next": meeting == next_joint_meeting(today - dt.timedelta(days=1)),
        "previous_meeting": _previous_meeting(meeting),
        "following_meeting": next_joint_meeting(meeting),
        "rows": rows,
        "overdue": sum(1 for c in rows if c.agenda_overdue or c.due_state == "overdue"),
        "form": form,
        "today": today,
    }
    return render(request, "cases/agenda.html", context, status=status)


def _previous_meeting(meeting: dt.date) -> dt.date:
    """The meeting before `meeting` (the first Monday of the month before, or of this month)."""
    day = meeting.replace(day=1) - dt.timedelta(days=1)
    candidate = next_joint_meeting(day.replace(day=1) - dt.timedelta(days=1))
    this_month = next_joint_meeting(meeting.replace(day=1) - dt.timedelta(days=1))
    return this_month if this_month < meeting else candidate
