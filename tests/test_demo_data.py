"""The Zhungeer demo data: generated the same way every time, consistent, and loaded once."""

from __future__ import annotations

import copy
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from shapely import affinity

from fixtures import zhungeer, zhungeer_checks
from fixtures.demo_loader import load_demo_areas
from fixtures.tessellation import to_metric
from geo_disputes.models import Banner, Grid, MiningArea, Parcel, PersonalDataAccess, Township, Unit, Village

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
            "health petitions"
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


@pytest.mark.django_db
def test_loading_again_loads_nothing(demo_areas):
    before = Grid.objects.count()
    assert set(load_demo_areas().values()) == {0}
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "already loaded" in out.getvalue()
    assert Grid.objects.count() == before


@pytest.mark.django_db
def test_reset_replaces_the_demo_areas(demo_areas):
    before = {model: model.objects.count() for model in (Township, Village, Grid, MiningArea, Parcel, Unit)}
    old_ids = set(Village.objects.values_list("id", flat=True))
    out = io.StringIO()
    call_command("load_demo", "--reset", stdout=out)
    assert "loaded" in out.getvalue() and "already" not in out.getvalue()
    assert {model: model.objects.count() for model in before} == before
    assert old_ids.isdisjoint(Village.objects.values_list("id", flat=True))


@pytest.mark.django_db
def test_reset_refuses_while_records_point_at_demo_parcels(demo_areas):
    parcel = Parcel.objects.filter(code__startswith="150622106202").first()
    PersonalDataAccess.objects.create(parcel=parcel, purpose="查看承包户")
    with pytest.raises(CommandError, match="refer to demo parcels"):
        call_command("load_demo", "--reset", stdout=io.StringIO())
    assert Parcel.objects.filter(pk=parcel.pk).exists()
    assert Banner.objects.filter(code="150622").count() == 1
