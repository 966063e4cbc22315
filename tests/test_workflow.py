"""The five matters as a state machine: a case walks from 说事 to 评事, and nothing moves without a trace."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from geo_disputes.models import Case, CaseEvent, Unit
from geo_disputes.models.cases import ResolutionMethod, Satisfaction, Status, Tier
from geo_disputes.services.clock import STATUTE_TZ, DueKind, due_dates
from geo_disputes.services.workflow import TRANSITIONS, StaleEditError, WorkflowError, allowed_actions, apply
from tests.factories import CaseFactory

TOWNSHIP, VILLAGE = "150622106", "150622106202"  # 友谊街道, 苏计沟村


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


def test_a_grassland_case_walks_from_telling_to_closing(units, secretary):
    case = village_case()
    steps = [
        ("accept", {"person": "村书记刘某"}, Status.ACCEPTED),
        ("assign", {"person": "网格员王某"}, Status.IN_HANDLING),
        (
            "put_on_agenda",
            {"plan": "现场勘界后调解", "unit": f"TC-{TOWNSHIP}", "person": "街道书记张某", "deadline": "2099-01-31"},
            Status.ON_AGENDA,
        ),
        ("resolve", {"method": ResolutionMethod.MEDIATION, "outcome": "退还草场8亩，签订调解协议"}, Status.RESOLVED),
        ("evaluate", {"satisfaction": Satisfaction.SATISFIED, "deputies_reviewed": True}, Status.EVALUATED),
        ("close", {}, Status.CLOSED),
    ]
    for action, params, expected in steps:
        case = apply(case, action, secretary, case.version, **params)
        assert case.status == expected, action

    case.refresh_from_db()
    assert case.version == 1 + len(steps)
    assert case.accepted_at is not None and case.replied_at >= case.accepted_at
    assert (case.tier, case.unit.code, case.responsible_person) == (Tier.TOWNSHIP, f"TC-{TOWNSHIP}", "街道书记张某")
    assert (case.agenda_plan, case.agenda_deadline) == ("现场勘界后调解", dt.date(2099, 1, 31))
    assert (case.resolution_method, case.satisfaction, case.deputies_reviewed) == ("mediation", "satisfied", True)
    events = list(case.events.all())
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("accept", "reported", "accepted"),
        ("assign", "accepted", "in_handling"),
        ("put_on_agenda", "in_handling", "on_agenda"),
        ("resolve", "on_agenda", "resolved"),
        ("evaluate", "resolved", "evaluated"),
        ("close", "evaluated", "closed"),
    ]
    assert all(e.actor == secretary for e in events)
    assert events[2].changes["unit"] == [f"VC-{VILLAGE}", f"TC-{TOWNSHIP}"]
    assert events[3].changes["resolution_method"] == ["", "mediation"]
    assert due_dates(case).state == "done"


def test_a_dissatisfied_petitioner_takes_the_case_to_the_township_then_the_banner_and_no_further(units, secretary):
    replied = dt.datetime(2026, 3, 1, 16, tzinfo=STATUTE_TZ)
    case = village_case(
        status=Status.EVALUATED,
        accepted_at=replied - dt.timedelta(days=20),
        replied_at=replied,
        resolution_method=ResolutionMethod.EXPLANATION,
        outcome="已解释政策",
        satisfaction=Satisfaction.DISSATISFIED,
    )
    asked = replied + dt.timedelta(days=10)

    case = apply(case, "request_review", None, case.version, reason="对答复不服", now=asked)

    assert (case.status, case.tier, case.unit.code, case.review_round) == (
        Status.REVIEW_REQUESTED,
        Tier.TOWNSHIP,
        f"TC-{TOWNSHIP}",
        1,
    )
    assert case.responsible_person == "街道书记张某"
    assert case.review_requested_at == asked
    dues = due_dates(case, asked.date())
    assert (dues.next_due_kind, dues.next_due) == (DueKind.REVIEW_DECIDE_BY, dt.date(2026, 4, 10))
    event = case.events.get(action="request_review")
    assert (event.changes["tier"], event.reason) == (["village", "township"], "对答复不服")

    # The township reviews (复查) and upholds the reply; the petitioner asks for re-review (复核) at the banner.
    decided = asked + dt.timedelta(days=20)
    case = apply(case, "resolve", secretary, case.version, method="explanation", outcome="维持原答复", now=decided)
    case = apply(case, "request_review", None, case.version, now=decided + dt.timedelta(days=3))
    assert (case.tier, case.unit.code, case.review_round) == (Tier.BANNER, "BL-150622", 2)

    redecided = decided + dt.timedelta(days=25)
    case = apply(case, "resolve", secretary, case.version, method="explanation", outcome="复核维持", now=redecided)
    with pytest.raises(WorkflowError, match=r"already re-reviewed .* not accepted again \(条例 Art. 36\)"):
        apply(case, "request_review", None, case.version, now=redecided + dt.timedelta(days=1))


def test_a_mining_court_reply_is_reviewed_at_the_banner(units):
    replied = dt.datetime(2026, 3, 1, 16, tzinfo=STATUTE_TZ)
    case = village_case(tier=Tier.MINING_COURT, status=Status.RESOLVED, replied_at=replied, unit=units["mining_court"])

    case = apply(case, "request_review", None, case.version, now=replied + dt.timedelta(days=1))

    assert (case.tier, case.unit.code) == (Tier.BANNER, "BL-150622")


def test_a_satisfied_petitioner_or_a_banner_reply_cannot_be_sent_up_for_review(units):
    replied = dt.datetime(2026, 3, 1, 16, tzinfo=STATUTE_TZ)
    satisfied = village_case(status=Status.EVALUATED, replied_at=replied, satisfaction=Satisfaction.SATISFIED)
    with pytest.raises(WorkflowError, match="evaluated the reply as satisfied"):
        apply(satisfied, "request_review", None, satisfied.version, now=replied)

    banner = village_case(status=Status.RESOLVED, replied_at=replied, tier=Tier.BANNER, unit=units["banner"])
    with pytest.raises(WorkflowError, match="city government above the banner"):
        apply(banner, "request_review", None, banner.version, now=replied)


def test_illegal_transitions_are_refused_naming_the_status_and_the_allowed_actions(units, secretary):
    case = village_case()

    with pytest.raises(WorkflowError) as refused:
        apply(case, "close", secretary, case.version)
    assert str(refused.value) == (
        f"cannot close {case.reference}: it is reported (已登记(说事)); allowed: accept, reject, transfer, escalate"
    )
    closed = village_case(status=Status.NOT_ACCEPTED)
    with pytest.raises(WorkflowError, match=r"allowed: none \(the matter is finished\)"):
        apply(closed, "accept", secretary, closed.version)
    with pytest.raises(WorkflowError, match="unknown action 'approve'"):
        apply(case, "approve", secretary, case.version)
    assert set(allowed_actions(Status.RESOLVED)) == {"evaluate", "request_review"}
    assert {to for (_, _), to in TRANSITIONS.items()} <= set(Status.values)


@pytest.mark.parametrize(
    "status, action, params, field, message",
    [
        (Status.REPORTED, "reject", {}, "reason", "reject needs 'reason'"),
        (Status.REPORTED, "transfer", {"unit": "XX-1", "reason": "不属本村"}, "unit", "no unit with code 'XX-1'"),
        (Status.REPORTED, "accept", {"days": 3}, "days", "accept does not take days"),
        (Status.ACCEPTED, "extend", {"days": "abc", "reason": "复杂"}, "days", "whole number from 1 to 30"),
        (Status.ACCEPTED, "extend", {"days": 0, "reason": "复杂"}, "days", "whole number from 1 to 30"),
        (Status.ACCEPTED, "extend", {"days": 10}, "reason", "extend needs 'reason'"),
        (Status.ACCEPTED, "resolve", {"method": "prayer", "outcome": "x"}, "method", "one of: mediation"),
        (Status.ACCEPTED, "resolve", {"method": "mediation"}, "outcome", "resolve needs 'outcome'"),
        (Status.ACCEPTED, "put_on_agenda", {"plan": "p", "unit": "BL-150622", "person": "李某"}, "deadline", "date"),
        (Status.ACCEPTED, "assign", {}, "person", "assign needs 'person'"),
        (Status.RESOLVED, "evaluate", {}, "satisfaction", "evaluate needs 'satisfaction', one of: satisfied"),
        (Status.IN_HANDLING, "escalate", {}, "reason", "escalate needs 'reason'"),
    ],
)
def test_incomplete_or_invalid_parameters_are_refused_naming_the_field_and_nothing_is_written(
    units, secretary, status, action, params, field, message
):
    case = village_case(status=status, accepted_at=dt.datetime(2026, 3, 1, tzinfo=STATUTE_TZ))

    with pytest.raises(WorkflowError, match=message) as refused:
        apply(case, action, secretary, case.version, **params)

    assert refused.value.field == field
    case.refresh_from_db()
    assert (case.status, case.version, case.events.count()) == (status, 1, 0)


def test_a_case_is_extended_once_only(units, secretary):
    case = village_case(status=Status.IN_HANDLING, accepted_at=dt.datetime(2026, 3, 1, tzinfo=STATUTE_TZ))
    case = apply(case, "extend", secretary, case.version, days="20", reason="等待鉴定结论")

    with pytest.raises(WorkflowError, match="already extended by 20 days"):
        apply(case, "extend", secretary, case.version, days=5, reason="再延")
    assert (case.extension_days, case.extension_reason) == (20, "等待鉴定结论")


def test_escalation_hands_the_case_to_the_committee_one_tier_up(units, secretary):
    case = village_case(status=Status.IN_HANDLING, accepted_at=dt.datetime(2026, 3, 1, tzinfo=STATUTE_TZ))

    case = apply(case, "escalate", secretary, case.version, reason="涉及多个部门")

    assert (case.status, case.tier, case.unit.code, case.responsible_person) == (
        Status.IN_HANDLING,
        Tier.TOWNSHIP,
        f"TC-{TOWNSHIP}",
        "街道书记张某",
    )
    assert case.events.get().changes["tier"] == ["village", "township"]


def test_a_banner_case_escalated_goes_on_the_next_joint_meeting_agenda(units, secretary):
    case = village_case(tier=Tier.BANNER, unit=units["banner"], legacy=True)
    sunday = dt.datetime(2026, 3, 1, 9, tzinfo=STATUTE_TZ)

    case = apply(case, "escalate", secretary, case.version, reason="历史遗留，需联席会议研究", now=sunday)

    assert (case.tier, case.status, case.agenda_date) == (Tier.BANNER, Status.REPORTED, dt.date(2026, 3, 2))


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
