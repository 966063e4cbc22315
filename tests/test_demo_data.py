"""The Zhungeer demo data: generated the same way every time, consistent, and loaded once.

The demo cases (fixtures/demo_cases.py) are loaded once for the class `TestDemoCases`, inside a
transaction rolled back after its last test, so the area tests around it never see them.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import time
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import F, QuerySet
from shapely import affinity

from fixtures import demo_cases as demo
from fixtures import zhungeer, zhungeer_checks
from fixtures.demo_cases import YEAR_END, load_demo_cases
from fixtures.demo_loader import load_demo_areas
from fixtures.demo_staff import load_demo_staff
from fixtures.tessellation import to_metric
from geo_disputes.models import (
    Banner,
    Case,
    CaseEvent,
    CaseGroup,
    FollowUp,
    Grid,
    MiningArea,
    Parcel,
    PersonalDataAccess,
    SupervisionAct,
    Township,
    Unit,
    Village,
)
from geo_disputes.models.cases import LegalOutcome, MediationOutcome, Procedure, Status
from geo_disputes.services.cases.clock import (
    OPEN_STATUSES,
    DueKind,
    DueState,
    annotate_dues,
    due_dates,
    holder_receipt,
    local_date,
    period_end,
)
from geo_disputes.services.cases.procedures import LEGAL_PROCEDURES, Track, track_of
from geo_disputes.services.cases.supervision import run_tick
from geo_disputes.services.cases.workflow import TRANSITIONS, Action

SEED_VILLAGES = {
    "150622106202": ("双敖包村", "150622106"),
    "150622101206": ("不拉村", "150622101"),
    "150622004201": ("苏计沟村", "150622004"),
}


@pytest.fixture(scope="module")
def data() -> zhungeer.DemoData:
    return zhungeer.generate()


def _fingerprint(data: zhungeer.DemoData) -> dict[str, list[tuple]]:
    return {
        layer: [(tuple(sorted((k, v) for k, v in r.items() if k != "geom")), r["geom"].wkb) for r in rows]
        for layer, rows in data.layers().items()
    }


def test_two_generations_are_identical(data):
    fresh = zhungeer.build()
    assert _fingerprint(fresh) == _fingerprint(data)


def test_generated_data_passes_its_checks(data):
    assert zhungeer_checks.find_problems(data) == []


def test_checks_catch_gaps_overlaps_and_misplaced_anchors(data):
    broken = copy.deepcopy(data)
    grid = broken.grids[0]
    grid["geom"] = affinity.translate(grid["geom"], xoff=0.01)  # ~850 m east
    broken.parcels[1]["geom"] = broken.parcels[0]["geom"]
    kq01 = next(m for m in broken.mining_areas if m["code"] == "KQ-01")
    kq03 = next(m for m in broken.mining_areas if m["code"] == "KQ-03")
    kq01["geom"], kq03["geom"] = kq03["geom"], kq01["geom"]

    problems = "\n".join(zhungeer_checks.find_problems(broken))

    assert f"grid {grid['code']} sticks out of its parent" in problems
    assert f"grids of {grid['village_code']} do not tile it" in problems
    assert f"parcel {broken.parcels[0]['code']} and {broken.parcels[1]['code']} overlap" in problems
    assert "哈尔乌素 (KQ-01) does not contain its anchor" in problems
    assert "魏家峁 (KQ-03) is not inside 魏家峁镇" in problems


def test_generated_counts_and_households(data):
    assert len(data.townships) == 15
    assert len(data.villages) == 201
    assert 8_000 <= len(data.grids) <= 13_000
    assert all(10 <= g["households"] <= 15 for g in data.grids)
    assert 330_000 <= sum(g["population"] for g in data.grids) <= 390_000
    assert 5_000 <= len(data.parcels) <= 15_000
    sujigou = [g for g in data.grids if g["village_code"] == "150622004201"]
    assert [g["code"] for g in sujigou] == [f"150622004201-{n:03d}" for n in range(1, len(sujigou) + 1)]
    assert sujigou[0]["name"] == "第1网格" and sujigou[0]["worker_phone"].startswith("138")


def test_urban_communities_are_denser_than_villages(data):
    area = {v["code"]: to_metric(v["geom"]).area for v in data.villages}
    households: dict[str, int] = {}
    for g in data.grids:
        households[g["village_code"]] = households.get(g["village_code"], 0) + g["households"]

    def density(kind: str, urban: bool) -> float:
        codes = [
            v["code"]
            for v in data.villages
            if v["kind"] == kind and (v["township_code"] in zhungeer.SUBDISTRICTS) == urban
        ]
        return sum(households[c] for c in codes) / sum(area[c] for c in codes)

    assert density("community", urban=True) > 10 * density("village", urban=False)


@pytest.mark.django_db
def test_loaded_layers_and_units(demo_areas):
    assert Banner.objects.get(code="150622").name == "准格尔旗"
    assert Township.objects.count() == 15
    assert Village.objects.count() == 201
    assert Township.objects.get(code="150622400").kind == "development zone"
    assert Unit.objects.filter(kind="village_committee").count() == 201
    assert Unit.objects.filter(kind="township_committee").count() == 15
    assert Unit.objects.get(code="VC-150622004201").name == "苏计沟村村民委员会"
    assert Unit.objects.get(code="VC-150622001001").name == "中心社区居民委员会"
    assert Unit.objects.get(code="MC-150622").name == "准格尔旗人民法院矿区法庭"
    assert Unit.objects.get(code="MC-150622").area_code == "150622"
    assert set(Unit.objects.filter(kind="banner_department").values_list("code", flat=True)) == {
        f"BD-{key}"
        for key in (
            "natural_resources forestry_grassland energy justice housing water labour environment market "
            "health petitions discipline"
        ).split()
    }
    assert Unit.objects.filter(code__in=["BL-150622", "IC-150622", "TC-150622106"]).count() == 3


@pytest.mark.django_db
def test_seed_villages_sit_in_their_township(demo_areas):
    for code, (name, township_code) in SEED_VILLAGES.items():
        village = Village.objects.get(code=code)
        assert (village.name, village.township_code) == (name, township_code)
        township = Township.objects.get(code=township_code)
        assert township.geom.contains(village.geom.point_on_surface)


@pytest.mark.django_db
def test_grids_and_population_in_the_database(demo_areas):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), min(households), max(households), sum(population), "
            "count(*) FILTER (WHERE NOT ST_IsValid(geom)) FROM geo_disputes_grid"
        )
        count, low, high, people, invalid = cursor.fetchone()
    assert count >= 8_000
    assert (low, high) == (10, 15)
    assert 330_000 <= people <= 390_000
    assert invalid == 0


@pytest.mark.django_db
def test_anchors_fall_in_the_right_areas(demo_areas):
    def areas_at(model, lon: float, lat: float) -> set[str]:
        return set(model.objects.filter(geom__covers=f"SRID=4326;POINT({lon} {lat})").values_list("code", flat=True))

    assert areas_at(MiningArea, 111.258, 39.731) == {"KQ-01"}
    assert areas_at(MiningArea, 111.23, 39.78) == {"KQ-02"}
    assert areas_at(Township, 110.859, 39.648) == {"150622101"}
    assert areas_at(Township, 111.221, 39.867) <= {"150622001", "150622002", "150622003", "150622004"}
    assert len(areas_at(Township, 111.221, 39.867)) == 1
    weijiamao = Township.objects.get(code="150622106").geom
    assert MiningArea.objects.get(code="KQ-03").geom.difference(weijiamao).area < 1e-9


@pytest.mark.django_db
def test_sujigou_is_touched_by_a_mining_influence_zone(demo_areas):
    village = Village.objects.get(code="150622004201")
    assert MiningArea.objects.filter(influence_zone__intersects=village.geom).exists()


@pytest.mark.django_db
def test_parcels_in_seed_and_mining_touched_villages(demo_areas):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT v.code FROM geo_disputes_village v
            WHERE (v.code = ANY(%s) OR EXISTS (
                SELECT 1 FROM geo_disputes_miningarea m WHERE ST_Intersects(v.geom, m.influence_zone)))
              AND NOT EXISTS (SELECT 1 FROM geo_disputes_parcel p WHERE p.code LIKE v.code || 'JD%%')
            """,
            [list(SEED_VILLAGES)],
        )
        without_parcels = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT count(*) FROM geo_disputes_village v WHERE EXISTS (SELECT 1 FROM geo_disputes_miningarea m "
            "WHERE ST_Intersects(v.geom, m.influence_zone))"
        )
        (touched,) = cursor.fetchone()
    assert without_parcels == []
    assert touched >= 10
    assert Parcel.objects.filter(area_mu__lt=2).count() == 0
    assert Parcel.objects.filter(area_mu__gt=60).count() == 0
    assert Parcel.objects.filter(code__startswith="150622106202", land_use="grassland", area_mu__gte=8).exists()
    assert Parcel.objects.filter(land_use="mining").exists()


