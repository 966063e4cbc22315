"""The statutory clock: a petitioner's deadlines, counted in Shanghai calendar days, the same in Python and SQL."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from geo_disputes.models import Case, Unit
from geo_disputes.models.cases import Satisfaction, Status, Tier
from geo_disputes.services import workflow
from geo_disputes.services.clock import (
    STATUTE_TZ,
    DueKind,
    DueState,
    ReviewPeriod,
    Supervision,
    annotate_dues,
    due_dates,
    next_joint_meeting,
    review_period_bounds,
    review_queue_period,
    unit_queue,
)
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

MARCH_1 = dt.date(2026, 3, 1)  # a Sunday


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A moment on `day`, Beijing time."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=STATUTE_TZ)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def test_acceptance_is_due_at_the_end_of_day_15_and_overdue_on_day_16():
    case = CaseFactory(received_at=at(MARCH_1))

    assert due_dates(case, MARCH_1 + days(5)).state == DueState.ON_TIME
    day_15 = due_dates(case, MARCH_1 + days(15))
    assert (day_15.accept_by, day_15.next_due_kind, day_15.days_left) == (dt.date(2026, 3, 16), DueKind.ACCEPT_BY, 0)
    assert day_15.state == DueState.DUE_SOON
    day_16 = due_dates(case, MARCH_1 + days(16))
    assert (day_16.state, day_16.days_left) == (DueState.OVERDUE, -1)


@pytest.mark.parametrize("hour, minute", [(0, 30), (23, 30)])
def test_a_petition_received_at_either_end_of_a_beijing_day_counts_from_that_day(hour, minute):
    # 00:30 Beijing is still the previous day in UTC; 23:30 is the same UTC day. Both are day 0 = 1 March.
    case = CaseFactory(received_at=at(MARCH_1, hour, minute))

    assert due_dates(case, MARCH_1).accept_by == dt.date(2026, 3, 16)
    assert annotate_dues(Case.objects.filter(pk=case.pk), MARCH_1).get().accept_by == dt.date(2026, 3, 16)


def test_conclusion_is_due_on_day_60_after_acceptance_and_overdue_on_day_61():
    case = CaseFactory(received_at=at(MARCH_1), status=Status.IN_HANDLING, accepted_at=at(MARCH_1, 15))

    day_60 = due_dates(case, MARCH_1 + days(60))
    assert (day_60.conclude_by, day_60.next_due_kind, day_60.state) == (
        dt.date(2026, 4, 30),
        DueKind.CONCLUDE_BY,
        DueState.DUE_SOON,
    )
    assert due_dates(case, MARCH_1 + days(61)).state == DueState.OVERDUE


def test_an_extension_of_30_days_moves_the_conclusion_deadline():
    case = CaseFactory(received_at=at(MARCH_1), status=Status.IN_HANDLING, accepted_at=at(MARCH_1))

    extended = workflow.apply(
        case, "extend", None, case.version, days=30, reason="需委托房屋安全鉴定", now=at(MARCH_1 + days(50))
    )

    dues = due_dates(extended, MARCH_1 + days(61))
    assert dues.conclude_by == MARCH_1 + days(90)
    assert dues.state == DueState.ON_TIME
    assert due_dates(extended, MARCH_1 + days(91)).state == DueState.OVERDUE


def test_an_extension_of_31_days_is_refused_and_nothing_moves():
    case = CaseFactory(received_at=at(MARCH_1), status=Status.IN_HANDLING, accepted_at=at(MARCH_1))

    with pytest.raises(workflow.WorkflowError, match="from 1 to 30") as refused:
        workflow.apply(case, "extend", None, case.version, days=31, reason="案情复杂")

    assert refused.value.field == "days"
    case.refresh_from_db()
    assert (case.extension_days, case.version) == (0, 1)
    assert due_dates(case, MARCH_1).conclude_by == MARCH_1 + days(60)


def _replied_case(replied_on: dt.date) -> Case:
    return CaseFactory(
        received_at=at(replied_on - days(40)),
        status=Status.EVALUATED,
        accepted_at=at(replied_on - days(35)),
        replied_at=at(replied_on, 16),
        resolution_method="explanation",
        outcome="已答复",
        satisfaction=Satisfaction.DISSATISFIED,
    )


def test_review_can_be_requested_on_day_30_after_the_reply():
    case = _replied_case(MARCH_1)
    assert due_dates(case, MARCH_1).review_request_by == MARCH_1 + days(30)

    reviewed = workflow.apply(case, "request_review", None, case.version, now=at(MARCH_1 + days(30), 23, 59))

    assert reviewed.status == Status.REVIEW_REQUESTED
    dues = due_dates(reviewed, MARCH_1 + days(30))
    assert (dues.next_due_kind, dues.review_decide_by) == (DueKind.REVIEW_DECIDE_BY, MARCH_1 + days(60))


def test_review_requested_on_day_31_is_refused():
    case = _replied_case(MARCH_1)

    with pytest.raises(workflow.WorkflowError, match=r"review window closed on 2026-03-31"):
        workflow.apply(case, "request_review", None, case.version, now=at(MARCH_1 + days(31), 0, 1))


@pytest.mark.parametrize(
    "today_offset, state, supervision",
    [
        (11, DueState.ON_TIME, Supervision.NONE),  # 4 days left
        (12, DueState.DUE_SOON, Supervision.YELLOW),  # 3 days left
        (22, DueState.OVERDUE, Supervision.YELLOW),  # overdue by 7 days
        (23, DueState.OVERDUE, Supervision.RED),  # overdue by 8 days
    ],
)
def test_supervision_turns_yellow_three_days_before_and_red_after_a_week_overdue(today_offset, state, supervision):
    case = CaseFactory(received_at=at(MARCH_1))

    dues = due_dates(case, MARCH_1 + days(today_offset))

    assert (dues.state, dues.supervision) == (state, supervision)


def test_replied_rejected_and_closed_cases_owe_no_deadline():
    for status in (Status.RESOLVED, Status.EVALUATED, Status.CLOSED, Status.NOT_ACCEPTED):
        case = CaseFactory(received_at=at(MARCH_1), status=status)
        dues = due_dates(case, MARCH_1 + days(200))
        assert (dues.state, dues.next_due, dues.supervision) == (DueState.DONE, None, Supervision.NONE), status


def test_sql_and_python_give_the_same_dues_for_a_spread_of_cases_and_days():
    received = [at(MARCH_1, 0, 5), at(MARCH_1 + days(9), 23, 55), at(dt.date(2025, 12, 31), 16, 30)]
    # status, then days after receipt of acceptance, reply and review request, and the extension granted
    shapes = [
        (Status.REPORTED, None, None, None, 0),
        (Status.TRANSFERRED, None, None, None, 0),
        (Status.ACCEPTED, 3, None, None, 0),
        (Status.IN_HANDLING, 14, None, None, 30),
        (Status.ON_AGENDA, 20, None, None, 7),
        (Status.IN_HANDLING, None, None, None, 0),  # acceptance never recorded: held to the acceptance deadline
        (Status.RESOLVED, 1, 40, None, 0),
        (Status.REVIEW_REQUESTED, 2, 50, 70, 0),
        (Status.IN_HANDLING, 2, 50, 75, 10),  # a review in hand: its 30 days bind, not the extension
        (Status.CLOSED, 2, 30, None, 0),
        (Status.NOT_ACCEPTED, None, None, None, 0),
    ]
    for received_at, (status, accepted, replied, review, extension) in itertools.product(received, shapes):

        def moment(offset: int | None, base: dt.datetime = received_at) -> dt.datetime | None:
            return None if offset is None else base + days(offset)

        CaseFactory(
            status=status,
            received_at=received_at,
            accepted_at=moment(accepted),
            replied_at=moment(replied),
            review_requested_at=moment(review),
            review_round=0 if review is None else 1,
            extension_days=extension,
        )
    fields = ["accept_by", "conclude_by", "review_request_by", "review_decide_by", "next_due_kind", "next_due"]
    fields += ["days_left", "supervision"]
    compared, seen = 0, set()
    for today in [MARCH_1 - days(60) + days(n * 9) for n in range(25)]:
        for case in annotate_dues(Case.objects.all(), today):
            python = due_dates(case, today)
            sql = {name: getattr(case, name) for name in fields} | {"state": case.due_state}
            assert sql == {name: getattr(python, name) for name in [*fields, "state"]}, (case.status, today)
            compared += 1
            seen.add((python.state, python.supervision))
    assert compared == 25 * len(received) * len(shapes)
    assert {state for state, _ in seen} == set(DueState)  # the spread reaches every state and level
    assert {level for _, level in seen} == set(Supervision)


def test_the_joint_meeting_sits_on_the_first_monday_of_the_month():
    assert next_joint_meeting(MARCH_1) == dt.date(2026, 3, 2)  # Sunday 1 March → Monday 2 March
    assert next_joint_meeting(dt.date(2026, 3, 2)) == dt.date(2026, 4, 6)  # on a meeting day: the next one
    assert next_joint_meeting(dt.date(2026, 12, 20)) == dt.date(2027, 1, 4)
    assert {next_joint_meeting(MARCH_1 + days(n)).weekday() for n in range(400)} == {0}


def test_village_queues_run_weekly_and_township_queues_monthly():
    assert review_queue_period(Tier.VILLAGE) == ReviewPeriod.WEEKLY
    assert review_queue_period(Tier.TOWNSHIP) == ReviewPeriod.MONTHLY
    wednesday = dt.date(2026, 3, 11)
    assert review_period_bounds(ReviewPeriod.WEEKLY, wednesday) == (dt.date(2026, 3, 9), dt.date(2026, 3, 15))
    assert review_period_bounds(ReviewPeriod.MONTHLY, wednesday) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def test_a_village_secretary_sees_open_cases_most_urgent_first_with_this_weeks_deadlines_marked():
    committee = Unit.objects.create(code="VC-150622106202", name="苏计沟村委会", kind=Unit.Kind.VILLAGE_COMMITTEE)
    elsewhere = Unit.objects.create(code="VC-150622106203", name="邻村村委会", kind=Unit.Kind.VILLAGE_COMMITTEE)
    wednesday = dt.date(2026, 3, 11)
    due_sunday = CaseFactory(unit=committee, received_at=at(dt.date(2026, 2, 28)))  # accept by 15 March
    due_next_week = CaseFactory(unit=committee, received_at=at(dt.date(2026, 3, 2)))  # accept by 17 March
    overdue = CaseFactory(unit=committee, received_at=at(dt.date(2026, 2, 1)))  # accept by 16 Feb
    CaseFactory(unit=committee, received_at=at(dt.date(2026, 2, 1)), status=Status.CLOSED)
    CaseFactory(unit=elsewhere, received_at=at(dt.date(2026, 2, 1)))

    queue = list(unit_queue(committee, on=wednesday))

    assert [c.pk for c in queue] == [overdue.pk, due_sunday.pk, due_next_week.pk]
    assert [c.due_in_period for c in queue] == [True, True, False]
    township = Unit.objects.create(code="TC-150622106", name="友谊街道", kind=Unit.Kind.TOWNSHIP_COMMITTEE)
    monthly = CaseFactory(unit=township, received_at=at(dt.date(2026, 3, 2)))
    assert [(c.pk, c.due_in_period) for c in unit_queue(township, on=wednesday)] == [(monthly.pk, True)]
