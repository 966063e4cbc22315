"""The statutory clock (信访工作条例): every deadline is derived here from the facts on a case, never stored.

Days are calendar days in Asia/Shanghai. The day a fact happens is day 0, and a deadline is
a *date*: the whole of that day still counts. Received on 1 March (day 0) → acceptance is due
on 16 March (day 15) and the case is overdue from 17 March (day 16). Likewise conclusion is due
on day 60 after acceptance (overdue on day 61), moved later by the one extension (≤ 30 days),
and a review may be requested up to day 30 after the reply (day 31 is too late).

Two paths give the same answer: `due_dates` for one case (Python) and `annotate_dues` for a
queryset (SQL, so lists and `tick` need no Python loop over thousands of cases). A test holds
them equal over a spread of cases and dates.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.db.models import Case as SqlCase
from django.db.models import CharField, DateField, F, Func, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from geo_disputes.models import Case, Unit
from geo_disputes.models.cases import Status, Tier
from geo_disputes.services.units import tier_of_unit

STATUTE_TZ = ZoneInfo("Asia/Shanghai")

ACCEPTANCE_DAYS = 15  # Art. 23: tell the petitioner within 15 days of receipt whether the matter is accepted
CONCLUSION_DAYS = 60  # Art. 34: conclude within 60 days of acceptance
MAX_EXTENSION_DAYS = 30  # Art. 34: one extension of at most 30 days, approved, with the reason told
REVIEW_REQUEST_DAYS = 30  # Art. 35: review may be requested within 30 days of the reply
REVIEW_DECISION_DAYS = 30  # Art. 35–36: review (and re-review) decided within 30 days of the request

DUE_SOON_DAYS = 3  # "due soon" and yellow supervision start this many days before the deadline
YELLOW_OVERDUE_DAYS = 7  # overdue by 1–7 days: yellow; by more: red (listed supervision, Art. 39–40)

AWAITING_ACCEPTANCE = frozenset({Status.REPORTED, Status.TRANSFERRED})
IN_PROGRESS = frozenset({Status.ACCEPTED, Status.IN_HANDLING, Status.ON_AGENDA, Status.REVIEW_REQUESTED})
OPEN_STATUSES = AWAITING_ACCEPTANCE | IN_PROGRESS


class DueKind(StrEnum):
    """Which of the body's statutory deadlines is the next one."""

    ACCEPT_BY = "accept_by"
    CONCLUDE_BY = "conclude_by"
    REVIEW_DECIDE_BY = "review_decide_by"


DEADLINE_LABELS: dict[str, str] = {
    DueKind.ACCEPT_BY: f"acceptance decision (条例 Art. 23: {ACCEPTANCE_DAYS} days from receipt)",
    DueKind.CONCLUDE_BY: f"conclusion (条例 Art. 34: {CONCLUSION_DAYS} days from acceptance, plus any extension)",
    DueKind.REVIEW_DECIDE_BY: f"review decision (条例 Art. 35: {REVIEW_DECISION_DAYS} days from the request)",
}


class DueState(StrEnum):
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    DONE = "done"


class Supervision(StrEnum):
    NONE = ""
    YELLOW = "yellow"
    RED = "red"


class ReviewPeriod(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True)
class Dues:
    """The derived deadlines of one case on one day.

    `next_due` is the body's next statutory deadline (None once the matter is replied to,
    rejected or closed: then `state` is "done"). `days_left` is negative when overdue.
    Supervision: yellow = due within DUE_SOON_DAYS or overdue by at most YELLOW_OVERDUE_DAYS;
    red = overdue by more; "" otherwise. `review_request_by` is the petitioner's window,
    shown for information; it never makes the body overdue.
    """

    accept_by: dt.date
    conclude_by: dt.date | None
    review_request_by: dt.date | None
    review_decide_by: dt.date | None
    next_due_kind: DueKind | None
    next_due: dt.date | None
    state: DueState
    days_left: int | None
    supervision: Supervision


def local_date(moment: dt.datetime) -> dt.date:
    """The Asia/Shanghai calendar day of an aware datetime."""
    return moment.astimezone(STATUTE_TZ).date()


def local_today() -> dt.date:
    return local_date(timezone.now())


