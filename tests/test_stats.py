"""services.analysis.stats and /api/stats/: every indicator checked exactly on a known set of cases, each
definition on small hand-built sets driven through services.cases.workflow (where the right answer is
known), the counting rules (a case group once, repeats not at all), scope and parameters."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from geo_disputes.models import CaseGroup, FollowUp, Unit
from geo_disputes.services.analysis import stats
from geo_disputes.services.cases import workflow
from geo_disputes.services.cases.clock import STATUTE_TZ
from geo_disputes.services.cases.workflow import record_supervision
from tests.factories import CaseFactory, StaffFactory, UserFactory, seed_places

pytestmark = pytest.mark.django_db

TOWNSHIP, VILLAGE = "150622106", "150622106202"  # 魏家峁镇 双敖包村
OTHER_TOWNSHIP, OTHER_VILLAGE = "150622101", "150622101206"  # 沙圪堵镇 不拉村
TODAY = dt.date(2026, 6, 30)
PERIOD = stats.Period(dt.date(2026, 1, 1), dt.date(2026, 6, 30))


def at(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=STATUTE_TZ)


@pytest.fixture
def known():
    """Fourteen matters in the period (seventeen petitions), plus cases the period, area or rules leave out.

    On-time is judged with the clock: conclude_by = acceptance day + 60 (+ extension).
    """
    seed_places()
    unit = {u.code: u for u in Unit.objects.all()}
    vc, tc, bl, mc = unit[f"VC-{VILLAGE}"], unit[f"TC-{TOWNSHIP}"], unit["BL-150622"], unit["MC-150622"]

    def case(ref, received, *, village=VILLAGE, **facts):
        return CaseFactory(
            reference=ref, received_at=received, township_code=village[:9], village_code=village, **facts
        )

    def concluded(ref, received, accepted, replied, **facts):
        facts.setdefault("status", "closed")
        return case(ref, received, accepted_at=accepted, replied_at=replied, **facts)

    made = {}
    # Village tier.
    made["A"] = concluded(
        "A",
        at(2026, 3, 1),
        at(2026, 3, 2),
        at(2026, 3, 20),
        unit=vc,
        resolution_method="mediation",
        satisfaction="satisfied",
    )
    made["B"] = concluded(
        "B",
        at(2026, 3, 1),
        at(2026, 3, 2),
        at(2026, 5, 10),
        unit=vc,
        channel="grid_agent",
        resolution_method="explanation",
        satisfaction="basically_satisfied",
    )  # replied 9 days after conclude_by (1 May): late
    made["C"] = case(
        "C", at(2026, 3, 1), unit=vc, channel="grid_agent", status="in_handling", accepted_at=at(2026, 3, 2)
    )  # overdue since 2 May
    made["D"] = case("D", at(2026, 6, 25), unit=vc, channel="grid_agent")  # reported; accept_by 10 July
    made["J"] = case("J", at(2026, 3, 5), unit=vc, status="not_accepted")
    made["K"] = case("K", at(2026, 5, 1), unit=vc, status="accepted", accepted_at=at(2026, 5, 2))  # due 1 July
    made["R"] = case(
        "R", at(2026, 3, 15), unit=vc, channel="phone", repeat_of=made["C"]
    )  # a repeat: overdue for acceptance, but never counted as a matter
    # Township tier: a case group of three (one matter) and one more.
    group = CaseGroup.objects.create(title="双敖包村3户房屋开裂", category="mining_subsidence")
    for i in range(3):
        made[f"G{i}"] = concluded(
            f"G{i}",
            at(2026, 2, 1, 9 + i),
            at(2026, 2, 5),
            at(2026, 3, 10),
            tier="township",
            unit=tc,
            channel="visit",
            category="mining_subsidence",
            group=group,
            resolution_method="judicial_confirmation",
            satisfaction="satisfied",
        )
    made["E"] = concluded(
        "E",
        at(2026, 4, 1),
        at(2026, 4, 1),
        at(2026, 4, 20),
        tier="township",
        unit=tc,
        resolution_method="mediation",
        satisfaction="dissatisfied",
    )
    # Mining court.
    made["F"] = concluded(
        "F",
        at(2026, 1, 20),
        at(2026, 2, 1),
        at(2026, 2, 20),
        tier="mining_court",
        unit=mc,
        procedure="litigation",
        resolution_method="mediation",
    )
    made["M"] = concluded(
        "M",
        at(2026, 4, 1),
        at(2026, 4, 2),
        at(2026, 4, 30),
        tier="mining_court",
        unit=mc,
        procedure="litigation",
        resolution_method="judicial_confirmation",
    )
    made["H"] = concluded(
        "H",
        at(2026, 2, 1),
        at(2026, 2, 2),
        at(2026, 3, 1),
        tier="mining_court",
        unit=mc,
        procedure="litigation",
        resolution_method="litigation",
    )
    for ref, received in (("H25a", at(2025, 2, 1)), ("H25b", at(2025, 5, 1)), ("H25c", at(2025, 8, 1))):
        made[ref] = concluded(
            ref,
            received,
            received,
            received + dt.timedelta(days=30),
            tier="mining_court",
            unit=mc,
            resolution_method="litigation",
        )  # a year earlier: two in the comparison window (1 Jan – 30 Jun 2025), one after it
    # Banner tier.
    made["I"] = case(
        "I",
        at(2026, 1, 5),
        tier="banner",
        unit=bl,
        legacy=True,
        status="on_agenda",
        accepted_at=at(2026, 1, 10),
        above_banner="beijing",
    )  # overdue since 12 March; the petitioner went to Beijing
    made["L"] = concluded(
        "L",
        at(2026, 1, 25),
        at(2026, 2, 1),
        at(2026, 2, 25),
        tier="banner",
        unit=bl,
        resolution_method="administrative_decision",
    )
    # Another village (the area filter and scope leave it out) and a case before the period.
    made["O"] = concluded(
        "O",
        at(2026, 3, 3),
        at(2026, 3, 3),
        at(2026, 3, 10),
        village=OTHER_VILLAGE,
        unit=unit[f"VC-{OTHER_VILLAGE}"],
        resolution_method="mediation",
    )
    made["before"] = concluded("before", at(2025, 12, 31, 23), at(2026, 1, 2), at(2026, 1, 9), unit=vc)
    # Follow-ups: satisfaction comes only from here (Case.satisfaction set by hand above is ignored).
    for ref, answer in (("A", "satisfied"), ("E", "satisfied"), ("E", "dissatisfied")):
        FollowUp.objects.create(case=made[ref], at=at(2026, 5, 1), by="回访员", method="phone", satisfaction=answer)
    FollowUp.objects.create(case=made["F"], at=at(2026, 5, 1), by="回访员", method="phone", unreachable=True)
    return made


def admin():
    return StaffFactory(role="banner_admin").user


def test_every_indicator_on_the_known_cases(known):
    result = stats.indicators(admin(), PERIOD, today=TODAY)

    assert result["cases_total"] == 14  # 17 petitions: the group of 3 is one matter; the repeat R none
    assert result["concluded"] == 9
    assert result["by_tier"] == {"village": 7, "township": 2, "banner": 2, "mining_court": 3}
    assert result["by_status"]["closed"] == 9 and sum(result["by_status"].values()) == 14
    assert set(result["by_status"]) == {value for value, _ in workflow.Status.choices}
    assert result["by_procedure"] == {
        "mediation": 0,
        "petition": 11,
        "litigation": 3,
        "arbitration": 0,
        "administrative": 0,
        "discipline": 0,
    }
    # 小事不出村: first at village A, B, C, D, J, K, O; concluded or left the village: A, B, O — all at village.
    assert (result["counts"]["first_at_village"], result["counts"]["village_decided"]) == (7, 3)
    assert result["concluded_at_village_share"] == 1.0
    # 大事不出镇: A, B, O (village) + G, E (township) of 9; the mining court (F, M, H) on its own; L banner.
    assert result["counts"]["concluded_by_tier"] == {"village": 3, "township": 2, "banner": 1, "mining_court": 3}
    assert result["concluded_at_or_below_township_share"] == round(5 / 9, 6)
    assert result["mining_court_concluded_share"] == round(3 / 9, 6)
    assert result["above_banner"] == {
        "total": 1,
        "by_kind": {"city": 0, "region": 0, "beijing": 1, "assigned_from_above": 0},
        "share": round(1 / 14, 6),
    }
    assert "escalated_to_banner_share" not in result
    assert result["conclusion_rate"] == round(9 / 13, 6)  # J was not accepted
    # Stages (no history: acceptance at accepted_at, conclusion at replied_at). Acceptance: on time for the
    # nine accepted petitions (A B C K G E I L O; D not due, J never accepted). Conclusion: A G E L O on time;
    # B replied late, C and I open past conclude_by; K not due. The mining court's litigation is not counted.
    assert result["on_time_by_stage"]["accept"] == {"on_time": 9, "late": 0, "rate": 1.0}
    assert result["on_time_by_stage"]["conclude"] == {"on_time": 5, "late": 3, "rate": 0.625}
    assert result["on_time_by_stage"]["review"] == {"on_time": 0, "late": 0, "rate": None}
    assert result["on_time_rate"] == round(14 / 17, 6)
    assert result["overdue_open"] == 2
    assert result["overdue_by_unit"] == [
        {"unit_code": "BL-150622", "unit_name": "旗领导包案", "overdue": 1},
        {"unit_code": f"VC-{VILLAGE}", "unit_name": "双敖包村村委会", "overdue": 1},
    ]
    assert result["counts"]["due_soon_open"] == 1  # K, due tomorrow
    # Follow-ups: A and E reached (E's latest answer counts), F unreachable; of 9 concluded.
    assert result["follow_up"] == {
        "concluded": 9,
        "reached": 2,
        "participation_rate": round(2 / 9, 6),
        "unreachable": 1,
    }
    assert result["satisfaction"]["rated"] == 2
    assert result["satisfaction"]["counts"] == {"satisfied": 1, "basically_satisfied": 0, "dissatisfied": 1}
    assert (result["agent_handled"], result["agent_concluded"]) == (3, 1)  # B, C, D; B concluded
    assert result["procedures"]["mining_court"] == {"matters": 3, "mediated": 2, "judged": 1}
    assert result["mining_court_mediated"] == 2  # F (mediation), M (judicial confirmation); not G (township)
    assert result["litigation"] == {"this_period": 1, "year_earlier": 2}
    assert result["litigation_yoy_change"] == -0.5
    assert result["township_complex_resolved"] == 2  # the group once, and E
    assert result["repeat_rate"] == round(1 / 17, 6)  # 14 matters + 2 more group members + R
    assert result["by_month"] == [
        {"month": "2026-01", "received": 3, "concluded": 2},  # I, L, F
        {"month": "2026-02", "received": 2, "concluded": 2},  # the group, H
        {"month": "2026-03", "received": 5, "concluded": 3},  # A, B, C, J, O (R is a repeat)
        {"month": "2026-04", "received": 2, "concluded": 2},  # E, M
        {"month": "2026-05", "received": 1, "concluded": 0},  # K
        {"month": "2026-06", "received": 1, "concluded": 0},  # D
    ]
    assert set(stats.DEFINITIONS) <= set(result["definitions"])
    assert all(" / " in text for text in stats.DEFINITIONS.values())  # Chinese / English


def test_a_group_counts_once_and_a_repeat_not_at_all(known):
    group = known["G0"].group
    before = stats.indicators(admin(), PERIOD, today=TODAY)
    for i in range(3, 8):  # five more households join the same event
        CaseFactory(
            reference=f"G{i}",
            received_at=at(2026, 2, 2),
            township_code=TOWNSHIP,
            village_code=VILLAGE,
            tier="township",
            unit=known["G0"].unit,
            status="closed",
            group=group,
            accepted_at=at(2026, 2, 5),
            replied_at=at(2026, 3, 10),
            resolution_method="judicial_confirmation",
        )
    CaseFactory(
        reference="R2",
        received_at=at(2026, 4, 1),
        township_code=TOWNSHIP,
        village_code=VILLAGE,
        channel="grid_agent",
        repeat_of=known["B"],
        status="closed",
        replied_at=at(2026, 4, 2),
    )
    after = stats.indicators(admin(), PERIOD, today=TODAY)
    for key in ("cases_total", "concluded", "township_complex_resolved", "agent_handled", "agent_concluded"):
        assert after[key] == before[key], key
    assert after["by_tier"] == before["by_tier"]
    assert after["counts"]["petitions"] == before["counts"]["petitions"] + 6
    assert after["repeat_rate"] == round(2 / 23, 6)


def test_area_and_scope(known):
    village_officer = StaffFactory(role="village_officer", scope_code=VILLAGE).user
    other_officer = StaffFactory(role="township_officer", scope_code=OTHER_TOWNSHIP).user

    mine = stats.indicators(village_officer, PERIOD, today=TODAY)
    assert mine["cases_total"] == 13  # everything but O, in 不拉村
    assert mine["concluded_at_village_share"] == 1.0  # A and B; O is in another village
    assert mine["counts"]["village_decided"] == 2

    theirs = stats.indicators(other_officer, PERIOD, today=TODAY)
    assert (theirs["cases_total"], theirs["concluded_at_village_share"]) == (1, 1.0)

    # A village officer asking for another village gets nothing of it.
    assert stats.indicators(village_officer, PERIOD, stats.Area(village=OTHER_VILLAGE), TODAY)["cases_total"] == 0
    # The banner admin narrows by area.
    assert stats.indicators(admin(), PERIOD, stats.Area(township=OTHER_TOWNSHIP), TODAY)["cases_total"] == 1
    assert stats.indicators(admin(), PERIOD, stats.Area(TOWNSHIP, VILLAGE), TODAY)["cases_total"] == 13
    # A user without a staff profile sees no case, so counts nothing.
    nobody = stats.indicators(UserFactory(), PERIOD, today=TODAY)
    assert nobody["cases_total"] == 0 and nobody["on_time_rate"] is None and nobody["litigation_yoy_change"] is None


def test_period_is_beijing_days(known):
    # "before" was received at 23:00 Beijing on 31 Dec 2025 (15:00 UTC): outside a period starting 1 Jan.
    assert (
        stats.indicators(admin(), stats.Period(dt.date(2025, 12, 31), dt.date(2025, 12, 31)), today=TODAY)[
            "cases_total"
        ]
        == 1
    )
    CaseFactory(reference="midnight", received_at=at(2026, 7, 1, 0), township_code=TOWNSHIP, village_code=VILLAGE)
    # 00:00 Beijing on 1 July is 16:00 UTC on 30 June: the period ending 30 June leaves it out.
    assert stats.indicators(admin(), PERIOD, today=TODAY)["cases_total"] == 14
    assert (
        stats.indicators(admin(), stats.Period(dt.date(2026, 7, 1), dt.date(2026, 7, 1)), today=TODAY)["cases_total"]
        == 1
    )


def test_resolve_period_and_area():
    today = dt.date(2026, 11, 25)
    assert stats.resolve_period(None, None, today) == stats.Period(dt.date(2025, 11, 26), today)
    assert stats.resolve_period(dt.date(2026, 1, 1), None, today).until == dt.date(2026, 12, 31)
    assert stats.resolve_period(None, dt.date(2024, 2, 29), today).since == dt.date(2023, 3, 1)
    assert stats.Period(dt.date(2024, 2, 29), dt.date(2024, 3, 31)).year_earlier() == stats.Period(
        dt.date(2023, 2, 28), dt.date(2023, 3, 31)
    )
    with pytest.raises(stats.StatsInputError) as exc:
        stats.resolve_period(dt.date(2026, 2, 1), dt.date(2026, 1, 1), today)
    assert exc.value.field == "until"
    with pytest.raises(stats.StatsInputError) as exc:
        stats.resolve_period(dt.date(2001, 1, 1), dt.date(2026, 1, 1), today)
    assert exc.value.field == "since"
    assert stats.resolve_area(TOWNSHIP, VILLAGE) == stats.Area(TOWNSHIP, VILLAGE)
    for township, village, field in (
        ("12345", "", "township"),
        ("", "1506221062", "village"),
        (OTHER_TOWNSHIP, VILLAGE, "village"),
    ):
        with pytest.raises(stats.StatsInputError) as exc:
            stats.resolve_area(township, village)
        assert exc.value.field == field


def test_change_and_share():
    assert stats.change(20, 47) == -0.574468
    assert round(stats.change(20, 47) * 100, 1) == -57.4
    assert stats.change(3, 0) is None
    assert stats.share(0, 0) is None
    assert stats.share(1, 3) == 0.333333


# The API ---------------------------------------------------------------------------------------

REQUIRED = (
    "cases_total",
    "by_tier",
    "by_status",
    "concluded_at_village_share",
    "concluded_at_or_below_township_share",
    "mining_court_concluded_share",
    "above_banner",
    "conclusion_rate",
    "on_time_by_stage",
    "follow_up",
    "follow_up_participation_rate",
    "procedures",
    "by_procedure",
    "on_time_rate",
    "agent_handled",
    "agent_concluded",
    "mining_court_mediated",
    "litigation_yoy_change",
    "repeat_rate",
    "satisfaction",
)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_returns_the_indicators_with_definitions(known):
    response = client_for(admin()).get("/api/stats/", {"since": "2026-01-01", "until": "2026-06-30"})
    assert response.status_code == 200
    body = response.json()
    for key in (*REQUIRED, "overdue_by_unit", "township_complex_resolved", "period", "definitions"):
        assert key in body, key
    for key in REQUIRED:
        assert body["definitions"][key], key
    assert body["period"] == {
        "since": "2026-01-01",
        "until": "2026-06-30",
        "year_earlier_since": "2025-01-01",
        "year_earlier_until": "2025-06-30",
    }
    assert (body["cases_total"], body["agent_handled"], body["mining_court_mediated"]) == (14, 3, 2)
    assert body["litigation_yoy_change"] == -0.5
    assert body["by_tier"] == {"village": 7, "township": 2, "banner": 2, "mining_court": 3}


def test_api_respects_scope_and_area(known):
    officer = StaffFactory(role="village_officer", scope_code=VILLAGE).user
    body = client_for(officer).get("/api/stats/", {"since": "2026-01-01", "until": "2026-06-30"}).json()
    assert body["cases_total"] == 13
    other = (
        client_for(officer)
        .get("/api/stats/", {"since": "2026-01-01", "until": "2026-06-30", "village": OTHER_VILLAGE})
        .json()
    )
    assert other["cases_total"] == 0
    narrowed = (
        client_for(admin())
        .get("/api/stats/", {"since": "2026-01-01", "until": "2026-06-30", "township": OTHER_TOWNSHIP})
        .json()
    )
    assert narrowed["cases_total"] == 1


@pytest.mark.parametrize(
    "query, field",
    [
        ({"since": "2026-13-01"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"since": "2026-06-01", "until": "2026-01-01"}, "until"),
        ({"township": "15062210"}, "township"),
        ({"village": "abc"}, "village"),
        ({"township": OTHER_TOWNSHIP, "village": VILLAGE}, "village"),
    ],
)
def test_api_bad_parameters_are_400_naming_the_field(query, field):
    response = client_for(admin()).get("/api/stats/", query)
    assert response.status_code == 400
    assert field in response.json()


def test_api_needs_login():
    assert APIClient().get("/api/stats/").status_code in (401, 403)


# Each definition on a small hand-built set, driven through the workflow with back-dated steps ----------


@pytest.fixture
def units():
    seed_places()
    return {u.code: u for u in Unit.objects.all()}


def step(case, action: str, when: dt.datetime, **params):
    """One back-dated workflow step; returns the saved case."""
    case.refresh_from_db()
    return workflow.apply(case, action, None, case.version, now=when, **params)


def matter(units, code: str, received: dt.datetime, **facts):
    tier = {"VC": "village", "TC": "township", "BL": "banner", "MC": "mining_court"}[code[:2]]
    return CaseFactory(
        received_at=received, township_code=TOWNSHIP, village_code=VILLAGE, unit=units[code], tier=tier, **facts
    )


VC, TC, MC = f"VC-{VILLAGE}", f"TC-{TOWNSHIP}", "MC-150622"


def test_a_matter_first_at_village_then_concluded_at_the_township_counts_against_small_matters(units):
    stays = matter(units, VC, at(2026, 3, 2), procedure="mediation")
    step(stays, "accept", at(2026, 3, 3))
    step(stays, "agreement", at(2026, 3, 10), text="退还草地", agreement_at=dt.date(2026, 3, 10))
    leaves = matter(units, VC, at(2026, 3, 2), procedure="mediation")
    step(leaves, "transfer", at(2026, 3, 4), unit=TC, reason="涉及多村,属乡镇调委会")
    step(leaves, "accept", at(2026, 3, 5))
    step(leaves, "agreement", at(2026, 3, 20), text="镇调委会调解成功", agreement_at=dt.date(2026, 3, 20))
    matter(units, VC, at(2026, 3, 2), procedure="mediation")  # still open at the village: not yet counted
    township_first = matter(units, TC, at(2026, 3, 2), procedure="mediation")
    step(township_first, "accept", at(2026, 3, 3))
    step(township_first, "agreement", at(2026, 3, 9), text="调解成功", agreement_at=dt.date(2026, 3, 9))

    result = stats.indicators(admin(), PERIOD, today=TODAY)
    assert result["counts"]["first_at_village"] == 3
    assert result["counts"]["village_decided"] == 2  # stays + leaves
    assert result["concluded_at_village_share"] == 0.5
    assert result["concluded_at_or_below_township_share"] == 1.0  # all three concluded at village or township
    assert result["procedures"]["mediation_agreements"] == 3


def test_the_mining_court_is_counted_on_its_own_not_with_the_township(units):
    for outcome in ("mediated", "judged"):
        court = matter(units, MC, at(2026, 2, 2), procedure="litigation")
        step(court, "conclude", at(2026, 3, 2), outcome=outcome, text="结案", at=dt.date(2026, 3, 2))
    town = matter(units, TC, at(2026, 2, 2), procedure="mediation")
    step(town, "accept", at(2026, 2, 3))
    step(town, "agreement", at(2026, 2, 20), text="调解成功", agreement_at=dt.date(2026, 2, 20))

    result = stats.indicators(admin(), PERIOD, today=TODAY)
    assert result["concluded"] == 3
    assert result["concluded_at_or_below_township_share"] == round(1 / 3, 6)
    assert result["mining_court_concluded_share"] == round(2 / 3, 6)
    assert result["procedures"]["mining_court"] == {"matters": 2, "mediated": 1, "judged": 1}
    assert result["on_time_rate"] is None  # courts and mediation set no deadline: nothing judged
    assert result["counts"]["stages_due"] == 0


def test_matters_that_went_above_the_banner_count_and_banner_tier_does_not(units):
    matter(units, TC, at(2026, 4, 1), above_banner="beijing")
    matter(units, TC, at(2026, 4, 1), above_banner="city")
    matter(units, "BL-150622", at(2026, 4, 1))  # held at the banner, never went above it
    matter(units, VC, at(2026, 4, 1))

    above = stats.indicators(admin(), PERIOD, today=TODAY)["above_banner"]
    assert above == {
        "total": 2,
        "by_kind": {"city": 1, "region": 0, "beijing": 1, "assigned_from_above": 0},
        "share": 0.5,
    }


def test_an_acceptance_decided_on_day_16_is_late_and_on_day_15_on_time(units):
    # Received Monday 2 March 2026: the 15 days end on Tuesday 17 March (a working day).
    on_time = matter(units, TC, at(2026, 3, 2))
    step(on_time, "accept", at(2026, 3, 17))
    late = matter(units, TC, at(2026, 3, 2))
    step(late, "accept", at(2026, 3, 18))
    rejected_late = matter(units, TC, at(2026, 3, 2))
    step(rejected_late, "reject", at(2026, 3, 20), reason="不属于信访事项")  # decided at the event's own time
    open_late = matter(units, TC, at(2026, 3, 2))  # never decided: late once 17 March has passed
    mediation = matter(units, VC, at(2026, 3, 2), procedure="mediation")
    step(mediation, "accept", at(2026, 4, 30))  # mediation has no acceptance deadline: not counted
    rows = stats.stage_rows(stats.period_cases(admin(), PERIOD), TODAY)
    accept = {(row["matter"], row["verdict"]) for row in rows if row["stage"] == "accept"}
    # A rejection records no date of its own: its event time (today, in a test) decides it, so it is late too.
    assert accept == {(on_time.id, "on_time"), (late.id, "late"), (open_late.id, "late"), (rejected_late.id, "late")}
    # `today` decides only whether an open stage is already late: on 17 March the open one is not yet.
    early = stats.stage_rows(stats.period_cases(admin(), PERIOD), dt.date(2026, 3, 17))
    assert open_late.id not in {row["matter"] for row in early if row["stage"] == "accept"}


def test_a_handling_opinion_after_conclude_by_is_late_and_an_extension_moves_it(units):
    early = matter(units, TC, at(2026, 1, 5))
    step(early, "accept", at(2026, 1, 6))
    step(early, "route", at(2026, 1, 7), route="handling_opinion")
    step(early, "opinion", at(2026, 3, 2), outcome="explain", text="解释说明")  # day 55
    late = matter(units, TC, at(2026, 1, 5))
    step(late, "accept", at(2026, 1, 6))
    step(late, "route", at(2026, 1, 7), route="handling_opinion")
    step(late, "opinion", at(2026, 3, 20), outcome="support", text="予以支持")  # day 73
    extended = matter(units, TC, at(2026, 1, 5))
    step(extended, "accept", at(2026, 1, 6))
    step(extended, "route", at(2026, 1, 7), route="handling_opinion")
    step(extended, "extend", at(2026, 2, 20), days=30, reason="需鉴定", approved_by="镇长", told_at="2026-02-20")
    step(extended, "opinion", at(2026, 3, 20), outcome="support", text="予以支持")  # within 60 + 30

    conclude = {
        row["matter"]: row["verdict"]
        for row in stats.stage_rows(stats.period_cases(admin(), PERIOD), TODAY)
        if row["stage"] == "conclude"
    }
    assert conclude == {early.id: "on_time", late.id: "late", extended.id: "on_time"}


def test_a_matter_transferred_late_is_not_the_receiving_units_overdue(units):
    # Held 23 days by the village, then transferred: the village's acceptance stage is late;
    # the township's own 15 days start at its receipt and it accepts within them.
    handed_late = matter(units, VC, at(2026, 3, 2))
    step(handed_late, "transfer", at(2026, 3, 25), unit=TC, reason="属乡镇职责")
    step(handed_late, "accept", at(2026, 3, 30))
    step(handed_late, "route", at(2026, 3, 31), route="handling_opinion")
    step(handed_late, "opinion", at(2026, 4, 20), outcome="explain", text="解释说明")
    # Transferred in time, then the township lets its own 15 days run out: the township's fault.
    township_late = matter(units, VC, at(2026, 3, 2))
    step(township_late, "transfer", at(2026, 3, 6), unit=TC, reason="属乡镇职责")
    township_late.refresh_from_db()
    record_supervision(
        township_late, kind="urge", reason="逾期未受理", deadline=dt.date(2026, 4, 30), at=at(2026, 3, 24)
    )

    ranking = {u["unit_code"]: u for u in stats.unit_performance(admin(), PERIOD, today=TODAY)}
    village, township = ranking[VC], ranking[TC]
    assert (village["own_late"], village["late"], village["on_time"], village["supervision_acts"]) == (1, 1, 1, 0)
    assert (township["own_late"], township["late"], township["on_time"], township["supervision_acts"]) == (1, 1, 2, 1)
    assert township["score"] == 2 and village["score"] == 1
    assert [u["unit_code"] for u in stats.unit_performance(admin(), PERIOD, today=TODAY)][:2] == [TC, VC]


def test_follow_up_participation_and_satisfaction_come_from_follow_ups_only(units):
    answered = matter(units, VC, at(2026, 3, 2), procedure="mediation")
    step(answered, "accept", at(2026, 3, 3))
    step(answered, "agreement", at(2026, 3, 10), text="调解成功", agreement_at=dt.date(2026, 3, 10))
    step(answered, "follow_up", at(2026, 3, 20), by="镇司法所", method="phone", unreachable=True)
    step(answered, "follow_up", at(2026, 3, 25), by="镇司法所", method="visit", satisfaction="basically_satisfied")
    unreachable = matter(units, VC, at(2026, 3, 2), procedure="mediation")
    step(unreachable, "accept", at(2026, 3, 3))
    step(unreachable, "agreement", at(2026, 3, 10), text="调解成功", agreement_at=dt.date(2026, 3, 10))
    step(unreachable, "follow_up", at(2026, 3, 20), by="镇司法所", method="phone", unreachable=True)
    matter(units, VC, at(2026, 3, 2), status="closed", satisfaction="satisfied")  # a hand-set answer: ignored

    result = stats.indicators(admin(), PERIOD, today=TODAY)
    assert result["follow_up"] == {
        "concluded": 3,
        "reached": 1,
        "participation_rate": round(1 / 3, 6),
        "unreachable": 1,
    }
    assert result["satisfaction"]["rated"] == 1
    assert result["satisfaction"]["shares"] == {"satisfied": 0.0, "basically_satisfied": 1.0, "dissatisfied": 0.0}


def test_judicial_confirmations_are_counted(units):
    case = matter(units, TC, at(2026, 3, 2), procedure="mediation")
    step(case, "accept", at(2026, 3, 3))
    step(case, "agreement", at(2026, 3, 10), text="按评估赔偿", agreement_at=dt.date(2026, 3, 10))
    step(
        case,
        "confirm",
        at(2026, 3, 20),
        court="准格尔旗人民法院",
        number="(2026)内0622民特1号",
        applied_at="2026-03-12",
        ruled_at="2026-03-20",
    )
    procedures = stats.indicators(admin(), PERIOD, today=TODAY)["procedures"]
    assert (procedures["mediation_agreements"], procedures["judicial_confirmations"]) == (1, 1)
