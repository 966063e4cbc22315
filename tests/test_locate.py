"""A point → its township, village, grid, mining areas and parcels; the same rule in bulk and per point."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from geo_disputes.models import Banner, Case, CaseParcel, Parcel
from geo_disputes.services.areas.coords import wgs84_to_gcj02
from geo_disputes.services.areas.linking import link_cases
from geo_disputes.services.areas.locate import OutsideBanner, locate

from .factories import (
    GridFactory,
    MiningAreaFactory,
    ParcelFactory,
    VillageFactory,
    box,
    located_context,
    stored_context,
    two_township_banner,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_banner():
    """Two townships side by side sharing the meridian 111.2; two villages in the west one, a mine in the east."""
    two_township_banner()
    GridFactory(
        code="150622101201-001", name="第1网格", village_code="150622101201", geom=box(111.0, 39.5, 111.1, 39.7)
    )
    GridFactory(
        code="150622101201-002", name="第2网格", village_code="150622101201", geom=box(111.1, 39.5, 111.2, 39.7)
    )
    MiningAreaFactory(
        code="KQ-01", name="哈尔乌素露天煤矿", geom=box(111.25, 39.72, 111.27, 39.74), influence_buffer_m=1000
    )
    ParcelFactory(code="150622101201JD00001", holder_name="王建国", geom=box(111.05, 39.55, 111.055, 39.555))


def test_a_point_in_a_grid_finds_every_level(small_banner):
    loc = locate(111.052, 39.552)
    assert (loc.township.code, loc.village.code, loc.grid.code) == ("150622101", "150622101201", "150622101201-001")
    assert loc.grid.worker_name == "张某某"
    assert [p.code for p in loc.parcels] == ["150622101201JD00001"]
    assert loc.mining == []


def test_inside_the_pit_and_in_its_influence_zone(small_banner):
    pit = locate(111.26, 39.73)
    assert [(m.area.name, m.relation) for m in pit.mining] == [("哈尔乌素露天煤矿", "inside")]
    # ~860 m east of the pit edge: in the 1 km zone, not in the pit.
    near = locate(111.28, 39.73)
    assert [(m.area.code, m.relation) for m in near.mining] == [("KQ-01", "influence_zone")]
    assert locate(111.30, 39.73).mining == []


def test_gcj02_phone_coordinate_lands_in_the_same_parcel(small_banner):
    wgs = (111.0525, 39.5525)
    gcj = wgs84_to_gcj02(*wgs)
    # Taken naively as WGS84 the phone point is ~570 m east: outside the parcel.
    assert locate(*gcj).parcels == []
    loc = locate(*gcj, datum="gcj02")
    assert [p.code for p in loc.parcels] == ["150622101201JD00001"]
    assert abs(loc.lon - wgs[0]) < 1e-7 and abs(loc.lat - wgs[1]) < 1e-7


def test_outside_the_banner_is_refused(small_banner):
    with pytest.raises(OutsideBanner, match="不在本旗范围内"):
        locate(112.5, 39.6)


def test_shared_border_goes_to_the_smallest_code(small_banner):
    on_township_border = locate(111.2, 39.8)
    assert on_township_border.township.code == "150622101"
    assert on_township_border.village.code == "150622101202"
    corner = locate(111.2, 39.7)  # corner of three villages and two townships
    assert (corner.township.code, corner.village.code) == ("150622101", "150622101201")


def test_boundaries_in_force_on_the_case_date(small_banner):
    """A case from 2021 is judged by the village boundary of 2021, not today's."""
    Banner.objects.update(valid_from=dt.date(2020, 1, 1))
    VillageFactory(
        code="150622101200",
        name="旧村",
        township_code="150622101",
        geom=box(111.0, 39.5, 111.05, 39.6),
        valid_from=dt.date(2020, 1, 1),
        valid_to=dt.date(2022, 12, 31),
    )
    assert locate(111.01, 39.51, on=dt.date(2021, 3, 1)).village.name == "旧村"
    assert locate(111.01, 39.51, on=dt.date(2024, 3, 1)).village.name == "南村"
    assert locate(111.01, 39.51).village.name == "南村"


def _case(lon: float, lat: float, n: int) -> Case:
    return Case.objects.create(
        reference=f"ZGE-2026-{n:06d}",
        category="other",
        channel="visit",
        description="测试",
        location=Point(lon, lat, srid=4326),
        submitted_lon=lon,
        submitted_lat=lat,
        received_at=timezone.now(),
    )


def test_bulk_linking_equals_per_point_locate(small_banner):
    rng = random.Random(20261125)
    points = [(rng.uniform(111.0, 111.4), rng.uniform(39.5, 39.9)) for _ in range(150)]
    # Points on shared borders and corners, in the pit, in the zone, in the parcel.
    points += [(111.2, 39.8), (111.2, 39.7), (111.1, 39.6), (111.1, 39.7), (111.26, 39.73), (111.28, 39.73)]
    points += [(111.052, 39.552), (111.05, 39.55), (111.055, 39.555), (111.4, 39.9)]
    cases = [_case(lon, lat, i) for i, (lon, lat) in enumerate(points)]
    assert link_cases() == len(cases)
    for case in Case.objects.all():
        loc = locate(case.location.x, case.location.y)
        assert stored_context(case) == located_context(loc), case.location


