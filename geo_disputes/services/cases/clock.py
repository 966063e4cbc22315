"""The statutory clock (信访工作条例): every deadline is derived here from the facts on a case, never stored.

Only the petition procedure runs these clocks. People's mediation has no statutory handling
deadline (its one date is the parties' 30 days to apply for judicial confirmation, shown for
information), and the courts, arbitration, administrative and discipline procedures follow their
own law: the system records their facts and runs no petition clock on them (诉访分离, Art. 28).
A joint-meeting deadline (议事) binds whatever the procedure. A repeat petition runs no clock.

Counting (民法典 Arts. 201, 203): the day a fact happens is day 0 and a deadline is a date whose
whole day still counts; when the last day is a rest day the period ends on the next working day
(services.cases.workdays: the State Council's holidays and make-up working days). So:
* acceptance: 15 days from **the holder's own receipt** — a transfer or an assignment starts the
  receiving body's own 15 days (Art. 23); a forwarded or assigned matter may be objected to within
  5 working days of that receipt (`object_by`);
* conclusion of a handling-opinion matter: 60 days from acceptance, plus one extension ≤ 30 days
  (Art. 34);
* review / re-review: requested within 30 days of **service of the written reply**, decided within
  30 days of the request (Arts. 35–36).

Two paths give the same answer: `due_dates` for one case (Python) and `annotate_dues` for a
queryset (SQL, reading the CalendarDay table through gd_roll_working / gd_add_working), so lists
and the daily supervision need no Python loop over thousands of cases. A test holds them equal.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.db.models import Case as SqlCase
from django.db.models import CharField, DateField, F, Func, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from geo_disputes.models import Case, Unit
from geo_disputes.models.cases import Procedure, Status, Tier
from geo_disputes.services.cases.units import tier_of_unit
from geo_disputes.services.cases.workdays import add_working_days, roll_to_working_day

STATUTE_TZ = ZoneInfo("Asia/Shanghai")

ACCEPTANCE_DAYS = 15  # Art. 23: tell the petitioner within 15 days of the holder's receipt whether it accepts
OBJECTION_WORKING_DAYS = 5  # Art. 23: a forwarded/assigned matter outside the remit: object within 5 working days
CONCLUSION_DAYS = 60  # Art. 34: conclude within 60 days of acceptance
MAX_EXTENSION_DAYS = 30  # Art. 34: one extension of at most 30 days, approved before expiry, the reason told
REVIEW_REQUEST_DAYS = 30  # Art. 35: review may be requested within 30 days of receiving the written reply
REVIEW_DECISION_DAYS = 30  # Art. 35–36: review (and re-review) decided within 30 days of the request
CONFIRMATION_DAYS = 30  # 人民调解法 Art. 33: apply for judicial confirmation within 30 days of the agreement
MAX_REVIEW_ROUNDS = 2  # review (复查) then re-review (复核); then the same request is not accepted again

DUE_SOON_DAYS = 3  # "due soon" and yellow supervision start this many days before the deadline
YELLOW_OVERDUE_DAYS = 7  # overdue by 1–7 days: yellow; by more: red

AWAITING_ACCEPTANCE = frozenset({Status.REPORTED, Status.TRANSFERRED})
HANDLING = frozenset({Status.ACCEPTED, Status.IN_HANDLING, Status.ON_AGENDA, Status.REVIEW_REQUESTED})
IN_PROGRESS = HANDLING | {Status.LED_INTO, Status.FILED, Status.MEDIATION_FAILED}
OPEN_STATUSES = AWAITING_ACCEPTANCE | IN_PROGRESS


class DueKind(StrEnum):
    """Which deadline binds the holder now."""

    ACCEPT_BY = "accept_by"
    CONCLUDE_BY = "conclude_by"
    REVIEW_DECIDE_BY = "review_decide_by"
    AGENDA_DEADLINE = "agenda_deadline"


DEADLINE_LABELS: dict[str, str] = {
    DueKind.ACCEPT_BY: f"受理告知(条例第23条:本单位收到之日起{ACCEPTANCE_DAYS}日内) / acceptance (Art. 23)",
    DueKind.CONCLUDE_BY: f"办结(条例第34条:受理之日起{CONCLUSION_DAYS}日,含延期) / conclusion (Art. 34)",
    DueKind.REVIEW_DECIDE_BY: f"复查/复核决定(条例第35条:收到请求之日起{REVIEW_DECISION_DAYS}日) / review decision",
    DueKind.AGENDA_DEADLINE: "联席会议议定期限 / the joint meeting's deadline",
}


class DueState(StrEnum):
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    DONE = "done"
    NOT_TIMED = "not_timed"  # open, but its procedure sets no deadline the holder can miss


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

    `next_due` is the holder's next deadline (None when nothing is due: then `state` is "done",
    or "not_timed" for an open matter whose procedure sets no deadline). `days_left` is negative
    when overdue. `review_request_by`, `object_by` and `confirm_apply_by` are the petitioner's and the
    holder's windows, shown for information; they never make the holder overdue.
    """

    accept_by: dt.date | None
    object_by: dt.date | None
    conclude_by: dt.date | None
    review_request_by: dt.date | None
    review_decide_by: dt.date | None
    confirm_apply_by: dt.date | None
    agenda_deadline: dt.date | None
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