def _plus(moment: dt.datetime | None, days: int) -> dt.date | None:
    return None if moment is None else local_date(moment) + dt.timedelta(days=days)


def next_due_kind(status: str, review_round: int, accepted: bool) -> DueKind | None:
    """Which deadline binds the body now.

    Awaiting acceptance: the acceptance decision. In progress: during a review its 30-day
    decision, else conclusion; an in-progress case whose acceptance was never recorded is
    held to the acceptance deadline, so it cannot slip off every list.
    """
    if status in AWAITING_ACCEPTANCE:
        return DueKind.ACCEPT_BY
    if status in IN_PROGRESS:
        if review_round > 0:
            return DueKind.REVIEW_DECIDE_BY
        return DueKind.CONCLUDE_BY if accepted else DueKind.ACCEPT_BY
    return None


def classify(next_kind: DueKind | None, days_left: int | None) -> tuple[DueState, Supervision]:
    """Due state and supervision level from the days left to the next deadline."""
    if next_kind is None:
        return DueState.DONE, Supervision.NONE
    if days_left is None:
        return DueState.ON_TIME, Supervision.NONE
    if days_left < 0:
        state = DueState.OVERDUE
    elif days_left <= DUE_SOON_DAYS:
        state = DueState.DUE_SOON
    else:
        state = DueState.ON_TIME
    if days_left < -YELLOW_OVERDUE_DAYS:
        return state, Supervision.RED
    if days_left <= DUE_SOON_DAYS:
        return state, Supervision.YELLOW
    return state, Supervision.NONE


def due_dates(case: Case, today: dt.date | None = None) -> Dues:
    """The deadlines of `case` as they stand on `today` (Asia/Shanghai; today when not given)."""
    today = today or local_today()
    accept_by = _plus(case.received_at, ACCEPTANCE_DAYS)
    conclude_by = _plus(case.accepted_at, CONCLUSION_DAYS + case.extension_days)
    review_request_by = _plus(case.replied_at, REVIEW_REQUEST_DAYS)
    review_decide_by = _plus(case.review_requested_at, REVIEW_DECISION_DAYS)
    kind = next_due_kind(case.status, case.review_round, case.accepted_at is not None)
    next_due = {
        DueKind.ACCEPT_BY: accept_by,
        DueKind.CONCLUDE_BY: conclude_by,
        DueKind.REVIEW_DECIDE_BY: review_decide_by,
        None: None,
    }[kind]
    days_left = None if next_due is None else (next_due - today).days
    state, supervision = classify(kind, days_left)
    return Dues(
        accept_by=accept_by,
        conclude_by=conclude_by,
        review_request_by=review_request_by,
        review_decide_by=review_decide_by,
        next_due_kind=kind,
        next_due=next_due,
        state=state,
        days_left=days_left,
        supervision=supervision,
    )


def _sql_plus(date_expr, *days) -> Func:
    """`date + n [+ m]` in SQL: PostgreSQL adds whole days to a date."""
    return Func(date_expr, *days, template="(%(expressions)s)", arg_joiner=" + ", output_field=DateField())


def _sql_local_date(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=STATUTE_TZ)