def test_relinking_keeps_parcels_named_at_intake(small_banner):
    named = ParcelFactory(code="150622101201JD00002", geom=box(111.15, 39.6, 111.16, 39.61))
    case = _case(111.052, 39.552, 1)
    CaseParcel.objects.create(case=case, parcel=named, source="named")
    link_cases([case.pk])
    link_cases()  # twice: idempotent
    assert sorted(case.parcels.values_list("code", flat=True)) == ["150622101201JD00001", "150622101201JD00002"]


# --- one statement, and the instances it builds --------------------------------------------------------------------


def test_a_tap_on_the_map_is_answered_in_one_query(small_banner, django_assert_num_queries):
    with django_assert_num_queries(1):
        loc = locate(111.052, 39.552)
    assert loc.grid is not None and loc.parcels
    with (
        django_assert_num_queries(1),
        pytest.raises(OutsideBanner, match=r"\(112\.500000, 39\.600000\) 不在本旗范围内"),
    ):
        locate(112.5, 39.6)


def _same_as_stored(found):
    """Every non-geometry field equals (value and type) what the ORM loads; the geometries are deferred."""
    model = type(found)
    stored = model.objects.get(pk=found.pk)
    assert found == stored and found._state.db == "default" and not found._state.adding
    geometries = {f.attname for f in model._meta.concrete_fields if f.attname in ("geom", "influence_zone")}
    assert found.get_deferred_fields() == geometries
    for f in model._meta.concrete_fields:
        if f.attname not in geometries:
            got, want = getattr(found, f.attname), getattr(stored, f.attname)
            assert (got, type(got)) == (want, type(want)), f.attname


def test_the_answer_holds_the_stored_areas_without_their_outlines(small_banner, django_assert_num_queries):
    """The grid worker, the parcel's holder and area, the mine's operator: as stored; the outline on demand."""
    ParcelFactory(code="150622101201JD00002", holder_name="李娜", geom=box(111.05, 39.55, 111.053, 39.553))
    loc = locate(111.052, 39.552)
    for found in (loc.township, loc.village, loc.grid, *loc.parcels):
        _same_as_stored(found)
    assert (loc.township.name, loc.village.name, loc.village.township_code) == ("西镇", "南村", "150622101")
    assert (loc.grid.name, loc.grid.worker_name, loc.grid.worker_phone, loc.grid.households) == (
        "第1网格",
        "张某某",
        "13800000000",
        12,
    )
    assert [(p.code, p.holder_name) for p in loc.parcels] == [
        ("150622101201JD00001", "王建国"),
        ("150622101201JD00002", "李娜"),
    ]
    assert all(isinstance(p.area_mu, Decimal) and p.area_mu > 0 for p in loc.parcels)
    assert Parcel.objects.get(code="150622101201JD00001") in loc.parcels  # as intake checks a named parcel
    with django_assert_num_queries(1):  # the outline is loaded when someone reads it
        assert loc.parcels[0].geom.equals(box(111.05, 39.55, 111.055, 39.555))
    pit = locate(111.26, 39.73).mining_area
    _same_as_stored(pit.area)
    assert (pit.area.code, pit.area.operator, pit.area.influence_buffer_m) == ("KQ-01", "测试能源有限公司", 1000)


def test_boundaries_out_of_force_on_the_day_are_ignored(small_banner):
    """An old village counts through its last day; a parcel not yet contracted and a closed mine never do."""
    Banner.objects.update(valid_from=dt.date(2020, 1, 1))
    VillageFactory(
        code="150622101200",
        name="旧村",
        township_code="150622101",
        geom=box(111.0, 39.5, 111.2, 39.7),
        valid_from=dt.date(2020, 1, 1),
        valid_to=dt.date(2022, 12, 31),
    )
    assert locate(111.052, 39.552, on=dt.date(2022, 12, 31)).village.name == "旧村"
    assert locate(111.052, 39.552, on=dt.date(2023, 1, 1)).village.name == "南村"
    # today: valid_from today + 1 day is not yet in force, valid_to yesterday no longer is.
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    ParcelFactory(code="150622101201JD00000", geom=box(111.05, 39.55, 111.055, 39.555), valid_from=tomorrow)
    MiningAreaFactory(code="KQ-00", geom=box(111.0, 39.5, 111.1, 39.6), valid_to=dt.date.today() - dt.timedelta(days=1))
    today = locate(111.052, 39.552)
    assert ([p.code for p in today.parcels], today.mining) == (["150622101201JD00001"], [])
    assert [p.code for p in locate(111.052, 39.552, on=tomorrow).parcels] == [
        "150622101201JD00000",
        "150622101201JD00001",
    ]
    with pytest.raises(OutsideBanner):  # the banner itself is outlined from 2020
        locate(111.052, 39.552, on=dt.date(2019, 12, 31))


def test_a_point_in_one_pit_and_the_next_mines_zone_is_attributed_to_the_pit(small_banner):
    """KQ-00 sorts first, but the point is inside KQ-01's pit and only in KQ-00's zone: the pit comes first."""
    MiningAreaFactory(code="KQ-00", name="东侧煤矿", geom=box(111.275, 39.72, 111.29, 39.74))  # ~430 m east of KQ-01
    loc = locate(111.268, 39.73)
    assert [(m.area.code, m.relation) for m in loc.mining] == [("KQ-01", "inside"), ("KQ-00", "influence_zone")]
    assert loc.mining_area.area.name == "哈尔乌素露天煤矿"
    between = locate(111.28, 39.73)  # inside KQ-00, in KQ-01's zone
    assert [(m.area.code, m.relation) for m in between.mining] == [("KQ-00", "inside"), ("KQ-01", "influence_zone")]
