"""The five matters as three state machines (petition, mediation, courts): nothing moves without a trace."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from geo_disputes.models import Case, CaseEvent, Unit
from geo_disputes.models.cases import Procedure, Satisfaction, Status, Tier
from geo_disputes.services.cases.clock import STATUTE_TZ, DueKind, due_dates
from geo_disputes.services.cases.workflow import (
    PARAMETERS,
    TRANSITIONS,
    StaleEditError,
    WorkflowError,
    allowed_actions,
    apply,
)
from tests.factories import CaseFactory

TOWNSHIP, VILLAGE = "150622106", "150622106202"
SOON = dt.date.today() + dt.timedelta(days=60)  # a deadline within the year ahead  # 友谊街道, 苏计沟村


def ladder() -> dict[str, Unit]:
    """The bodies a 苏计沟村 case can climb through."""
    specs = {
        Tier.VILLAGE: (f"VC-{VILLAGE}", "苏计沟村委会", Unit.Kind.VILLAGE_COMMITTEE, "村书记刘某"),
        Tier.TOWNSHIP: (f"TC-{TOWNSHIP}", "友谊街道党工委", Unit.Kind.TOWNSHIP_COMMITTEE, "街道书记张某"),
        Tier.BANNER: ("BL-150622", "旗领导包案", Unit.Kind.BANNER_LEADERSHIP, "副旗长李某"),
        Tier.MINING_COURT: ("MC-150622", "矿区法庭", Unit.Kind.MINING_COURT, "庭长赵某"),
    }
    return {
        tier: Unit.objects.create(code=code, name=name, kind=kind, head_name=head)
        for tier, (code, name, kind, head) in specs.items()
    }


def village_case(**fields) -> Case:
    units = Unit.objects.in_bulk([f"VC-{VILLAGE}"], field_name="code")
    defaults = {"township_code": TOWNSHIP, "village_code": VILLAGE, "unit": units.get(f"VC-{VILLAGE}")}
    return CaseFactory(**(defaults | fields))


@pytest.fixture
def units(db) -> dict[str, Unit]:
    return ladder()


@pytest.fixture
def secretary(django_user_model):
    return django_user_model.objects.create_user("liu_secretary")


def test_a_petition_walks_from_telling_to_closing_with_a_written_opinion_served(units, secretary):
    case = village_case(channel="letter")
    steps = [
        ("accept", {"person": "村书记刘某"}, Status.ACCEPTED),
        ("route", {"route": "handling_opinion"}, Status.IN_HANDLING),
        ("assign", {"person": "网格员王某"}, Status.IN_HANDLING),
        (
            "put_on_agenda",
            {
                "plan": "现场勘界后调解",
                "unit": f"TC-{TOWNSHIP}",
                "person": "街道书记张某",
                "deadline": SOON.isoformat(),
            },
            Status.ON_AGENDA,
        ),
        ("opinion", {"outcome": "support", "text": "退还草场8亩"}, Status.RESOLVED),
        ("serve", {"served_at": dt.date.today().isoformat(), "method": "in_person"}, Status.SERVED),
        ("follow_up", {"by": "旗信访局回访员", "method": "phone", "satisfaction": "satisfied"}, Status.SERVED),
        ("close", {}, Status.CLOSED),
    ]
    for action, params, expected in steps:
        actor = None if action == "follow_up" else secretary  # someone else follows it up
        case = apply(case, action, actor, case.version, **params)
        assert case.status == expected, action

    case.refresh_from_db()
    assert case.version == 1 + len(steps)
    assert case.accepted_at is not None and case.replied_at >= case.accepted_at
    assert (case.tier, case.unit.code, case.responsible_person) == (Tier.TOWNSHIP, f"TC-{TOWNSHIP}", "街道书记张某")
    assert (case.agenda_plan, case.agenda_deadline) == ("现场勘界后调解", SOON)
    assert (case.resolution_method, case.opinion_outcome, case.satisfaction) == (
        "handling_opinion",
        "support",
        "satisfied",
    )
    events = list(case.events.all())
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("accept", "reported", "accepted"),
        ("route", "accepted", "in_handling"),
        ("assign", "in_handling", "in_handling"),
        ("put_on_agenda", "in_handling", "on_agenda"),
        ("opinion", "on_agenda", "resolved"),
        ("serve", "resolved", "served"),
        ("follow_up", "served", "served"),
        ("close", "served", "closed"),
    ]
    assert all(e.actor == secretary for e in events if e.action != "follow_up")
    assert events[3].changes["unit"] == [f"VC-{VILLAGE}", f"TC-{TOWNSHIP}"]
    assert events[4].changes["resolution_method"] == ["", "handling_opinion"]
    assert due_dates(case).state == "done"


def _served(**fields) -> Case:
    served = dt.datetime(2026, 3, 2, 16, tzinfo=STATUTE_TZ)
    defaults = dict(
        channel="letter",
        status=Status.SERVED,
        petition_route="handling_opinion",
        accepted_at=served - dt.timedelta(days=20),
        replied_at=served - dt.timedelta(days=1),
        served_at=served,
        resolution_method="handling_opinion",
        outcome="不予支持",
    )
    return village_case(**(defaults | fields))


def test_a_review_goes_to_the_body_above_then_re_review_and_no_further(units, secretary):
    case = _served()
    asked = case.served_at + dt.timedelta(days=10)

    case = apply(case, "request_review", None, case.version, reason="对答复不服", now=asked)

    assert (case.status, case.tier, case.unit.code, case.review_round) == (
        Status.REVIEW_REQUESTED,
        Tier.TOWNSHIP,
        f"TC-{TOWNSHIP}",
        1,
    )
    assert case.responsible_person == "街道书记张某"
    dues = due_dates(case, asked.date())
    # Requested Thursday 12 March: day 30 is Saturday 11 April → Monday 13 April.
    assert (dues.next_due_kind, dues.next_due) == (DueKind.REVIEW_DECIDE_BY, dt.date(2026, 4, 13))
    event = case.events.get(action="request_review")
    assert (event.changes["tier"], event.reason) == (["village", "township"], "对答复不服")

    decided = asked + dt.timedelta(days=20)
    case = apply(case, "review_decision", secretary, case.version, outcome="uphold", text="维持", now=decided)
    assert (case.status, case.review_outcome) == (Status.RESOLVED, "uphold")
    with pytest.raises(WorkflowError, match="allowed: serve, follow_up"):
        apply(case, "request_review", None, case.version, now=decided)  # the decision must be served first
    case = apply(case, "serve", secretary, case.version, served_at=decided.isoformat(), method="post", now=decided)
    case = apply(case, "request_review", None, case.version, now=decided + dt.timedelta(days=3))
    assert (case.tier, case.unit.code, case.review_round) == (Tier.BANNER, "BL-150622", 2)

    redecided = decided + dt.timedelta(days=25)
    case = apply(case, "review_decision", secretary, case.version, outcome="change", text="变更", now=redecided)
    case = apply(
        case, "serve", None, case.version, served_at=redecided.date().isoformat(), method="post", now=redecided
    )
    with pytest.raises(WorkflowError, match=r"already re-reviewed .* not accepted again \(条例 Art. 36\)"):
        apply(case, "request_review", None, case.version, now=redecided + dt.timedelta(days=1))


def test_a_banner_reply_is_re_reviewed_by_the_city_outside_the_system_and_the_banner_keeps_the_file(units):
    case = _served(tier=Tier.BANNER, unit=units["banner"])

    case = apply(case, "request_review", None, case.version, now=case.served_at + dt.timedelta(days=1))

    assert (case.tier, case.unit.code, case.review_external) == (Tier.BANNER, "BL-150622", True)
    assert due_dates(case, case.served_at.date()).next_due is None  # the city's clock, not the banner's


def test_a_satisfied_follow_up_does_not_take_away_the_right_to_review(units):
    case = _served(satisfaction=Satisfaction.SATISFIED)

    case = apply(case, "request_review", None, case.version, now=case.served_at + dt.timedelta(days=2))

    assert case.status == Status.REVIEW_REQUESTED


def test_mining_court_matters_have_no_review_ladder_and_no_escalation(units):
    case = village_case(
        tier=Tier.MINING_COURT, unit=units["mining_court"], procedure=Procedure.LITIGATION, status=Status.RESOLVED
    )

    assert set(allowed_actions(case)) == {"follow_up", "close"}
    for action in ("request_review", "escalate", "supervise"):
        with pytest.raises(WorkflowError):
            apply(case, action, None, case.version, reason="上访")


def test_illegal_transitions_are_refused_naming_the_status_and_the_allowed_actions(units, secretary):
    case = village_case(channel="letter")

    with pytest.raises(WorkflowError) as refused:
        apply(case, "close", secretary, case.version)
    assert str(refused.value) == (
        f"cannot close {case.reference}: it is reported (已登记(说事)) in the petition procedure; "
        "allowed: accept, reject, transfer, supervise"
    )
    closed = village_case(status=Status.NOT_ACCEPTED)
    with pytest.raises(WorkflowError, match=r"allowed: none \(the matter is finished\)"):
        apply(closed, "accept", secretary, closed.version)
    with pytest.raises(WorkflowError, match="unknown action 'approve'"):
        apply(case, "approve", secretary, case.version)
    for gone in ("escalate", "resolve", "evaluate"):
        with pytest.raises(WorkflowError, match=f"unknown action '{gone}'"):
            apply(case, gone, secretary, case.version)
    resolved = village_case(status=Status.RESOLVED)
    assert set(allowed_actions(resolved)) == {"serve", "follow_up"}
    mediation = village_case(procedure=Procedure.MEDIATION, status=Status.RESOLVED, agreement_at=dt.date(2026, 3, 1))
    assert set(allowed_actions(mediation)) == {"confirm", "follow_up", "close"}
    for table in TRANSITIONS.values():
        assert {to for (_, _), to in table.items()} <= set(Status.values)
        assert {action for (_, action) in table} <= set(PARAMETERS)


@pytest.mark.parametrize(
    "status, action, params, field, message",
    [
        (Status.REPORTED, "reject", {}, "reason", "reject needs 'reason'"),
        (Status.REPORTED, "transfer", {"unit": "XX-1", "reason": "不属本村"}, "unit", "no unit with code 'XX-1'"),
        (Status.REPORTED, "accept", {"days": 3}, "days", "accept does not take days"),
        (
            Status.ACCEPTED,
            "extend",
            {"days": "abc", "reason": "复杂", "approved_by": "镇长", "told_at": "2026-03-02"},
            "days",
            "whole number from 1 to 30",
        ),
        (
            Status.ACCEPTED,
            "extend",
            {"days": 0, "reason": "复杂", "approved_by": "镇长", "told_at": "2026-03-02"},
            "days",
            "whole number from 1 to 30",
        ),
        (Status.ACCEPTED, "extend", {"days": 10}, "reason", "extend needs 'reason'"),
        (Status.ACCEPTED, "route", {"route": "prayer"}, "route", "one of: litigation"),
        (Status.IN_HANDLING, "opinion", {"outcome": "maybe", "text": "x"}, "outcome", "one of: support"),
        (Status.ACCEPTED, "put_on_agenda", {"plan": "p", "unit": "BL-150622", "person": "李某"}, "deadline", "date"),
        (Status.ACCEPTED, "assign", {}, "person", "assign needs 'person'"),
        (Status.SERVED, "follow_up", {"by": "回访员", "method": "phone"}, "satisfaction", "either 'satisfaction'"),
        (Status.IN_HANDLING, "supervise", {"kind": "scold", "reason": "x", "deadline": "2099-01-01"}, "kind", "urge"),
        (Status.RESOLVED, "serve", {"served_at": "2026-03-05", "method": "pigeon"}, "method", "in_person"),
    ],
)
def test_incomplete_or_invalid_parameters_are_refused_naming_the_field_and_nothing_is_written(
    units, secretary, status, action, params, field, message
):
    accepted = dt.datetime(2026, 3, 1, tzinfo=STATUTE_TZ)
    case = village_case(status=status, accepted_at=accepted, replied_at=accepted)

    with pytest.raises(WorkflowError, match=message) as refused:
        apply(case, action, secretary, case.version, now=accepted + dt.timedelta(days=5), **params)

    assert refused.value.field == field
    case.refresh_from_db()
    assert (case.status, case.version, case.events.count()) == (status, 1, 0)


def test_a_case_is_extended_once_only(units, secretary):
    accepted = dt.datetime(2026, 3, 1, tzinfo=STATUTE_TZ)
    case = village_case(status=Status.IN_HANDLING, accepted_at=accepted)
    extend = {"reason": "等待鉴定结论", "approved_by": "镇长", "told_at": "2026-03-20"}
    case = apply(case, "extend", secretary, case.version, days="20", now=accepted + dt.timedelta(days=20), **extend)

    with pytest.raises(WorkflowError, match="already extended by 20 days"):
        apply(case, "extend", secretary, case.version, days=5, now=accepted + dt.timedelta(days=21), **extend)
    assert (case.extension_days, case.extension_reason) == (20, "等待鉴定结论")


def test_a_transfer_or_assignment_starts_the_receiving_bodys_own_15_days(units, secretary):
    received = dt.datetime(2026, 3, 2, 9, tzinfo=STATUTE_TZ)
    case = village_case(channel="letter", received_at=received)
    case = apply(case, "accept", secretary, case.version, now=received + dt.timedelta(days=3))

    handed = received + dt.timedelta(days=10)
    case = apply(case, "assign", secretary, case.version, person="街道书记张某", unit=f"TC-{TOWNSHIP}", now=handed)

    assert (case.status, case.unit.code, case.forwarded_by.code, case.accepted_at) == (
        Status.TRANSFERRED,
        f"TC-{TOWNSHIP}",
        f"VC-{VILLAGE}",
        None,
    )
    dues = due_dates(case, handed.date())
    # Received by the township on 12 March: its own 15 days end on 27 March (Friday).
    assert (dues.next_due_kind, dues.accept_by) == (DueKind.ACCEPT_BY, dt.date(2026, 3, 27))
    assert dues.object_by == dt.date(2026, 3, 19)


def test_nothing_moves_a_case_up_a_tier_because_it_is_late(units, secretary):
    late = village_case(received_at=dt.datetime(2025, 1, 2, tzinfo=STATUTE_TZ))
    with pytest.raises(WorkflowError, match="unknown action 'escalate'"):
        apply(late, "escalate", secretary, late.version, reason="逾期")
    late = apply(late, "supervise", secretary, late.version, kind="urge", reason="限期受理", deadline=SOON.isoformat())
    assert (late.tier, late.unit.code) == (Tier.VILLAGE, f"VC-{VILLAGE}")


def test_a_stale_edit_is_refused_with_who_and_when_and_writes_nothing(units, secretary, django_user_model):
    case = village_case()
    mine = Case.objects.get(pk=case.pk)
    theirs = Case.objects.get(pk=case.pk)
    apply(theirs, "accept", secretary, theirs.version, person="村书记刘某")

    with pytest.raises(StaleEditError) as refused:
        apply(mine, "reject", django_user_model.objects.create_user("other"), mine.version, reason="不属实")

    message = str(refused.value)
    assert f"{case.reference} was changed by liu_secretary at " in message
    assert "you edited version 1" in message and message.endswith("reload the case and try again")
    case.refresh_from_db()
    assert (case.status, case.version, case.not_accepted_reason) == (Status.ACCEPTED, 2, "")
    assert list(case.events.values_list("action", flat=True)) == ["accept"]


@pytest.mark.django_db(transaction=True)
def test_two_officers_editing_at_the_same_moment_one_wins_and_one_is_told_to_reload():
    units = ladder()
    case = village_case(unit=units["village"])
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def edit(name: str, action: str, params: dict) -> None:
        try:
            loaded = Case.objects.get(pk=case.pk)  # both load version 1 on their own connection
            start.wait(timeout=10)
            apply(loaded, action, None, loaded.version, **params)
            outcomes[name] = "saved"
        except StaleEditError:
            outcomes[name] = "stale"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=edit, args=("a", "accept", {})),
        threading.Thread(target=edit, args=("b", "reject", {"reason": "不属于受理范围"})),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["saved", "stale"]
    case.refresh_from_db()
    assert case.version == 2
    assert CaseEvent.objects.filter(case=case).count() == 1


def test_history_is_append_only(units, secretary):
    case = village_case()
    case = apply(case, "accept", secretary, case.version)
    event = case.events.get()

    event.reason = "改写历史"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert CaseEvent.objects.get(pk=event.pk).reason == ""