def annotate_dues(qs: QuerySet[Case], today: dt.date | None = None) -> QuerySet[Case]:
    """`qs` with the fields of `Dues` computed in SQL, for lists and bulk supervision.

    Annotations: accept_by, conclude_by, review_request_by, review_decide_by, next_due_kind,
    next_due, days_left, due_state (= Dues.state) and supervision — the same values
    `due_dates` gives for each row.
    """
    today = today or local_today()
    accept_by = _sql_plus(_sql_local_date("received_at"), Value(ACCEPTANCE_DAYS))
    conclude_by = _sql_plus(_sql_local_date("accepted_at"), Value(CONCLUSION_DAYS), F("extension_days"))
    review_decide_by = _sql_plus(_sql_local_date("review_requested_at"), Value(REVIEW_DECISION_DAYS))
    # The branches of `next_due_kind`, in the same order.
    branches = (
        (Q(status__in=AWAITING_ACCEPTANCE), DueKind.ACCEPT_BY, accept_by),
        (Q(status__in=IN_PROGRESS, review_round__gt=0), DueKind.REVIEW_DECIDE_BY, review_decide_by),
        (Q(status__in=IN_PROGRESS, accepted_at__isnull=False), DueKind.CONCLUDE_BY, conclude_by),
        (Q(status__in=IN_PROGRESS), DueKind.ACCEPT_BY, accept_by),
    )
    qs = qs.annotate(
        accept_by=accept_by,
        conclude_by=conclude_by,
        review_request_by=_sql_plus(_sql_local_date("replied_at"), Value(REVIEW_REQUEST_DAYS)),
        review_decide_by=review_decide_by,
        next_due_kind=SqlCase(
            *(When(condition, then=Value(kind.value)) for condition, kind, _ in branches),
            default=Value(None),
            output_field=CharField(),
        ),
        next_due=SqlCase(
            *(When(condition, then=due) for condition, _, due in branches),
            default=Value(None),
            output_field=DateField(),
        ),
    )
    qs = qs.annotate(
        days_left=Func(
            F("next_due"), Value(today), template="(%(expressions)s)", arg_joiner=" - ", output_field=IntegerField()
        )
    )
    return qs.annotate(
        due_state=SqlCase(
            When(next_due_kind__isnull=True, then=Value(DueState.DONE.value)),
            When(days_left__isnull=True, then=Value(DueState.ON_TIME.value)),
            When(days_left__lt=0, then=Value(DueState.OVERDUE.value)),
            When(days_left__lte=DUE_SOON_DAYS, then=Value(DueState.DUE_SOON.value)),
            default=Value(DueState.ON_TIME.value),
            output_field=CharField(),
        ),
        supervision=SqlCase(
            When(days_left__lt=-YELLOW_OVERDUE_DAYS, then=Value(Supervision.RED.value)),
            When(days_left__lte=DUE_SOON_DAYS, then=Value(Supervision.YELLOW.value)),
            default=Value(Supervision.NONE.value),
            output_field=CharField(),
        ),
    )


def next_joint_meeting(after: dt.date) -> dt.date:
    """The banner joint meeting (信访工作联席会议) after `after`: it sits on the first Monday of each month.

    Strictly after, so a case found overdue on a meeting day goes to the next meeting, whose
    agenda is still open.
    """

    def first_monday(year: int, month: int) -> dt.date:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(7 - first.weekday()) % 7)

    this_month = first_monday(after.year, after.month)
    if this_month > after:
        return this_month
    if after.month == 12:
        return first_monday(after.year + 1, 1)
    return first_monday(after.year, after.month + 1)


def review_queue_period(tier: str) -> ReviewPeriod:
    """How often a tier goes through its queue: the village secretary weekly, everyone above monthly.

    The seed names the weekly village and monthly township cadence; the banner's joint
    meeting is monthly, and the mining court is held to the township's rhythm.
    """
    return ReviewPeriod.WEEKLY if tier == Tier.VILLAGE else ReviewPeriod.MONTHLY


def review_period_bounds(period: ReviewPeriod, on: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the review period containing `on` (weeks run Monday–Sunday)."""
    if period == ReviewPeriod.WEEKLY:
        start = on - dt.timedelta(days=on.weekday())
        return start, start + dt.timedelta(days=6)
    last = calendar.monthrange(on.year, on.month)[1]
    return on.replace(day=1), on.replace(day=last)


def unit_queue(unit: Unit, on: dt.date | None = None) -> QuerySet[Case]:
    """The open cases a unit goes through at its review on `on`, most urgent first.

    Every open case is reviewed each period; `due_in_period` marks those whose next deadline
    falls by the end of the period (overdue ones included), which the review must settle.
    """
    on = on or local_today()
    _, end = review_period_bounds(review_queue_period(tier_of_unit(unit)), on)
    qs = annotate_dues(Case.objects.filter(unit=unit, status__in=OPEN_STATUSES), on)
    return qs.annotate(
        due_in_period=SqlCase(
            When(next_due__lte=end, then=Value(True)),
            default=Value(False),
        )
    ).order_by(F("next_due").asc(nulls_first=True), "received_at", "id")


def deadline_key(kind: DueKind | str, due: dt.date) -> str:
    """A missed deadline as text ("conclude_by:2026-05-01"): escalation records it so it acts once per deadline."""
    return f"{kind}:{due.isoformat()}"
