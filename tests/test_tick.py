"""`manage.py tick`: each morning overdue matters are supervised where they are — never moved up a tier."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from geo_disputes.models import Case, CaseEvent, SupervisionAct, Unit
from geo_disputes.models.cases import Procedure, Status, Tier
from geo_disputes.services.cases.clock import STATUTE_TZ
from geo_disputes.services.cases.supervision import run_tick
from tests.factories import CaseFactory, StaffFactory, as_role

pytestmark = pytest.mark.django_db

TOWNSHIP, VILLAGE = "150622104", "150622104201"  # 沙圪堵镇, 不拉村
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
        Tier.BANNER: ("BD-water", Unit.Kind.BANNER_DEPARTMENT),
        Tier.MINING_COURT: ("MC-150622", Unit.Kind.MINING_COURT),
    }
    made = {tier: Unit.objects.create(code=code, name=code, kind=kind) for tier, (code, kind) in specs.items()}
    Unit.objects.create(code="BD-petitions", name="旗信访局", kind=Unit.Kind.BANNER_DEPARTMENT)
    Unit.objects.create(code="BL-150622", name="旗领导", kind=Unit.Kind.BANNER_LEADERSHIP)
    return made


def case_at(tier: str, units: dict[str, Unit], **fields) -> Case:
    return CaseFactory(tier=tier, unit=units[tier], township_code=TOWNSHIP, village_code=VILLAGE, **fields)


def holders() -> list[tuple]:
    return sorted(Case.objects.values_list("reference", "tier", "unit_id", "status", "version", "procedure"))


def test_a_village_matter_left_unaccepted_past_day_15_is_supervised_by_its_township_and_stays_in_the_village(units):
    late = case_at(Tier.VILLAGE, units, received_at=days_before(TUESDAY, 16))  # accept_by Monday 9 March
    on_time = case_at(Tier.VILLAGE, units, received_at=days_before(TUESDAY, 15))

    report = run_tick(TUESDAY)

    late.refresh_from_db()
    assert (late.tier, late.unit.code, late.status, late.version) == (Tier.VILLAGE, f"VC-{VILLAGE}", "reported", 1)
    act = late.supervision_acts.get()
    assert (act.kind, act.unit.code, act.ordered_by, act.deadline, act.missed) == (
        "urge",
        f"VC-{VILLAGE}",
        f"TC-{TOWNSHIP} TC-{TOWNSHIP}",
        TUESDAY + dt.timedelta(days=7),
        "accept_by:2026-03-09",
    )
    assert "逾期1日" in act.reason and "2026-03-09" in act.reason
    # One Chinese half and one English half, so the page shows one language (not "督办:逾期1日 / overdue …: 受理…").
    chinese, english = act.reason.split(" / ")
    assert "受理告知" in chinese and "overdue" not in chinese and "受理" not in english
    page = Client()
    page.force_login(StaffFactory(role="banner_admin").user)
    html = page.get(f"/cases/{late.reference}/").content.decode()
    assert "受理告知期限(条例第23条,15日) 2026-03-09" in html and "accept_by:" not in html  # not the stored key
    event = late.events.get()
    assert (event.actor, event.action, event.changes["kind"]) == (None, "supervise", "urge")
    assert not on_time.supervision_acts.exists() and not on_time.events.exists()
    assert report.supervised[0].startswith(f"{late.reference}: 督办 VC-{VILLAGE} by TC-{TOWNSHIP}")

    shown = as_role("banner_admin").get(f"/api/cases/{late.reference}/").json()
    assert (shown["tier"], shown["unit"]["code"]) == ("village", f"VC-{VILLAGE}")
    assert shown["supervision"] == [
        {
            "kind": "urge",
            "kind_label": "督办",
            "unit": f"VC-{VILLAGE}",
            "ordered_by": f"TC-{TOWNSHIP} TC-{TOWNSHIP}",
            "at": "2026-03-10T01:00:00+08:00",
            "deadline": "2026-03-17",
            "reason": act.reason,
        }
    ]


def test_tick_never_changes_the_tier_unit_status_or_version_of_any_matter(units):
    for tier, age in [(Tier.VILLAGE, 16), (Tier.VILLAGE, 40), (Tier.TOWNSHIP, 20), (Tier.BANNER, 90)]:
        case_at(tier, units, received_at=days_before(TUESDAY, age))
    accepted = days_before(TUESDAY, 70)
    case_at(Tier.TOWNSHIP, units, received_at=accepted, status=Status.IN_HANDLING, accepted_at=accepted)
    case_at(Tier.MINING_COURT, units, received_at=accepted, status=Status.IN_HANDLING, accepted_at=accepted)
    case_at(
        Tier.VILLAGE,
        units,
        procedure=Procedure.MEDIATION,
        status=Status.ON_AGENDA,
        received_at=accepted,
        agenda_deadline=TUESDAY - dt.timedelta(days=3),
    )
    before = holders()

    for offset in range(0, 120, 3):
        run_tick(TUESDAY + dt.timedelta(days=offset))

    assert holders() == before
    assert not CaseEvent.objects.filter(action="escalate").exists()
    assert SupervisionAct.objects.count() > 6


def test_mining_court_and_court_matters_are_never_supervised_by_leaders(units):
    accepted = days_before(TUESDAY, 90)
    court = case_at(Tier.MINING_COURT, units, procedure=Procedure.LITIGATION, status=Status.FILED, received_at=accepted)
    # Even a matter at the mining court recorded on the petition procedure is left to the court.
    odd = case_at(Tier.MINING_COURT, units, received_at=accepted, status=Status.IN_HANDLING, accepted_at=accepted)

    run_tick(TUESDAY)

    assert not SupervisionAct.objects.filter(case__in=[court, odd]).exists()


def test_supervision_climbs_from_urge_to_summon_notice_and_listed_while_the_matter_stays_overdue(units):
    case = case_at(Tier.TOWNSHIP, units, received_at=days_before(TUESDAY, 16))

    kinds = []
    for offset in range(0, 80):
        report = run_tick(TUESDAY + dt.timedelta(days=offset))
        kinds += [line.split(": ")[1].split(" ")[0] for line in report.supervised]

    # Worked out from the ladder (DOMAIN.md): urge (report within 7 days), summon (7), notice (15), listed (30,
    # repeated while the matter stays overdue); each next act comes on the first day after the last deadline.
    ladder = [("urge", "督办", 7), ("summon", "约谈", 7), ("notice", "通报", 15), ("listed", "挂牌督办", 30)]
    expected, day, step = [], 0, 0
    while day < 80:
        kind, label, days = ladder[min(step, len(ladder) - 1)]
        expected.append((kind, label, TUESDAY + dt.timedelta(days=day), TUESDAY + dt.timedelta(days=day + days)))
        day, step = day + days + 1, step + 1
    assert [e[2] for e in expected] == [TUESDAY + dt.timedelta(days=d) for d in (0, 8, 16, 32, 63)]
    assert kinds == [label for _, label, _, _ in expected]
    acts = list(case.supervision_acts.values_list("kind", "at__date", "deadline", "ordered_by"))
    assert [(kind, at, deadline) for kind, at, deadline, _ in acts] == [(k, at, d) for k, _, at, d in expected]
    assert {a[3] for a in acts} == {"BD-petitions 旗信访局"}  # a township is supervised by the banner bureau


def test_tick_is_idempotent_the_same_day_and_the_next(units):
    for tier, age in [(Tier.VILLAGE, 16), (Tier.VILLAGE, 40), (Tier.TOWNSHIP, 20), (Tier.BANNER, 17)]:
        case_at(tier, units, received_at=days_before(TUESDAY, age))
    case_at(Tier.VILLAGE, units, received_at=days_before(TUESDAY, 3))

    def state() -> tuple:
        return CaseEvent.objects.count(), SupervisionAct.objects.count(), holders()

    first = run_tick(TUESDAY)
    after_first = state()
    second = run_tick(TUESDAY)
    next_day = run_tick(TUESDAY + dt.timedelta(days=1))

    assert len(first.supervised) == 4
    assert (second.supervised, next_day.supervised) == ([], [])
    assert state() == after_first


def test_a_joint_meeting_deadline_is_supervised_whatever_the_procedure(units):
    meeting = case_at(
        Tier.BANNER,
        units,
        procedure=Procedure.MEDIATION,
        status=Status.ON_AGENDA,
        received_at=days_before(TUESDAY, 50),
        agenda_deadline=TUESDAY - dt.timedelta(days=1),
    )

    before = (meeting.status, meeting.agenda_date, meeting.agenda_deadline, meeting.unit_id, meeting.version)
    run_tick(TUESDAY)

    act = meeting.supervision_acts.get()
    assert (act.missed, act.unit.code) == (f"agenda_deadline:{TUESDAY - dt.timedelta(days=1)}", "BD-water")
    assert (act.kind, act.deadline) == ("urge", TUESDAY + dt.timedelta(days=7))
    meeting.refresh_from_db()  # supervised where it is: still on the meeting's agenda, same date, same holder
    assert (meeting.status, meeting.agenda_date, meeting.agenda_deadline, meeting.unit_id, meeting.version) == before


def test_a_repeat_petition_runs_no_clock_and_is_never_supervised(units):
    original = case_at(Tier.VILLAGE, units, received_at=days_before(TUESDAY, 3))
    repeat = case_at(Tier.VILLAGE, units, received_at=days_before(TUESDAY, 40), status=Status.REPEAT)
    repeat.repeat_of = original
    repeat.save()

    run_tick(TUESDAY)

    assert not repeat.supervision_acts.exists()


def test_a_supervisor_may_order_supervision_by_hand_and_the_case_stays_put(units):
    case = case_at(Tier.VILLAGE, units, received_at=days_before(TUESDAY, 20))
    officer = StaffFactory(role="township_officer", scope_code=TOWNSHIP).user
    client = APIClient()
    client.force_authenticate(officer)
    body = {
        "action": "supervise",
        "kind": "summon",
        "reason": "约谈村支书,限期受理",
        "deadline": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
    }
    shown = client.post(f"/api/cases/{case.reference}/transitions/", body, format="json").json()
    assert (shown["tier"], shown["unit"]["code"], shown["status"]) == ("village", f"VC-{VILLAGE}", "reported")
    assert shown["supervision"][0]["kind"] == "summon"
    assert shown["supervision"][0]["ordered_by"] == officer.username


def test_the_command_prints_what_it_did_and_refuses_a_bad_date(units):
    late = case_at(Tier.VILLAGE, units, received_at=days_before(TUESDAY, 20))
    out = StringIO()

    call_command("tick", "--today", "2026-03-10", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"supervised {late.reference}: 督办 VC-{VILLAGE}")
    assert lines[-1] == "tick 2026-03-10: 1 supervised, 0 skipped"
    with pytest.raises(CommandError, match="--today must be a date YYYY-MM-DD"):
        call_command("tick", "--today", "10/03/2026")


def test_only_a_superior_may_order_supervision(units):
    village_case = case_at(Tier.VILLAGE, units, received_at=days_before(TUESDAY, 20))
    township_case = case_at(Tier.TOWNSHIP, units, received_at=days_before(TUESDAY, 20))
    body = {
        "action": "supervise",
        "kind": "urge",
        "reason": "限期",
        "deadline": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
    }

    def post(role: str, scope: str, case: Case) -> int:
        client = APIClient()
        client.force_authenticate(StaffFactory(role=role, scope_code=scope).user)
        return client.post(f"/api/cases/{case.reference}/transitions/", body, format="json").status_code

    assert post("township_officer", TOWNSHIP, village_case) == 200
    assert post("township_officer", TOWNSHIP, township_case) == 403  # not its own committee
    assert post("grid_worker", f"{VILLAGE}-001", village_case) in (403, 404)
    assert post("banner_admin", "", township_case) == 200


def _supervised_on(day: dt.date) -> list[str]:
    """The `missed` deadline keys of the acts a tick on `day` records."""
    before = set(SupervisionAct.objects.values_list("pk", flat=True))
    run_tick(day)
    return sorted(SupervisionAct.objects.exclude(pk__in=before).values_list("missed", flat=True))


def test_an_extended_matter_is_supervised_only_after_its_extended_deadline(units):
    """Accepted 2 December 2025 and extended by 30 days (Art. 34): concluded by 2 March 2026 (day 90, a Monday), not
    by day 60 — the tick leaves it alone until the day after 2 March."""
    case = case_at(
        Tier.TOWNSHIP,
        units,
        procedure=Procedure.PETITION,
        status=Status.ACCEPTED,
        received_at=at(dt.date(2025, 11, 28)),
        accepted_at=at(dt.date(2025, 12, 2)),
        extension_days=30,
    )
    assert _supervised_on(dt.date(2026, 2, 10)) == []  # past day 60, within the extension
    assert _supervised_on(dt.date(2026, 3, 2)) == []  # the last day
    assert _supervised_on(dt.date(2026, 3, 3)) == ["conclude_by:2026-03-02"]
    case.refresh_from_db()
    assert (case.status, case.tier, case.unit_id) == (Status.ACCEPTED, Tier.TOWNSHIP, units[Tier.TOWNSHIP].pk)


def test_an_overdue_review_is_supervised_on_its_30_day_deadline(units):
    """A review requested on 2 February 2026 is decided by 4 March (30 days, a Wednesday); the matter's own
    conclusion deadline passed long before and is no longer what binds its holder."""
    case_at(
        Tier.BANNER,
        units,
        procedure=Procedure.PETITION,
        status=Status.REVIEW_REQUESTED,
        received_at=at(dt.date(2025, 9, 1)),
        accepted_at=at(dt.date(2025, 9, 3)),
        served_at=at(dt.date(2025, 11, 3)),
        review_round=1,
        review_requested_at=at(dt.date(2026, 2, 2)),
    )
    assert _supervised_on(dt.date(2026, 3, 4)) == []
    assert _supervised_on(dt.date(2026, 3, 5)) == ["review_decide_by:2026-03-04"]
