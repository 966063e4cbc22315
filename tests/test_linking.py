"""Bulk linking after boundaries change: only the cases the change touches move; the rest are left alone.

The banner: two townships split at 111.2; in the west one, 南村 (south) with two grids and 北村 (north)
with none; 东村 in the east with the 哈尔乌素 pit; one contracted parcel in grid 1.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from geo_disputes.models import Case, CaseParcel, Grid, Parcel
from geo_disputes.services.areas.linking import link_cases
from geo_disputes.services.areas.locate import OutsideBanner, locate

from .factories import (
    GridFactory,
    MiningAreaFactory,
    ParcelFactory,
    box,
    located_context,
    stored_context,
    two_township_banner,
)

pytestmark = pytest.mark.django_db

REDRAWN = dt.date(2024, 1, 1)  # the grid and parcel re-survey comes into force on this day


@pytest.fixture
def banner():
    two_township_banner()
    GridFactory(code="150622101201-001", village_code="150622101201", geom=box(111.0, 39.5, 111.1, 39.7))
    GridFactory(code="150622101201-002", village_code="150622101201", geom=box(111.1, 39.5, 111.2, 39.7))
    MiningAreaFactory(code="KQ-01", name="哈尔乌素露天煤矿", geom=box(111.25, 39.72, 111.27, 39.74))
    ParcelFactory(code="150622101201JD00001", geom=box(111.05, 39.55, 111.055, 39.555))


def _case(name: str, lon: float, lat: float, n: int, received: dt.datetime | None = None) -> Case:
    return Case.objects.create(
        reference=f"ZGE-2026-{n:06d}",
        category="other",
        channel="grid_agent",
        description=name,
        location=Point(lon, lat, srid=4326),
        submitted_lon=lon,
        submitted_lat=lat,
        received_at=received or timezone.now(),
    )


def _redraw(model, code: str, geom) -> None:
    """A boundary import: the old version ends the day before REDRAWN, the new one is in force from it."""
    old = model.objects.get(code=code, valid_to__isnull=True)
    model.objects.filter(pk=old.pk).update(valid_to=REDRAWN - dt.timedelta(days=1))
    old.pk = None
    old.valid_from, old.valid_to, old.geom = REDRAWN, None, geom
    old.save()


def test_after_a_grid_redraw_only_the_cases_on_the_moved_line_change(banner):
    west = _case("草场围栏", 111.05, 39.6, 1)
    on_the_line = _case("灌溉渠", 111.11, 39.6, 2)
    east = _case("宅基地", 111.15, 39.6, 3)
    old = _case("2023年的老案", 111.11, 39.6, 4, received=dt.datetime(2023, 6, 1, 10, tzinfo=dt.UTC))
    assert link_cases() == 4
    first = {c.pk: c.linked_at for c in Case.objects.all()}
    assert stored_context(on_the_line)[2] == "150622101201-002"

    assert link_cases() == 0, "nothing changed: nothing is written"
    assert {c.pk: c.linked_at for c in Case.objects.all()} == first

    # The re-survey moves the line between grid 1 and 2 from 111.1 to 111.12.
    _redraw(Grid, "150622101201-001", box(111.0, 39.5, 111.12, 39.7))
    _redraw(Grid, "150622101201-002", box(111.12, 39.5, 111.2, 39.7))
    assert link_cases() == 1
    assert stored_context(on_the_line)[2] == "150622101201-001"
    assert on_the_line.linked_at > first[on_the_line.pk]
    # Judged by the boundaries of its own day, the 2023 case stays where it was; the others never moved.
    assert stored_context(old)[2] == "150622101201-002"
    for case in (west, east, old):
        case.refresh_from_db()
        assert case.linked_at == first[case.pk], case.description


def test_point_parcels_follow_the_new_parcel_boundary_and_named_parcels_stay(banner):
    named = ParcelFactory(code="150622101201JD00002", geom=box(111.15, 39.6, 111.16, 39.61))
    inside = _case("王建国的草场", 111.052, 39.552, 1)
    beside = _case("邻户的草场", 111.057, 39.552, 2)
    CaseParcel.objects.create(case=inside, parcel=named, source="named")
    link_cases()
    assert stored_context(inside)[5] == ["150622101201JD00001", "150622101201JD00002"]
    assert stored_context(beside)[5] == []

    # The contract parcel is re-surveyed: it now lies east of 111.054.
    _redraw(Parcel, "150622101201JD00001", box(111.054, 39.55, 111.06, 39.555))
    assert link_cases() == 2
    assert stored_context(inside)[5] == ["150622101201JD00002"], "the named parcel is kept, the point one is gone"
    assert stored_context(beside)[5] == ["150622101201JD00001"]
    assert CaseParcel.objects.get(case=inside).source == "named"
    assert link_cases() == 0


def test_a_case_outside_every_grid_gets_empty_codes_and_loses_a_grid_that_is_gone(banner):
    north = _case("北村的纠纷", 111.1, 39.8, 1)
    outside = _case("旗外的来信", 111.6, 39.6, 2)
    south = _case("南村的纠纷", 111.15, 39.6, 3)
    link_cases()
    assert stored_context(north) == ("150622101", "150622101202", "", "", "", [])
    assert stored_context(outside) == ("", "", "", "", "", [])
    assert stored_context(south)[2] == "150622101201-002"

    Grid.objects.filter(code="150622101201-002").update(valid_to=REDRAWN)  # the grid is dissolved
    assert link_cases([south.pk, north.pk]) == 1
    assert stored_context(south) == ("150622101", "150622101201", "", "", "", [])


def test_bulk_linking_equals_locate_for_every_case_after_changes(banner):
    points = [(111.0 + 0.02 * i, 39.52 + 0.019 * j) for i in range(20) for j in range(20)]
    points += [(111.2, 39.7), (111.1, 39.6), (111.26, 39.73), (111.28, 39.73), (111.052, 39.552)]
    for n, (lon, lat) in enumerate(points):
        _case("网格员上报", lon, lat, n)
    link_cases()
    _redraw(Grid, "150622101201-001", box(111.0, 39.5, 111.13, 39.7))
    _redraw(Parcel, "150622101201JD00001", box(111.04, 39.54, 111.055, 39.555))
    link_cases()
    for case in Case.objects.all():
        try:
            loc = locate(case.location.x, case.location.y)
        except OutsideBanner:
            assert stored_context(case) == ("", "", "", "", "", []), case.location
            continue
        assert stored_context(case) == located_context(loc), case.location


def _like_indexes() -> list[str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'geo_disputes_case' "
            "AND indexdef LIKE '%%pattern_ops%%' ORDER BY 1"
        )
        return [row[0] for row in cur.fetchall()]


def test_the_case_table_has_no_like_indexes_and_the_migration_goes_back_and_forth():
    assert _like_indexes() == []
    call_command("migrate", "geo_disputes", "0005", verbosity=0)
    assert len(_like_indexes()) == 6
    call_command("migrate", "geo_disputes", verbosity=0)
    assert _like_indexes() == []
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'case_reference_uniq'")
        assert "UNIQUE" in cur.fetchone()[0]


def test_the_command_says_how_many_it_linked_and_how_many_changed(banner, capsys):
    _case("南村一组", 111.05, 39.6, 1)
    _case("东村", 111.3, 39.6, 2)
    call_command("link_cases")
    assert "linked 2 case(s)" in capsys.readouterr().out
    call_command("link_cases")
    out = capsys.readouterr().out
    assert "linked 2 case(s)" in out and "; 0 changed" in out  # nothing moved: nothing written