@pytest.fixture
def areas_only(monkeypatch):
    """`load_demo` without its cases step: these tests are about the areas (the cases have their own)."""
    from geo_disputes.management.commands import load_demo

    monkeypatch.setattr(load_demo, "STEPS", [step for step in load_demo.STEPS if step[0] != "cases"])


def database_fingerprint() -> dict[str, tuple[int, str]]:
    """Every table of ours and the logins: (rows, md5 of all rows in id order) — any change to any row shows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND (tablename LIKE 'geo\\_disputes\\_%' OR tablename IN ('auth_user', 'auth_user_groups'))"
            " ORDER BY tablename"
        )
        tables = [name for (name,) in cursor.fetchall()]
        prints = {}
        for table in tables:
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"
            )
            prints[table] = cursor.fetchone()
    return prints


@pytest.mark.django_db
def test_loading_again_loads_nothing(demo_areas, areas_only):
    before = Grid.objects.count()
    assert set(load_demo_areas().values()) == {0}
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "already loaded" in out.getvalue()
    assert Grid.objects.count() == before


@pytest.mark.django_db
def test_reset_replaces_the_demo_areas(demo_areas, areas_only):
    before = {model: model.objects.count() for model in (Township, Village, Grid, MiningArea, Parcel, Unit)}
    old_ids = set(Village.objects.values_list("id", flat=True))
    out = io.StringIO()
    call_command("load_demo", "--reset", stdout=out)
    assert "loaded" in out.getvalue() and "already" not in out.getvalue()
    assert {model: model.objects.count() for model in before} == before
    assert old_ids.isdisjoint(Village.objects.values_list("id", flat=True))


@pytest.mark.django_db
def test_reset_refuses_while_records_point_at_demo_parcels(demo_areas, areas_only):
    parcel = Parcel.objects.filter(code__startswith="150622106202").first()
    PersonalDataAccess.objects.create(parcel=parcel, purpose="查看承包户")
    with pytest.raises(CommandError, match="refer to demo parcels"):
        call_command("load_demo", "--reset", stdout=io.StringIO())
    assert Parcel.objects.filter(pk=parcel.pk).exists()
    assert Banner.objects.filter(code="150622").count() == 1


# -- the demo cases ---------------------------------------------------------------------------------

LOAD_SECONDS: dict[str, float] = {}


@pytest.fixture(scope="class")
def demo_cases(demo_areas, django_db_blocker):
    """The demo cases, loaded once for the class inside a transaction that is rolled back afterwards."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            load_demo_staff()  # as load_demo does: the cases' officer (banner_admin) issues the demo's notices
            started = time.perf_counter()
            counts = load_demo_cases()
            LOAD_SECONDS["cases"] = time.perf_counter() - started
            yield counts
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _seed(key: str) -> QuerySet[Case]:
    return Case.objects.filter(description__contains=demo.SEED_TEXT[key])


