"""services.stats and /api/stats/: every indicator checked exactly on a known set of cases, the
counting rules (a case group once, repeats not at all), scope, parameters, and the seed's
figures on the full demo."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from geo_disputes.models import CaseGroup, Unit
from geo_disputes.services import stats
from geo_disputes.services.clock import STATUTE_TZ
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
        resolution_method="mediation",
    )
    made["M"] = concluded(
        "M",
        at(2026, 4, 1),
        at(2026, 4, 2),
        at(2026, 4, 30),
        tier="mining_court",
        unit=mc,
        resolution_method="judicial_confirmation",
    )
    made["H"] = concluded(
        "H",
        at(2026, 2, 1),
        at(2026, 2, 2),
        at(2026, 3, 1),
        tier="mining_court",
        unit=mc,
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
        "I", at(2026, 1, 5), tier="banner", unit=bl, legacy=True, status="on_agenda", accepted_at=at(2026, 1, 10)
    )  # overdue since 12 March
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
    return made


def admin():
    return StaffFactory(role="banner_admin").user


def test_every_indicator_on_the_known_cases(known):
    result = stats.indicators(admin(), PERIOD, today=TODAY)

    assert result["cases_total"] == 14  # 17 petitions: the group of 3 is one matter; the repeat R none
    assert result["concluded"] == 9
    assert result["by_tier"] == {"village": 7, "township": 2, "banner": 2, "mining_court": 3}
    assert result["by_status"] == {
        "reported": 1,
        "accepted": 1,
        "not_accepted": 1,
        "transferred": 0,
        "in_handling": 1,
        "on_agenda": 1,
        "resolved": 0,
        "evaluated": 0,
        "closed": 9,
        "review_requested": 0,
    }
    assert result["concluded_at_village_share"] == round(3 / 9, 6)  # A, B, O
    assert result["concluded_at_or_below_township_share"] == round(8 / 9, 6)  # all but L (banner)
    assert result["escalated_to_banner_share"] == round(2 / 14, 6)  # I, L
    assert result["conclusion_rate"] == round(9 / 13, 6)  # J was not accepted
    # On time: A, G, E, F, M, H, O, L (B was late); due = 9 concluded + 2 open overdue (C, I).
    assert result["counts"]["on_time"] == 8
    assert result["counts"]["due"] == 11
    assert result["on_time_rate"] == round(8 / 11, 6)
    assert result["overdue_open"] == 2
    assert result["overdue_by_unit"] == [
        {"unit_code": "BL-150622", "unit_name": "旗领导包案", "overdue": 1},
        {"unit_code": f"VC-{VILLAGE}", "unit_name": "双敖包村村委会", "overdue": 1},
    ]
    assert result["counts"]["due_soon_open"] == 1  # K, due tomorrow
    assert result["satisfaction"] == {
        "rated": 4,
        "counts": {"satisfied": 2, "basically_satisfied": 1, "dissatisfied": 1},
        "shares": {"satisfied": 0.5, "basically_satisfied": 0.25, "dissatisfied": 0.25},
    }
    assert (result["agent_handled"], result["agent_concluded"]) == (3, 1)  # B, C, D; B concluded
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
    assert mine["concluded_at_village_share"] == round(2 / 8, 6)

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
    "escalated_to_banner_share",
    "conclusion_rate",
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


# The seed's figures on the full demo -----------------------------------------------------------


def test_demo_reproduces_the_seed_figures(demo_areas):
    """118 agent matters / 94 concluded, 115 township complex matters, 45 mining-court mediations,
    litigation 47 → 20 = −57.4 % (demo year and full calendar years alike)."""
    from fixtures.demo_cases import YEAR_END, YEAR_START, load_demo_cases

    load_demo_cases()
    user = admin()
    year = stats.indicators(user, stats.Period(YEAR_START, YEAR_END), today=dt.date(2026, 11, 25))
    assert (year["agent_handled"], year["agent_concluded"]) == (118, 94)
    assert year["township_complex_resolved"] == 115
    assert year["mining_court_mediated"] == 45
    assert year["litigation"] == {"this_period": 20, "year_earlier": 47}
    assert round(year["litigation_yoy_change"] * 100, 1) == -57.4

    since_late_january = stats.indicators(user, stats.Period(dt.date(2026, 1, 25), YEAR_END), today=YEAR_END)
    assert since_late_january["mining_court_mediated"] == 45

    calendar = stats.indicators(user, stats.Period(dt.date(2026, 1, 1), dt.date(2026, 12, 31)), today=YEAR_END)
    assert calendar["litigation"] == {"this_period": 20, "year_earlier": 47}
    assert round(calendar["litigation_yoy_change"] * 100, 1) == -57.4
