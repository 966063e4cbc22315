"""`manage.py tick`: each morning overdue cases climb one tier and overdue banner cases reach the joint meeting."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from geo_disputes.models import Case, CaseEvent, Unit
from geo_disputes.models.cases import Status, Tier
from geo_disputes.services.clock import STATUTE_TZ
from geo_disputes.services.supervision import run_tick
from geo_disputes.services.workflow import apply
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

TOWNSHIP, VILLAGE = "150622104", "150622104201"  # 沙圪堵镇, 不拉村
MONDAY_MARCH_2 = dt.date(2026, 3, 2)  # a joint-meeting day
TUESDAY = dt.date(2026, 3, 10)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=STATUTE_TZ)


def days_before(day: dt.date, n: int) -> dt.datetime:
    return at(day - dt.timedelta(days=n))


@pytest.fixture
def units(db) -> dict[str, Unit]:
    specs = {
        Tier.VILLAGE: (f"VC-{VILLAGE}", Unit.Kind.VILLAGE_COMMITTEE),
        Tier.TOWNSHIP: (f"TC-{TOWNSHIP}", Unit.Kind.TOWNSHIP_COMMITTEE),
        Tier.BANNER: ("BL-150622", Unit.Kind.BANNER_LEADERSHIP),
        Tier.MINING_COURT: ("MC-150622", Unit.Kind.MINING_COURT),
    }
    return {tier: Unit.objects.create(code=code, name=code, kind=kind) for tier, (code, kind) in specs.items()}


def case_at(tier: str, units: dict[str, Unit], **fields) -> Case:
    return CaseFactory(tier=tier, unit=units[tier], township_code=TOWNSHIP, village_code=VILLAGE, **fields)


def test_a_village_case_left_unaccepted_past_day_15_goes_to_the_township(units):
    late = case_at(Tier.VILLAGE, units, received_at=days_before(TUESDAY, 16))
    on_time = case_at(Tier.VILLAGE, units, received_at=days_before(TUESDAY, 15))

    report = run_tick(TUESDAY)

    late.refresh_from_db()
    assert (late.tier, late.unit.code, late.status) == (Tier.TOWNSHIP, f"TC-{TOWNSHIP}", Status.REPORTED)
    event = late.events.get()
    assert (event.actor, event.action, event.changes["tier"]) == (None, "escalate", ["village", "township"])
    assert (
        event.reason
        == "overdue by 1 day(s): acceptance decision (条例 Art. 23: 15 days from receipt) was due 2026-03-09"
    )
    assert event.changes["missed"] == "accept_by:2026-03-09"
    assert on_time.events.count() == 0 and Case.objects.get(pk=on_time.pk).tier == Tier.VILLAGE
    assert report.escalated == [
        f"{late.reference}: village → township (TC-{TOWNSHIP}); overdue by 1 day(s): "
        "acceptance decision (条例 Art. 23: 15 days from receipt) was due 2026-03-09"
    ]


def test_an_overdue_mining_court_case_goes_to_the_banner_and_onto_the_next_joint_meeting(units):
    accepted = days_before(TUESDAY, 61)
    case = case_at(Tier.MINING_COURT, units, received_at=accepted, status=Status.IN_HANDLING, accepted_at=accepted)

    report = run_tick(TUESDAY)

    case.refresh_from_db()
    assert (case.tier, case.unit.code, case.agenda_date) == (Tier.BANNER, "BL-150622", dt.date(2026, 4, 6))
    assert [e.changes.get("agenda_date") for e in case.events.all()] == [None, [None, "2026-04-06"]]
    assert (len(report.escalated), len(report.listed)) == (1, 1)


def test_an_overdue_banner_case_is_listed_again_when_a_meeting_passes_without_settling_it(units):
    case = case_at(Tier.BANNER, units, received_at=days_before(dt.date(2026, 2, 20), 16))

    run_tick(dt.date(2026, 2, 20))
    case.refresh_from_db()
    assert case.agenda_date == MONDAY_MARCH_2
    assert run_tick(MONDAY_MARCH_2).listed == []  # the meeting sits today: still on its agenda

    run_tick(TUESDAY)
    case.refresh_from_db()
    assert case.agenda_date == dt.date(2026, 4, 6)
    assert case.events.count() == 2


def test_tick_is_idempotent_the_same_day_and_the_next(units):
    for tier, age in [(Tier.VILLAGE, 16), (Tier.VILLAGE, 40), (Tier.TOWNSHIP, 20), (Tier.MINING_COURT, 30)]:
        case_at(tier, units, received_at=days_before(TUESDAY, age))
    case_at(Tier.BANNER, units, received_at=days_before(TUESDAY, 17))
    case_at(Tier.VILLAGE, units, received_at=days_before(TUESDAY, 3))

    def state() -> tuple:
        return (
            CaseEvent.objects.count(),
            sorted(Case.objects.values_list("reference", "tier", "version", "agenda_date")),
        )

    first = run_tick(TUESDAY)
    after_first = state()
    second = run_tick(TUESDAY)
    next_day = run_tick(TUESDAY + dt.timedelta(days=1))

    assert (len(first.escalated), len(first.listed)) == (4, 3)  # township and mining court cases reach the banner
    assert (second.escalated, second.listed, next_day.escalated, next_day.listed) == ([], [], [], [])
    assert state() == after_first


def test_a_case_escalated_by_hand_after_its_deadline_is_not_escalated_again(units, django_user_model):
    case = case_at(Tier.VILLAGE, units, received_at=days_before(TUESDAY, 18))
    officer = django_user_model.objects.create_user("grid_agent")
    apply(case, "escalate", officer, case.version, reason="农户多次来访", now=at(TUESDAY - dt.timedelta(days=1)))

    assert run_tick(TUESDAY).escalated == []
    assert Case.objects.get(pk=case.pk).tier == Tier.TOWNSHIP


def test_a_new_missed_deadline_escalates_again(units):
    received = days_before(TUESDAY, 80)
    case = case_at(Tier.VILLAGE, units, received_at=received)
    run_tick((received + dt.timedelta(days=16)).date())  # acceptance missed → township
    case.refresh_from_db()
    case = apply(case, "accept", None, case.version, now=received + dt.timedelta(days=17))

    run_tick(TUESDAY)  # conclusion (day 60 after acceptance on day 17) missed on day 78 → banner

    case.refresh_from_db()
    assert case.tier == Tier.BANNER
    assert [e.changes.get("missed") for e in case.events.filter(action="escalate")] == [
        f"accept_by:{(received + dt.timedelta(days=15)).date()}",
        f"conclude_by:{(received + dt.timedelta(days=77)).date()}",
        f"conclude_by:{(received + dt.timedelta(days=77)).date()}",
    ]


def test_the_command_prints_what_it_did_and_refuses_a_bad_date(units):
    late = case_at(Tier.VILLAGE, units, received_at=days_before(TUESDAY, 20))
    out = StringIO()

    call_command("tick", "--today", "2026-03-10", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"escalated {late.reference}: village → township")
    assert lines[-1] == "tick 2026-03-10: 1 escalated, 0 listed for the joint meeting, 0 skipped"
    with pytest.raises(CommandError, match="--today must be a date YYYY-MM-DD"):
        call_command("tick", "--today", "10/03/2026")