def period_end(start: dt.date | None, days: int) -> dt.date | None:
    """The last day of a period of `days` days counted from `start` (day 0), moved off a rest day."""
    return None if start is None else roll_to_working_day(start + dt.timedelta(days=days))


def holder_receipt(case: Case) -> dt.datetime:
    """When the unit holding the case received it: its own receipt after a transfer, else the intake."""
    return case.holder_received_at or case.received_at


def classify(next_kind: DueKind | None, days_left: int | None, open_: bool = False) -> tuple[DueState, Supervision]:
    """Due state and supervision colour from the days left to the next deadline."""
    if next_kind is None:
        return (DueState.NOT_TIMED if open_ else DueState.DONE), Supervision.NONE
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


def next_due_kind(case: Case) -> DueKind | None:
    """Which deadline binds the holder now; the branches of `annotate_dues`, in the same order."""
    status = case.status
    if status == Status.ON_AGENDA and case.agenda_deadline is not None:
        return DueKind.AGENDA_DEADLINE
    if case.procedure != Procedure.PETITION or status == Status.REPEAT:
        return None
    if status in AWAITING_ACCEPTANCE:
        return DueKind.ACCEPT_BY
    if status in HANDLING and case.review_round > 0:
        return None if case.review_external else DueKind.REVIEW_DECIDE_BY
    if status in HANDLING:
        return DueKind.CONCLUDE_BY if case.accepted_at is not None else DueKind.ACCEPT_BY
    return None


def due_dates(case: Case, today: dt.date | None = None) -> Dues:
    """The deadlines of `case` as they stand on `today` (Asia/Shanghai; today when not given)."""
    today = today or local_today()
    petition = case.procedure == Procedure.PETITION and case.status != Status.REPEAT
    receipt = local_date(holder_receipt(case))
    accept_by = period_end(receipt, ACCEPTANCE_DAYS) if petition else None
    object_by = (
        add_working_days(receipt, OBJECTION_WORKING_DAYS)
        if case.forwarded_by_id is not None and case.status != Status.REPEAT
        else None
    )
    accepted = local_date(case.accepted_at) if case.accepted_at else None
    conclude_by = period_end(accepted, CONCLUSION_DAYS + case.extension_days) if petition else None
    served = local_date(case.served_at) if case.served_at else None
    review_request_by = (
        period_end(served, REVIEW_REQUEST_DAYS) if petition and case.review_round < MAX_REVIEW_ROUNDS else None
    )
    requested = local_date(case.review_requested_at) if case.review_requested_at else None
    review_decide_by = period_end(requested, REVIEW_DECISION_DAYS) if petition and case.review_round > 0 else None
    confirm_apply_by = (
        period_end(case.agreement_at, CONFIRMATION_DAYS) if case.procedure == Procedure.MEDIATION else None
    )
    kind = next_due_kind(case)
    next_due = {
        DueKind.ACCEPT_BY: accept_by,
        DueKind.CONCLUDE_BY: conclude_by,
        DueKind.REVIEW_DECIDE_BY: review_decide_by,
        DueKind.AGENDA_DEADLINE: case.agenda_deadline,
        None: None,
    }[kind]
    days_left = None if next_due is None else (next_due - today).days
    state, supervision = classify(kind, days_left, case.status in OPEN_STATUSES)
    return Dues(
        accept_by=accept_by,
        object_by=object_by,
        conclude_by=conclude_by,
        review_request_by=review_request_by,
        review_decide_by=review_decide_by,
        confirm_apply_by=confirm_apply_by,
        agenda_deadline=case.agenda_deadline,
        next_due_kind=kind,
        next_due=next_due,
        state=state,
        days_left=days_left,
        supervision=supervision,
    )


def _sql_plus(date_expr, *days) -> Func:
    """`date + n [+ m]` in SQL: PostgreSQL adds whole days to a date."""
    return Func(date_expr, *days, template="(%(expressions)s)", arg_joiner=" + ", output_field=DateField())


def _sql_period_end(date_expr, *days) -> Func:
    """`period_end` in SQL: the day `days` after, moved to the next working day (CalendarDay)."""
    return Func(_sql_plus(date_expr, *days), function="gd_roll_working", output_field=DateField())


def _sql_local_date(field) -> TruncDate:
    return TruncDate(field, tzinfo=STATUTE_TZ)