def _statuses_of(track: Track) -> set[str]:
    table = TRANSITIONS[track]
    statuses = {status for status, _ in table} | set(table.values()) | {Status.REPORTED}
    return statuses | ({Status.REPEAT, Status.NOT_ACCEPTED} if track == Track.PETITION else set())


@pytest.mark.django_db
@pytest.mark.usefixtures("demo_cases")
class TestDemoCases:
    def test_a_second_load_changes_nothing_at_all(self):
        """Areas, staff and cases all loaded (the class holds the areas and cases; the first `load_demo` here adds
        the staff), then `load_demo` again: every step says so, and no row of any table changed."""
        call_command("load_demo", stdout=io.StringIO())
        before = database_fingerprint()
        assert before["geo_disputes_case"][0] >= 400 and before["geo_disputes_staffprofile"][0] > 0
        out = io.StringIO()
        call_command("load_demo", stdout=out)
        lines = out.getvalue().splitlines()
        assert [line.split(":")[0] for line in lines] == ["demo areas", "demo staff", "demo cases"]
        assert all("already loaded, nothing to do" in line for line in lines), lines
        after = database_fingerprint()
        assert after == before, [t for t in before if after.get(t) != before[t]]

    def test_the_demo_loads_once(self, demo_cases):
        assert demo_cases["cases"] >= 400
        assert demo_cases["groups"] == CaseGroup.objects.count() == 1
        assert demo_cases["supervision acts"] == SupervisionAct.objects.count() > 0
        assert LOAD_SECONDS["cases"] < 120, "the demo load runs in `make run` and in tests: keep it fast"
        assert load_demo_cases() == {"cases": 0}
        out = io.StringIO()
        call_command("load_demo", stdout=out)
        assert "demo cases: already loaded" in out.getvalue()

    def test_every_notice_renders_for_a_demo_case_in_a_state_that_needs_it(self, django_user_model):
        """For each kind, a demo case the state allows it for; its preview as Word and PDF holds the reference, the
        unit and the date — every kind, the 不予受理告知书 and the 送达回证 of the demo's refused letter included."""
        from docx import Document
        from pypdf import PdfReader

        from geo_disputes.models import NoticeKind
        from geo_disputes.services.cases import notices
        from geo_disputes.services.cases.notice_files import to_docx, to_pdf

        clerk = django_user_model.objects.create_superuser("notice-clerk", password=None)
        inputs = {"facts_and_reasons": "经核查…", "basis": "《信访工作条例》第三十二条", "other_party": "赵某"}
        found = {}
        for case in Case.objects.select_related("unit", "forwarded_by").exclude(unit=None).order_by("id"):
            for kind in notices.offered_kinds(case):
                found.setdefault(kind, case)
        assert set(found) == set(NoticeKind.values)
        for kind, case in found.items():
            served = case.documents.exclude(kind=NoticeKind.SERVICE_RECEIPT).first()  # a receipt is for a notice
            receipt_for = served.number if kind == NoticeKind.SERVICE_RECEIPT else ""
            draft = notices.render(notices.prepare(case, kind, inputs, clerk, receipt_for=receipt_for))
            word = "".join(p.text for p in Document(io.BytesIO(to_docx(draft))).paragraphs)
            word += "".join(
                c.text for t in Document(io.BytesIO(to_docx(draft))).tables for r in t.rows for c in r.cells
            )
            pdf = "".join(page.extract_text() for page in PdfReader(io.BytesIO(to_pdf(draft))).pages).replace("\n", "")
            for text in (word, pdf):
                for expected in (case.reference, draft.unit_name, notices.chinese_date(draft.issued_on)):
                    assert expected in text.replace(" ", ""), (kind, case.reference, expected)

    def test_every_category_with_30_incidents_in_two_villages_gets_a_hot_spot_grid(self, django_user_model):
        """Issue 14's contract: `/api/hotspots/?category=<c>` answers 200 with more than 30 cells whenever c has at
        least 30 incidents over more than one village — the clustered mining categories included."""
        from django.db.models import Count
        from django.test import Client

        client = Client()
        client.force_login(django_user_model.objects.create_superuser("hot-spot-reader", password=None))
        per_category = Case.objects.filter(repeat_of=None).values("category")
        tried = []
        for row in per_category.annotate(n=Count("id"), villages=Count("village_code", distinct=True)):
            if row["n"] < 30 or row["villages"] < 2:
                continue
            response = client.get("/api/hotspots/", {"category": row["category"]})
            assert response.status_code == 200, (row, response.content[:300])
            assert len(response.json()["features"]) > 30, row
            tried.append(row["category"])
        assert "mining_compensation" in tried and len(tried) >= 5, tried
        # The demo's subsidence is one tight cluster (王家圪楞社, 41 households in one village): the case the issue
        # reported as "3 cells of 302,825 m". Outside the contract (one village), it still gets a grid now.
        subsidence = client.get("/api/hotspots/", {"category": "mining_subsidence"})
        assert subsidence.status_code == 200 and len(subsidence.json()["features"]) > 30, subsidence.content[:300]

    def test_grassland_was_mediated_at_the_talk_room(self):
        (case,) = _seed("grassland")
        assert (case.channel, case.procedure, case.status) == ("talk_room", Procedure.MEDIATION, Status.CLOSED)
        assert case.tier == "village" and case.village_code == "150622106202"
        assert (case.mediation_outcome, case.resolution_method) == (MediationOutcome.AGREEMENT, "mediation")
        assert case.parcels.filter(land_use="grassland").exists()
        assert case.follow_ups.get().by != case.responsible_person

    def test_water_fees_were_mediated_by_the_grid_agent(self):
        (case,) = _seed("water")
        assert (case.channel, case.procedure, case.mediation_outcome) == (
            "grid_agent",
            Procedure.MEDIATION,
            MediationOutcome.AGREEMENT,
        )
        assert case.village_code == "150622101206" and "信访代办员" in case.responsible_person
        assert "恢复供水" in case.outcome and "按月" in case.outcome
        assert due_dates(case).accept_by is None and due_dates(case).conclude_by is None

    def test_the_41_households_are_one_group_mediated_and_judicially_confirmed(self):
        group = CaseGroup.objects.get(title__contains="王家圪楞社")
        members = list(group.cases.all())
        assert len(members) == 41 == _seed("houses").count()
        for case in members:
            assert (case.procedure, case.status, case.tier) == (Procedure.MEDIATION, Status.CLOSED, "township")
            assert case.village_code == "150622004201" and case.mining_relation
            assert case.agreement_at is not None and case.confirmation_ruled_at is not None
            assert case.confirmation_applied_at <= case.agreement_at + dt.timedelta(days=30)
            assert case.resolution_method == "judicial_confirmation"
            sessions = case.events.filter(action="session").values_list("reason", flat=True)
            assert any("鉴定" in r for r in sessions) and any("评估" in r for r in sessions)

    def test_the_three_land_swaps_were_mediated_before_litigation_at_the_mining_court(self):
        swaps = list(_seed("swap").order_by("received_at"))
        assert len(swaps) == 3
        for case in swaps:
            assert (case.procedure, case.tier, case.unit.code) == (Procedure.LITIGATION, "mining_court", "MC-150622")
            assert case.pre_mediation_at is not None and case.filed_at is None
            assert (case.legal_outcome, case.legal_outcome_at) == (LegalOutcome.MEDIATED, case.pre_mediation_at)
            dues = due_dates(case, YEAR_END)
            assert (dues.accept_by, dues.conclude_by, dues.review_request_by) == (None, None, None)
            assert not case.events.filter(action__in=["accept", "opinion", "request_review"]).exists()

    def test_the_neighbours_settled_with_the_deputies(self):
        (case,) = _seed("neighbours")
        assert (case.channel, case.procedure, case.mediation_outcome) == (
            "deputy_station",
            Procedure.MEDIATION,
            MediationOutcome.AGREEMENT,
        )
        assert case.township_code == "150622101" and "人大代表" in case.mediators

    def test_every_case_is_in_a_status_of_its_procedures_track(self):
        wrong = [
            (c.reference, c.procedure, c.status)
            for c in Case.objects.only("reference", "procedure", "status")
            if c.status not in _statuses_of(track_of(c.procedure))
        ]
        assert wrong == []
        assert not Case.objects.exclude(procedure=Procedure.PETITION).exclude(opinion_outcome="").exists()
        assert not Case.objects.exclude(procedure=Procedure.MEDIATION).filter(agreement_at__isnull=False).exists()
        led = Case.objects.exclude(petition_route__in=["", "handling_opinion"])
        assert led.exists() and set(led.values_list("procedure", flat=True)) <= LEGAL_PROCEDURES

    def test_nothing_was_escalated_and_only_real_actions_were_taken(self):
        actions = set(CaseEvent.objects.values_list("action", flat=True))
        assert "escalate" not in actions
        recorded = {"report", "procedure", "route_case", "group", "link_repeat", "issue_document"}  # not transitions
        assert actions - set(Action) <= recorded, actions
        assert not CaseEvent.objects.filter(action="supervise").exclude(from_status=F("to_status")).exists()

    def test_the_tick_supervises_but_moves_no_case(self):
        def state() -> list[tuple]:
            return list(Case.objects.order_by("id").values_list("id", "status", "tier", "unit_id", "version"))

        before, acts = state(), SupervisionAct.objects.count()
        for day in (YEAR_END + dt.timedelta(days=7), YEAR_END + dt.timedelta(days=21)):
            run_tick(day)
            run_tick(day)  # idempotent
        assert state() == before
        assert SupervisionAct.objects.count() > acts  # what is still overdue is supervised again

    def test_supervision_acts_name_the_holder_of_overdue_petitions(self):
        acts = SupervisionAct.objects.select_related("case")
        assert acts.exists()
        assert {"urge", "summon"} <= set(acts.values_list("kind", flat=True))
        for act in acts:
            # Supervised while a petition's clock or a joint meeting's deadline ran (it may have been led
            # into a legal procedure since); never a court's matter (诉访分离).
            assert act.missed.split(":")[0] in set(DueKind)
            assert act.case.procedure == Procedure.PETITION or act.case.petition_route or act.case.agenda_date
            assert act.case.tier != "mining_court" and act.unit_id is not None

    def test_the_year_runs_through_the_real_procedures(self):
        """Plausible, untuned rates: what each procedure should show, not any of the seed's figures."""
        cases = Case.objects.all()
        told = cases.filter(channel__in=["talk_room", "grid_agent", "deputy_station"], group__isnull=True)
        assert told.filter(procedure=Procedure.MEDIATION).count() > 0.8 * told.count()
        mediated = cases.filter(procedure=Procedure.MEDIATION)
        assert mediated.filter(mediation_outcome=MediationOutcome.AGREEMENT).count() > 0.7 * mediated.count()
        failed = cases.filter(mediation_outcome=MediationOutcome.FAILED)
        assert failed.filter(procedure=Procedure.PETITION).exists()  # converted into petitions
        assert failed.filter(procedure__in=[Procedure.LITIGATION, Procedure.ARBITRATION]).exists()
        assert cases.exclude(group=None).filter(confirmation_ruled_at__isnull=False).exists()

        petitions = cases.filter(procedure=Procedure.PETITION, accepted_at__isnull=False, repeat_of=None)
        on_time = [c for c in petitions if local_date(c.accepted_at) <= period_end(local_date(holder_receipt(c)), 15)]
        assert 0.75 * petitions.count() < len(on_time) < petitions.count()  # mostly in time, some late
        assert set(cases.values_list("opinion_outcome", flat=True)) >= {"support", "explain", "not_support"}
        assert cases.filter(served_at__isnull=False).count() >= cases.exclude(opinion_outcome="").count() * 0.9
        assert cases.filter(review_round=1).exists() and cases.filter(review_round=2).exists()
        assert cases.filter(extension_days__gt=0, extension_days__lte=30).exists()
        assert cases.filter(status=Status.REPEAT, repeat_of__isnull=False).exists()
        assert cases.filter(status=Status.ON_AGENDA).exists() or cases.exclude(agenda_date=None).exists()

        court = cases.filter(tier="mining_court")
        assert court.filter(pre_mediation_at__isnull=False).count() > 0.8 * court.count()
        assert court.filter(legal_outcome=LegalOutcome.JUDGED).exists()
        accusations = cases.filter(kind="accusation")
        assert accusations.exists() and set(accusations.values_list("procedure", flat=True)) == {"discipline"}
        assert all(c.unit_id != c.accused_unit_id for c in accusations)

        above = Counter(cases.exclude(above_banner="").values_list("above_banner", flat=True))
        assert above["beijing"] == 1 and 1 <= above["city"] <= 6
        visits = [c for c in cases.filter(channel="visit") if c.petitioners.count() > 5]
        assert visits and all(c.petitioners.filter(representative=True).count() == 5 for c in visits)

    def test_follow_ups_are_made_by_someone_else_and_some_are_unreachable(self):
        follow_ups = FollowUp.objects.select_related("case")
        assert follow_ups.filter(unreachable=True).exists()
        assert follow_ups.exclude(satisfaction="").count() > follow_ups.filter(unreachable=True).count()
        assert all(f.by != f.case.responsible_person for f in follow_ups)

    def test_some_matters_are_open_and_some_overdue_at_the_end_of_the_year(self):
        open_ = Case.objects.filter(status__in=OPEN_STATUSES)
        assert open_.count() > 10
        overdue = annotate_dues(open_, YEAR_END).filter(due_state=DueState.OVERDUE)
        assert overdue.exists()
        assert set(overdue.values_list("procedure", flat=True)) <= {Procedure.PETITION, Procedure.MEDIATION}
