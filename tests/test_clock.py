"""The statutory clock: a petitioner's deadlines, counted in Shanghai calendar days, the same in Python and SQL."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from geo_disputes.models import Case, Unit
from geo_disputes.models.cases import Procedure, Satisfaction, Status, Tier
from geo_disputes.services.cases import workflow
from geo_disputes.services.cases.clock import (
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


def test_an_extension_of_30_days_moves_the_conclusion_deadline_off_the_weekend_it_lands_on():
    case = CaseFactory(received_at=at(MARCH_1), status=Status.IN_HANDLING, accepted_at=at(MARCH_1))

    extended = _extend(case, at(MARCH_1 + days(50)), days=30)

    dues = due_dates(extended, MARCH_1 + days(61))
    # Day 90 is Saturday 30 May 2026: the period ends on Monday 1 June (民法典 Art. 203).
    assert dues.conclude_by == dt.date(2026, 6, 1)
    assert dues.state == DueState.ON_TIME
    assert due_dates(extended, dt.date(2026, 6, 1)).state == DueState.DUE_SOON
    assert due_dates(extended, dt.date(2026, 6, 2)).state == DueState.OVERDUE
    assert (extended.extension_approved_by, extended.extension_told_at) == ("镇长 刘某", MARCH_1 + days(50))


def _extend(case: Case, now: dt.datetime, days: int = 30) -> Case:
    return workflow.apply(
        case,
        "extend",
        None,
        case.version,
        days=days,
        reason="需委托房屋安全鉴定",
        approved_by="镇长 刘某",
        told_at=now.date().isoformat(),
        now=now,
    )


def test_an_extension_of_31_days_is_refused_and_nothing_moves():
    case = CaseFactory(received_at=at(MARCH_1), status=Status.IN_HANDLING, accepted_at=at(MARCH_1))

    with pytest.raises(workflow.WorkflowError, match="from 1 to 30") as refused:
        _extend(case, at(MARCH_1 + days(5)), days=31)

    assert refused.value.field == "days"
    case.refresh_from_db()
    assert (case.extension_days, case.version) == (0, 1)
    assert due_dates(case, MARCH_1).conclude_by == MARCH_1 + days(60)


def test_an_extension_on_day_60_is_accepted_and_on_day_61_refused():
    # Accepted Sunday 1 March 2026: day 60 is Thursday 30 April, a working day.
    on_time = CaseFactory(received_at=at(MARCH_1), status=Status.IN_HANDLING, accepted_at=at(MARCH_1))
    assert due_dates(on_time, MARCH_1).conclude_by == dt.date(2026, 4, 30)
    assert _extend(on_time, at(dt.date(2026, 4, 30), 23, 50)).extension_days == 30

    late = CaseFactory(received_at=at(MARCH_1), status=Status.IN_HANDLING, accepted_at=at(MARCH_1))
    with pytest.raises(workflow.WorkflowError, match=r"ran out on 2026-04-30.*before it runs out"):
        _extend(late, at(dt.date(2026, 5, 1), 0, 10))
    late.refresh_from_db()
    assert (late.extension_days, late.version) == (0, 1)


def test_an_extension_needs_the_approver_and_the_day_the_petitioner_was_told():
    case = CaseFactory(received_at=at(MARCH_1), status=Status.IN_HANDLING, accepted_at=at(MARCH_1))
    for missing, field in (({"approved_by": ""}, "approved_by"), ({"told_at": "later"}, "told_at")):
        params = {"days": 10, "reason": "鉴定", "approved_by": "镇长", "told_at": "2026-03-20", **missing}
        with pytest.raises(workflow.WorkflowError) as refused:
            workflow.apply(case, "extend", None, case.version, now=at(MARCH_1 + days(20)), **params)
        assert refused.value.field == field


def _served_case(served_on: dt.date, replied_on: dt.date | None = None) -> Case:
    replied_on = replied_on or served_on
    return CaseFactory(
        received_at=at(replied_on - days(40)),
        status=Status.SERVED,
        petition_route="handling_opinion",
        accepted_at=at(replied_on - days(35)),
        replied_at=at(replied_on, 16),
        served_at=at(served_on, 17),
        resolution_method="handling_opinion",
        opinion_outcome="not_support",
        outcome="不予支持",
        satisfaction=Satisfaction.SATISFIED,  # a satisfied answer takes no right away
    )


def test_review_can_be_requested_on_day_30_after_service_whatever_the_follow_up_said():
    case = _served_case(MARCH_1)
    assert due_dates(case, MARCH_1).review_request_by == MARCH_1 + days(30)

    reviewed = workflow.apply(case, "request_review", None, case.version, now=at(MARCH_1 + days(30), 23, 59))

    assert reviewed.status == Status.REVIEW_REQUESTED
    dues = due_dates(reviewed, MARCH_1 + days(30))
    # Requested Tuesday 31 March: day 30 is Thursday 30 April.
    assert (dues.next_due_kind, dues.review_decide_by) == (DueKind.REVIEW_DECIDE_BY, dt.date(2026, 4, 30))


def test_review_requested_on_day_31_is_refused():
    case = _served_case(MARCH_1)

    with pytest.raises(workflow.WorkflowError, match=r"review window closed on 2026-03-31"):
        workflow.apply(case, "request_review", None, case.version, now=at(MARCH_1 + days(31), 0, 1))


def test_the_review_window_runs_from_service_not_from_the_day_the_reply_was_written():
    # Written on 1 March, served on 20 March: the window runs to 19 April (Sunday) → Monday 20 April.
    case = _served_case(MARCH_1 + days(19), replied_on=MARCH_1)
    assert due_dates(case, MARCH_1).review_request_by == dt.date(2026, 4, 20)
    reviewed = workflow.apply(case, "request_review", None, case.version, now=at(dt.date(2026, 4, 20), 9))
    assert reviewed.status == Status.REVIEW_REQUESTED


def test_each_holder_counts_its_own_15_days_from_its_own_receipt():
    first = Unit.objects.create(code="TC-150622106", name="魏家峁镇党委", kind=Unit.Kind.TOWNSHIP_COMMITTEE)
    second = Unit.objects.create(code="BD-water", name="水利局", kind=Unit.Kind.BANNER_DEPARTMENT)
    case = CaseFactory(received_at=at(MARCH_1), unit=first, tier=Tier.TOWNSHIP)
    assert (due_dates(case, MARCH_1 + days(15)).state, due_dates(case, MARCH_1 + days(16)).state) == (
        DueState.DUE_SOON,
        DueState.OVERDUE,
    )

    # Transferred on day 12: the water bureau's own 15 days run from 13 March, to 28 March (Saturday) → 30 March.
    moved = workflow.apply(
        case, "transfer", None, case.version, unit="BD-water", reason="属水利局职责", now=at(MARCH_1 + days(12))
    )
    dues = due_dates(moved, MARCH_1 + days(16))
    assert (moved.unit, moved.forwarded_by, dues.accept_by, dues.state) == (
        second,
        first,
        dt.date(2026, 3, 30),
        DueState.ON_TIME,
    )
    assert due_dates(moved, dt.date(2026, 3, 30)).state == DueState.DUE_SOON
    assert due_dates(moved, dt.date(2026, 3, 31)).state == DueState.OVERDUE
    # Its objection window: 5 working days from 13 March (Friday) → 20 March.
    assert dues.object_by == dt.date(2026, 3, 20)
    sql = annotate_dues(Case.objects.filter(pk=case.pk), dt.date(2026, 3, 31)).get()
    assert (sql.accept_by, sql.object_by, sql.due_state) == (dt.date(2026, 3, 30), dt.date(2026, 3, 20), "overdue")


def test_acceptance_due_on_a_holiday_moves_to_the_first_working_day_after_it():
    received = dt.date(2026, 9, 16)  # day 15 is 1 October, National Day
    case = CaseFactory(received_at=at(received))
    assert due_dates(case, received).accept_by == dt.date(2026, 10, 8)
    assert due_dates(case, dt.date(2026, 10, 8)).state == DueState.DUE_SOON
    assert due_dates(case, dt.date(2026, 10, 9)).state == DueState.OVERDUE
    # Day 15 on a make-up Saturday stays there.
    saturday = CaseFactory(received_at=at(dt.date(2026, 1, 30)))
    assert due_dates(saturday, dt.date(2026, 1, 30)).accept_by == dt.date(2026, 2, 14)


def test_mediation_and_court_matters_and_repeats_run_no_petition_clock():
    for procedure, status in (
        (Procedure.MEDIATION, Status.ACCEPTED),
        (Procedure.LITIGATION, Status.REPORTED),
        (Procedure.ARBITRATION, Status.FILED),
    ):
        case = CaseFactory(received_at=at(MARCH_1), procedure=procedure, status=status, accepted_at=at(MARCH_1))
        dues = due_dates(case, MARCH_1 + days(200))
        assert (dues.accept_by, dues.conclude_by, dues.next_due, dues.state) == (
            None,
            None,
            None,
            DueState.NOT_TIMED,
        ), procedure
    repeat = CaseFactory(received_at=at(MARCH_1), status=Status.REPEAT)  # linked to its original: not a matter
    assert (due_dates(repeat, MARCH_1).accept_by, due_dates(repeat, MARCH_1).state) == (None, DueState.DONE)


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
    for status in (Status.RESOLVED, Status.SERVED, Status.EVALUATED, Status.CLOSED, Status.NOT_ACCEPTED):
        case = CaseFactory(received_at=at(MARCH_1), status=status)
        dues = due_dates(case, MARCH_1 + days(200))
        assert (dues.state, dues.next_due, dues.supervision) == (DueState.DONE, None, Supervision.NONE), status


def test_sql_and_python_give_the_same_dues_for_a_spread_of_cases_and_days():
    forwarder = Unit.objects.create(code="BD-petitions", name="旗信访局", kind=Unit.Kind.BANNER_DEPARTMENT)
    received = [at(MARCH_1, 0, 5), at(MARCH_1 + days(9), 23, 55), at(dt.date(2025, 9, 20), 16, 30)]
    P, M, L = Procedure.PETITION, Procedure.MEDIATION, Procedure.LITIGATION
    # procedure, status, then days after receipt of acceptance, service, review request, the extension granted,
    # and extras (a forwarded matter, a holder's later receipt, an agenda deadline, an external review, an agreement)
    shapes = [
        (P, Status.REPORTED, None, None, None, 0, {}),
        (P, Status.TRANSFERRED, None, None, None, 0, {"forwarded": True, "holder": 6}),
        (P, Status.ACCEPTED, 3, None, None, 0, {}),
        (P, Status.IN_HANDLING, 14, None, None, 30, {}),
        (P, Status.ON_AGENDA, 20, None, None, 7, {"agenda": 50}),
        (P, Status.ON_AGENDA, 20, None, None, 0, {}),
        (P, Status.IN_HANDLING, None, None, None, 0, {}),  # acceptance never recorded: held to acceptance
        (P, Status.SERVED, 1, 40, None, 0, {}),
        (P, Status.REVIEW_REQUESTED, 2, 50, 70, 0, {}),
        (P, Status.REVIEW_REQUESTED, 2, 50, 70, 0, {"external": True}),
        (P, Status.IN_HANDLING, 2, 50, 75, 10, {}),  # a review in hand: its 30 days bind, not the extension
        (P, Status.CLOSED, 2, 30, None, 0, {}),
        (P, Status.NOT_ACCEPTED, None, None, None, 0, {}),
        (P, Status.REPEAT, None, None, None, 0, {"forwarded": True}),
        (M, Status.IN_HANDLING, 2, None, None, 0, {}),
        (M, Status.RESOLVED, 2, None, None, 0, {"agreement": 20}),
        (M, Status.ON_AGENDA, 2, None, None, 0, {"agenda": 40}),
        (L, Status.FILED, None, None, None, 0, {"forwarded": True}),
    ]
    for received_at, (procedure, status, accepted, served, review, extension, extra) in itertools.product(
        received, shapes
    ):

        def moment(offset: int | None, base: dt.datetime = received_at) -> dt.datetime | None:
            return None if offset is None else base + days(offset)

        local = received_at.astimezone(STATUTE_TZ).date()
        CaseFactory(
            procedure=procedure,
            status=status,
            received_at=received_at,
            holder_received_at=moment(extra.get("holder")),
            forwarded_by=forwarder if extra.get("forwarded") else None,
            accepted_at=moment(accepted),
            served_at=moment(served),
            review_requested_at=moment(review),
            review_round=0 if review is None else 1,
            review_external=bool(extra.get("external")),
            extension_days=extension,
            agenda_deadline=local + days(extra["agenda"]) if "agenda" in extra else None,
            agreement_at=local + days(extra["agreement"]) if "agreement" in extra else None,
        )
    fields = ["accept_by", "object_by", "conclude_by", "review_request_by", "review_decide_by", "confirm_apply_by"]
    fields += ["next_due_kind", "next_due", "days_left", "supervision"]
    compared, seen = 0, set()
    for today in [MARCH_1 - days(200) + days(n * 11) for n in range(30)]:
        for case in annotate_dues(Case.objects.all(), today):
            python = due_dates(case, today)
            sql = {name: getattr(case, name) for name in fields} | {"state": case.due_state}
            assert sql == {name: getattr(python, name) for name in [*fields, "state"]}, (case.status, today)
            compared += 1
            seen.add((python.state, python.supervision))
    assert compared == 30 * len(received) * len(shapes)
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
    # Day 15 of a matter received on 28 February is Sunday 15 March: it moves to Monday (next week).
    due_sunday = CaseFactory(unit=committee, received_at=at(dt.date(2026, 2, 26)))  # accept by Friday 13 March
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