def annotate_dues(qs: QuerySet[Case], today: dt.date | None = None) -> QuerySet[Case]:
    """`qs` with the fields of `Dues` computed in SQL, for lists and the daily supervision.

    Annotations: accept_by, object_by, conclude_by, review_request_by, review_decide_by,
    confirm_apply_by, next_due_kind, next_due, days_left, due_state (= Dues.state) and
    supervision — the same values `due_dates` gives for each row.
    """
    today = today or local_today()
    petition = Q(procedure=Procedure.PETITION) & ~Q(status=Status.REPEAT)
    receipt = _sql_local_date(Coalesce("holder_received_at", "received_at"))

    def only(condition: Q, expr) -> SqlCase:
        return SqlCase(When(condition, then=expr), default=Value(None), output_field=DateField())

    accept_by = only(petition, _sql_period_end(receipt, Value(ACCEPTANCE_DAYS)))
    conclude_by = only(
        petition, _sql_period_end(_sql_local_date("accepted_at"), Value(CONCLUSION_DAYS), F("extension_days"))
    )
    review_decide_by = only(
        petition & Q(review_round__gt=0),
        _sql_period_end(_sql_local_date("review_requested_at"), Value(REVIEW_DECISION_DAYS)),
    )
    # The branches of `next_due_kind`, in the same order (None: no deadline binds the holder).
    branches = (
        (Q(status=Status.ON_AGENDA, agenda_deadline__isnull=False), DueKind.AGENDA_DEADLINE, F("agenda_deadline")),
        (~petition, None, None),
        (Q(status__in=AWAITING_ACCEPTANCE), DueKind.ACCEPT_BY, accept_by),
        (Q(status__in=HANDLING, review_round__gt=0, review_external=True), None, None),
        (Q(status__in=HANDLING, review_round__gt=0), DueKind.REVIEW_DECIDE_BY, review_decide_by),
        (Q(status__in=HANDLING, accepted_at__isnull=False), DueKind.CONCLUDE_BY, conclude_by),
        (Q(status__in=HANDLING), DueKind.ACCEPT_BY, accept_by),
    )
    qs = qs.annotate(
        accept_by=accept_by,
        object_by=only(
            Q(forwarded_by__isnull=False) & ~Q(status=Status.REPEAT),
            Func(receipt, Value(OBJECTION_WORKING_DAYS), function="gd_add_working", output_field=DateField()),
        ),
        conclude_by=conclude_by,
        review_request_by=only(
            petition & Q(review_round__lt=MAX_REVIEW_ROUNDS),
            _sql_period_end(_sql_local_date("served_at"), Value(REVIEW_REQUEST_DAYS)),
        ),
        review_decide_by=review_decide_by,
        confirm_apply_by=only(
            Q(procedure=Procedure.MEDIATION), _sql_period_end(F("agreement_at"), Value(CONFIRMATION_DAYS))
        ),
        next_due_kind=SqlCase(
            *(When(condition, then=Value(kind.value if kind else None)) for condition, kind, _ in branches),
            default=Value(None),
            output_field=CharField(),
        ),
        next_due=SqlCase(
            *(When(condition, then=due if due is not None else Value(None)) for condition, _, due in branches),
            default=Value(None),
            output_field=DateField(),
        ),
    )
    qs = qs.annotate(
        days_left=Func(
            F("next_due"), Value(today), template="(%(expressions)s)", arg_joiner=" - ", output_field=IntegerField()
        )
    )

    # Each of `due_state` and `supervision` names days_left (and so next_due, with its calendar function)
    # once: Django writes an annotation out in full wherever it is used, and a CASE testing days_left
    # three times compiled and ran it three times per row. width_bucket gives the band of days_left in
    # one call: below the first bound 0, below the second 1, else 2 (NULL stays NULL).
    def band(labels: tuple[str, str, str], bounds: tuple[int, int], otherwise: str) -> Coalesce:
        array = ", ".join(f"'{label}'" for label in labels)
        return Coalesce(
            Func(
                F("days_left"),
                template=f"(ARRAY[{array}]::text[])[width_bucket(%(expressions)s, ARRAY[{bounds[0]}, {bounds[1]}])+1]",
                output_field=CharField(),
            ),
            Value(otherwise),
            output_field=CharField(),
        )

    return qs.annotate(
        due_state=SqlCase(
            When(
                next_due_kind__isnull=True,
                then=SqlCase(
                    When(status__in=OPEN_STATUSES, then=Value(DueState.NOT_TIMED.value)),
                    default=Value(DueState.DONE.value),
                    output_field=CharField(),
                ),
            ),
            # days_left < 0: overdue; ≤ DUE_SOON_DAYS: due soon; more, or no date: on time
            default=band(
                (DueState.OVERDUE.value, DueState.DUE_SOON.value, DueState.ON_TIME.value),
                (0, DUE_SOON_DAYS + 1),
                DueState.ON_TIME.value,
            ),
            output_field=CharField(),
        ),
        # No deadline kind means no next_due, so days_left is NULL and the supervision blank:
        # overdue by more than YELLOW_OVERDUE_DAYS: red; any other days_left ≤ DUE_SOON_DAYS: yellow.
        supervision=band(
            (Supervision.RED.value, Supervision.YELLOW.value, Supervision.NONE.value),
            (-YELLOW_OVERDUE_DAYS, DUE_SOON_DAYS + 1),
            Supervision.NONE.value,
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
    """A missed deadline as text ("conclude_by:2026-05-01"): supervision records it so it acts once per step."""
    return f"{kind}:{due.isoformat()}"
