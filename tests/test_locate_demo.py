"""The "where is this?" lookup on the full Zhungeer demo: seed villages, the 哈尔乌素 pit, borders, bulk."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone

from geo_disputes.models import Case, Village
from geo_disputes.services.areas.coords import wgs84_to_gcj02
from geo_disputes.services.areas.linking import link_cases
from geo_disputes.services.areas.locate import OutsideBanner, locate

pytestmark = pytest.mark.django_db

SEED_VILLAGES = {
    "150622106202": ("双敖包村", "150622106", "魏家峁镇"),
    "150622101206": ("不拉村", "150622101", "沙圪堵镇"),
    "150622004201": ("苏计沟村", "150622004", "友谊街道"),
}


@pytest.mark.parametrize("code", sorted(SEED_VILLAGES))
def test_a_point_in_each_seed_village(demo_areas, code):
    name, township_code, township_name = SEED_VILLAGES[code]
    inside = Village.objects.in_force().get(code=code).geom.point_on_surface
    loc = locate(inside.x, inside.y)
    assert (loc.village.code, loc.village.name) == (code, name)
    assert (loc.township.code, loc.township.name) == (township_code, township_name)
    assert loc.grid is not None and loc.grid.code.startswith(code + "-")
    assert 10 <= loc.grid.households <= 15 and loc.grid.worker_name


def test_the_haerwusu_pit(demo_areas):
    loc = locate(111.258, 39.731)
    assert ("哈尔乌素露天煤矿", "inside") in [(m.area.name, m.relation) for m in loc.mining]
    assert loc.mining_area.area.code == "KQ-01"


def test_sujigou_lies_in_a_mining_influence_zone(demo_areas):
    """The seed's 41 houses cracked by coal mining: the village must touch a mine or its zone."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM geo_disputes_village v JOIN geo_disputes_miningarea m
               ON ST_Intersects(v.geom, m.influence_zone) WHERE v.code = '150622004201'"""
        )
        assert cur.fetchone()[0] >= 1


def test_a_phone_point_lands_in_the_same_parcel_as_its_wgs84_twin(demo_areas):
    with connection.cursor() as cur:
        cur.execute(
            """SELECT code, ST_X(p), ST_Y(p) FROM (
                 SELECT code, ST_PointOnSurface(geom) p FROM geo_disputes_parcel
                 WHERE code LIKE '150622106202%%' ORDER BY code LIMIT 20) s"""
        )
        rows = cur.fetchall()
    moved = 0
    for code, lon, lat in rows:
        gcj = wgs84_to_gcj02(lon, lat)
        assert [p.code for p in locate(*gcj, datum="gcj02").parcels] == [code]
        naive = [p.code for p in locate(*gcj).parcels]  # the same numbers taken as WGS84: ~570 m off
        moved += naive != [code]
    assert moved == len(rows)


def test_outside_the_banner(demo_areas):
    with pytest.raises(OutsideBanner):
        locate(109.5, 39.5)


def test_bulk_linking_agrees_with_locate_on_random_and_border_points(demo_areas):
    with connection.cursor() as cur:
        # Random points over the banner, and vertices shared by two neighbouring villages.
        cur.execute(
            """SELECT ST_X(d.geom), ST_Y(d.geom) FROM geo_disputes_banner b,
               ST_Dump(ST_GeneratePoints(b.geom, 300, 20261125)) d"""
        )
        points = cur.fetchall()
        cur.execute(
            """SELECT DISTINCT ST_X(pt.geom), ST_Y(pt.geom) FROM geo_disputes_village a
               JOIN geo_disputes_village b ON a.code < b.code AND ST_Touches(a.geom, b.geom),
               ST_DumpPoints(a.geom) pt
               WHERE ST_Covers(b.geom, pt.geom) AND a.township_code IN ('150622004', '150622106')
               LIMIT 60"""
        )
        border = cur.fetchall()
    assert len(border) >= 20
    cases = [
        Case(
            reference=f"ZGE-2026-{900000 + i:06d}",
            category="other",
            channel="visit",
            description="bulk test",
            location=Point(lon, lat, srid=4326),
            submitted_lon=lon,
            submitted_lat=lat,
            received_at=timezone.now(),
        )
        for i, (lon, lat) in enumerate(points + border)
    ]
    Case.objects.bulk_create(cases)
    assert link_cases() == len(cases)
    for case in Case.objects.prefetch_related("parcels"):
        loc = locate(case.location.x, case.location.y)
        assert (case.township_code, case.village_code, case.grid_code) == (
            loc.township.code if loc.township else "",
            loc.village.code if loc.village else "",
            loc.grid.code if loc.grid else "",
        ), case.location
        mining = loc.mining_area
        assert (case.mining_area_code, case.mining_relation) == (
            (mining.area.code, mining.relation) if mining else ("", "")
        )
        assert sorted(p.code for p in case.parcels.all()) == sorted(p.code for p in loc.parcels)
