"""Incremental re-linking after a boundary import (issue 16 item 3): only the cases the changed geometries (old and
new) cover are re-linked, in the import's own transaction, and the links come out exactly as a full re-link's."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command

from geo_disputes.models import Banner, Case
from geo_disputes.services.areas.linking import link_cases

from .factories import CaseFactory, TownshipFactory, VillageFactory, box

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
WEST, EAST = "150622101201", "150622101202"  # side by side at 111.10; the redraw moves the border to 111.12


def _square(x0: float, y0: float, x1: float, y1: float) -> list:
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def _write(path: Path, villages: list[tuple[str, str, tuple]]) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": name, "township_code": "150622101"},
            "geometry": {"type": "Polygon", "coordinates": _square(*bounds)},
        }
        for code, name, bounds in villages
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


@pytest.fixture
def county():
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.9, 39.4, 111.4, 39.8))
    TownshipFactory(code="150622101", name="沙圪堵镇", geom=box(110.9, 39.4, 111.4, 39.8))
    VillageFactory(code=WEST, name="西村", township_code="150622101", geom=box(111.0, 39.5, 111.1, 39.6))
    VillageFactory(code=EAST, name="东村", township_code="150622101", geom=box(111.1, 39.5, 111.2, 39.6))
    received = dt.datetime(2026, 3, 1, 10, tzinfo=TZ)
    cases = {
        "west": CaseFactory(location=Point(111.05, 39.55, srid=4326), received_at=received),
        "moving": CaseFactory(location=Point(111.11, 39.55, srid=4326), received_at=received),
        "east": CaseFactory(location=Point(111.15, 39.55, srid=4326), received_at=received),
        "far": CaseFactory(location=Point(111.30, 39.70, srid=4326), received_at=received),  # in no village
    }
    link_cases()
    return cases


def _links() -> dict[int, tuple]:
    return {
        c.id: (c.township_code, c.village_code, c.grid_code, c.mining_area_code, c.mining_relation)
        for c in Case.objects.all()
    }


def _redraw(tmp_path: Path, *args: str) -> str:
    path = _write(
        tmp_path / "villages.geojson",
        [(WEST, "西村", (111.0, 39.5, 111.12, 39.6)), (EAST, "东村", (111.12, 39.5, 111.2, 39.6))],
    )
    out = StringIO()
    call_command("import_areas", "villages", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_redrawn_border_relinks_the_cases_it_covers_and_agrees_with_a_full_relink(county, tmp_path):
    out = _redraw(tmp_path, "--commit")
    # west, moving and east lie in an old or new geometry of a changed village; far lies in none.
    assert "3 cases lie in a changed boundary (old or new) and were re-linked, 1 of them changed" in out, out
    county["moving"].refresh_from_db()
    assert county["moving"].village_code == WEST
    stored = _links()
    assert link_cases() == 0  # a full re-link finds nothing more to change
    assert _links() == stored


def test_the_dry_run_says_what_would_be_relinked_and_changes_nothing(county, tmp_path):
    before = _links()
    out = _redraw(tmp_path)
    assert "DRY RUN" in out and "3 cases lie in a changed boundary" in out and "1 of them changed" in out
    assert _links() == before


def test_a_new_version_relinks_only_cases_received_after_it(county, tmp_path):
    later = CaseFactory(location=Point(111.11, 39.55, srid=4326), received_at=dt.datetime(2026, 9, 1, 10, tzinfo=TZ))
    link_cases([later.id])
    assert Case.objects.get(pk=later.pk).village_code == EAST
    _redraw(tmp_path, "--valid-from", "2026-06-01", "--commit")
    assert Case.objects.get(pk=later.pk).village_code == WEST  # received after the new border
    assert Case.objects.get(pk=county["moving"].pk).village_code == EAST  # before it: the old border still holds
    stored = _links()
    assert link_cases() == 0 and _links() == stored


def test_a_redrawn_parcel_relinks_the_point_parcels_only_and_agrees_with_a_full_relink(county, tmp_path):
    from geo_disputes.models import CaseParcel

    from .factories import ParcelFactory

    ParcelFactory(code=f"{WEST}JD00001", land_use="grassland", geom=box(111.00, 39.50, 111.03, 39.53))
    link_cases()
    assert not CaseParcel.objects.filter(case=county["west"]).exists()
    grown = {
        "type": "Feature",
        "properties": {"code": f"{WEST}JD00001", "name": "草场", "land_use": "grassland"},
        "geometry": {"type": "Polygon", "coordinates": _square(111.00, 39.50, 111.06, 39.56)},
    }
    path = tmp_path / "parcels.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [grown]}), "utf-8")
    out = StringIO()
    call_command("import_areas", "parcels", str(path), "--commit", stdout=out, stderr=StringIO())
    assert "1 cases lie in a changed boundary (old or new) and were re-linked, 1 of them changed" in out.getvalue()
    assert CaseParcel.objects.filter(case=county["west"], source="point").count() == 1
    stored = _links()
    assert link_cases() == 0 and _links() == stored


def test_a_never_linked_case_under_a_redrawn_border_gets_every_layer(county, tmp_path):
    fresh = CaseFactory(location=Point(111.11, 39.56, srid=4326), received_at=dt.datetime(2026, 3, 2, 10, tzinfo=TZ))
    Case.objects.filter(pk=fresh.pk).update(township_code="", village_code="", linked_at=None)
    _redraw(tmp_path, "--commit")
    fresh.refresh_from_db()
    assert (fresh.township_code, fresh.village_code) == ("150622101", WEST) and fresh.linked_at is not None
