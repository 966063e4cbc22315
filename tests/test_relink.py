"""After a boundary import, only the cases the change can affect are re-linked, and the links equal a full re-link.

The banner of tests/test_linking.py: 西镇 and 东镇 split at 111.2; 南村 (south of 39.7) and 北村 in the west,
东村 in the east with the 哈尔乌素 pit; two grids in 南村 split at 111.1; one contract parcel. Cases lie on a
0.01° lattice (so many sit exactly on boundaries), received in 2023 or in 2024, either side of the day the
re-survey comes into force. Each import reads a real file (GeoJSON, ESRI Shapefile, GeoPackage) written here.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.db import connection, transaction

from geo_disputes.models import Case, CaseParcel, Parcel
from geo_disputes.services.areas import relink
from geo_disputes.services.areas.imports import import_layer
from geo_disputes.services.areas.linking import link_cases

from .factories import GridFactory, MiningAreaFactory, ParcelFactory, two_township_banner

pytestmark = pytest.mark.django_db

REDRAWN = dt.date(2024, 1, 1)
BEFORE = dt.datetime(2023, 6, 1, 2, tzinfo=dt.UTC)  # 10:00 in Asia/Shanghai
AFTER = dt.datetime(2024, 6, 1, 2, tzinfo=dt.UTC)
EDGE = dt.datetime(2023, 12, 31, 16, tzinfo=dt.UTC)  # 2024-01-01 00:00 in Asia/Shanghai: the first day of the new


@pytest.fixture
def banner():
    two_township_banner()
    GridFactory(code="150622101201-001", village_code="150622101201", geom=_box(111.0, 39.5, 111.1, 39.7))
    GridFactory(code="150622101201-002", village_code="150622101201", geom=_box(111.1, 39.5, 111.2, 39.7))
    MiningAreaFactory(code="KQ-01", name="哈尔乌素露天煤矿", geom=_box(111.25, 39.72, 111.27, 39.74))
    ParcelFactory(code="150622101201JD00001", geom=_box(111.05, 39.55, 111.055, 39.555))


@pytest.fixture
def cases(banner) -> list[Case]:
    """Every 0.01° across the banner and a little beyond, three received days each; plus points in the parcel."""
    points = [(round(111.0 + 0.01 * i, 2), round(39.49 + 0.01 * j, 2)) for i in range(-1, 42) for j in range(0, 43)]
    points += [(111.052, 39.552), (111.0535, 39.5549), (111.058, 39.552), (111.26, 39.73), (111.28, 39.75)]
    days = (BEFORE, AFTER, EDGE)
    made = Case.objects.bulk_create(
        Case(
            reference=f"ZGE-2026-{n:06d}",
            category="other",
            channel="grid_agent",
            description="网格员上报",
            location=Point(lon, lat, srid=4326),
            submitted_lon=lon,
            submitted_lat=lat,
            received_at=days[n % 3],
        )
        for n, (lon, lat) in enumerate(points)
    )
    link_cases()
    return made


def _box(minx: float, miny: float, maxx: float, maxy: float):
    from .factories import box

    return box(minx, miny, maxx, maxy)


def _ring(minx: float, miny: float, maxx: float, maxy: float) -> list[list[float]]:
    return [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]


def geojson(path: Path, rows: list[tuple[dict, tuple[float, float, float, float]]]) -> Path:
    features = [
        {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [_ring(*bounds)]}}
        for props, bounds in rows
    ]
    collection = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(collection, ensure_ascii=False), "utf-8")
    return path


def converted(source: Path, driver: str, suffix: str) -> Path:
    """The same features as a Shapefile or GeoPackage, written by GDAL as a survey office would."""
    out = source.with_suffix(suffix)
    options = ["-lco", "ENCODING=UTF-8"] if driver == "ESRI Shapefile" else []
    subprocess.run(["ogr2ogr", "-f", driver, *options, str(out), str(source)], check=True, capture_output=True)
    return out


def stored() -> dict[int, tuple]:
    """Every case's stored links: codes, mining relation, and its parcel pairs with their source."""
    pairs: dict[int, list] = {}
    for case_id, parcel_id, source in CaseParcel.objects.values_list("case_id", "parcel_id", "source"):
        pairs.setdefault(case_id, []).append((parcel_id, source))
    return {
        c["id"]: (
            c["township_code"],
            c["village_code"],
            c["grid_code"],
            c["mining_area_code"],
            c["mining_relation"],
            sorted(pairs.get(c["id"], [])),
        )
        for c in Case.objects.values(
            "id", "township_code", "village_code", "grid_code", "mining_area_code", "mining_relation"
        )
    }


def full_relink() -> dict[int, tuple]:
    """What a full re-link from unlinked cases stores, worked out in a savepoint and rolled back."""
    point = transaction.savepoint()
    Case.objects.update(
        township_code="", village_code="", grid_code="", mining_area_code="", mining_relation="", linked_at=None
    )
    CaseParcel.objects.filter(source="point").delete()
    link_cases()
    answer = stored()
    transaction.savepoint_rollback(point)
    return answer


def linked_at() -> dict[int, dt.datetime]:
    return dict(Case.objects.values_list("id", "linked_at"))


def _day(case: Case) -> dt.date:
    return (case.received_at + dt.timedelta(hours=8)).date()


def test_a_redrawn_village_re_links_only_the_cases_in_the_strip_it_took_from_its_neighbour(cases, tmp_path):
    # 南村's northern line moves from 39.7 to 39.72 from 2024 on: it takes a strip of 北村.
    path = geojson(
        tmp_path / "villages.geojson", [({"code": "150622101201", "name": "南村"}, (111.0, 39.5, 111.2, 39.72))]
    )
    before = linked_at()
    report = import_layer("villages", path, valid_from=REDRAWN, commit=True)

    strip = {
        c.pk for c in cases if 111.0 <= c.location.x <= 111.2 and 39.7 < c.location.y <= 39.72 and _day(c) >= REDRAWN
    }
    assert len(strip) > 20, "the lattice puts cases in the strip"
    assert report.relink.layer == "villages"
    assert report.relink.versions == 2, "the old version (closed) and the new one"
    assert (report.relink.examined, report.relink.changed) == (len(strip), len(strip))
    after = linked_at()
    assert {pk for pk in before if after[pk] != before[pk]} == strip, "no other case was written"
    for pk in strip:
        assert stored()[pk][1] == "150622101201", "the smaller code wins where the new 南村 overlaps 北村"
    assert stored() == full_relink()
    assert link_cases() == 0


def test_a_case_in_the_unchanged_part_of_a_redrawn_village_is_not_even_examined(cases, tmp_path):
    path = geojson(
        tmp_path / "villages.geojson", [({"code": "150622101201", "name": "南村"}, (111.0, 39.5, 111.2, 39.69))]
    )
    report = import_layer("villages", path, valid_from=REDRAWN, commit=True)
    # Cases received from 2024 with 39.69 < lat <= 39.7 leave 南村 for 北村 (which covers 39.7 on its own line);
    # those at lat 39.69 stay on the new line. Everything south of it keeps its village and is not looked at.
    moved = {
        c.pk for c in cases if 111.0 <= c.location.x <= 111.2 and 39.69 < c.location.y <= 39.7 and _day(c) >= REDRAWN
    }
    assert report.relink.examined == len(moved) > 0
    assert report.relink.changed == len(moved)
    assert stored() == full_relink()


def test_a_never_linked_case_under_a_changed_boundary_is_linked_by_the_import(cases, tmp_path):
    # Cases loaded in bulk without linking (linked_at NULL) in the part of 南村 that does not change: their
    # membership is the same before and after, but a full re-link would link them, so the import does too.
    south = [c.pk for c in cases if 111.0 < c.location.x < 111.2 and 39.5 < c.location.y < 39.6][:5]
    assert south
    Case.objects.filter(pk__in=south).update(township_code="", village_code="", grid_code="", linked_at=None)
    elsewhere = [c.pk for c in cases if c.location.x > 111.2][:3]  # under no changed boundary: left as it is
    Case.objects.filter(pk__in=elsewhere).update(township_code="", village_code="", linked_at=None)
    path = geojson(
        tmp_path / "villages.geojson", [({"code": "150622101201", "name": "南村"}, (111.0, 39.5, 111.2, 39.72))]
    )
    import_layer("villages", path, valid_from=REDRAWN, commit=True)
    linked = dict(Case.objects.filter(pk__in=south + elsewhere).values_list("pk", "village_code"))
    assert all(linked[pk] == "150622101201" for pk in south)
    assert all(linked[pk] == "" for pk in elsewhere)


def test_a_grid_redrawn_in_place_from_a_geopackage_re_links_its_cases_on_every_day(cases, tmp_path):
    source = geojson(
        tmp_path / "grids.geojson",
        [
            (
                {"code": "150622101201-001", "name": "第1网格", "village_code": "150622101201"},
                (111.0, 39.5, 111.12, 39.7),
            )
        ],
    )
    report = import_layer("grids", converted(source, "GPKG", ".gpkg"), commit=True)
    assert report.count("update") == 1
    moved = {c.pk for c in cases if 111.1 < c.location.x <= 111.12 and 39.5 <= c.location.y <= 39.7}
    assert report.relink.examined == len(moved) > 0
    assert report.relink.changed == len(moved), "grid 002 → 001 (the smaller code on the new line too)"
    assert stored() == full_relink()


def test_a_re_surveyed_parcel_moves_its_point_pairs_to_the_new_version_and_named_pairs_stay(cases, tmp_path):
    old = Parcel.objects.get(code="150622101201JD00001")
    named_case = next(c for c in cases if (c.location.x, c.location.y) == (111.052, 39.552))
    CaseParcel.objects.filter(case=named_case).update(source="named")  # the petitioner named it at intake
    source = geojson(
        tmp_path / "parcels.geojson",
        [({"code": "150622101201JD00001", "name": "地块", "land_use": "草地"}, (111.05, 39.55, 111.06, 39.556))],
    )
    report = import_layer("parcels", converted(source, "ESRI Shapefile", ".shp"), valid_from=REDRAWN, commit=True)
    new = Parcel.objects.get(code="150622101201JD00001", valid_to__isnull=True)
    assert new.pk != old.pk
    # Cases from 2024 in the unchanged part are examined: they were paired with the old version.
    in_new = {
        c.pk
        for c in cases
        if 111.05 <= c.location.x <= 111.06 and 39.55 <= c.location.y <= 39.556 and _day(c) >= REDRAWN
    }
    assert report.relink.examined == len(in_new) > 0
    assert set(CaseParcel.objects.filter(parcel=new, source="point").values_list("case_id", flat=True)) == in_new
    assert CaseParcel.objects.filter(case=named_case, parcel=old, source="named").exists(), "named: kept as named"
    assert stored() == full_relink()


def test_a_wider_influence_zone_re_links_the_cases_in_the_ring(cases, tmp_path):
    path = geojson(
        tmp_path / "mines.geojson",
        [({"code": "KQ-01", "name": "哈尔乌素露天煤矿", "influence_buffer_m": 3000}, (111.25, 39.72, 111.27, 39.74))],
    )
    report = import_layer("mining-areas", path, commit=True)
    assert report.relink.changed > 0
    assert report.relink.examined == report.relink.changed, "only cases in the ring, every one now in the zone"
    assert stored() == full_relink()


def test_a_village_dissolved_by_an_end_date_in_the_file_loses_only_its_later_cases(cases, tmp_path):
    # 北村 merged away: the file gives its boundary an end date (the village's last day 2024-03-31).
    path = geojson(
        tmp_path / "villages.geojson",
        [({"code": "150622101202", "name": "北村", "valid_to": "2024-03-31"}, (111.0, 39.7, 111.2, 39.9))],
    )
    report = import_layer("villages", path, commit=True)
    later = {
        c.pk
        for c in cases
        if 111.0 <= c.location.x <= 111.2 and 39.7 <= c.location.y <= 39.9 and _day(c) > dt.date(2024, 3, 31)
    }
    on_the_line = {c.pk for c in cases if c.pk in later and c.location.y == 39.7}  # 南村 covers them too
    assert report.relink.examined == len(later), "北村 no longer covers any of them on their day"
    assert report.relink.changed == len(later - on_the_line), "those on 39.7 keep 南村, the smaller code"
    assert stored() == full_relink()
    assert all(stored()[pk][1] != "150622101202" for pk in later)


def test_importing_the_same_file_again_re_links_nothing(cases, tmp_path):
    path = geojson(
        tmp_path / "villages.geojson", [({"code": "150622101201", "name": "南村"}, (111.0, 39.5, 111.2, 39.7))]
    )
    report = import_layer("villages", path, commit=True)
    # The factory wrote the square's corners in another order: a changed version, but no case's answer moves.
    assert (report.relink.examined, report.relink.changed) == (0, 0)
    again = import_layer("villages", path, commit=True).relink
    assert (again.versions, again.examined, again.changed) == (0, 0, 0)


def test_a_change_reaching_many_cases_re_links_the_whole_table_with_the_same_answers(cases, tmp_path, monkeypatch):
    monkeypatch.setattr(relink, "FULL_RELINK_SHARE", 0.1)
    path = geojson(
        tmp_path / "townships.geojson", [({"code": "150622101", "name": "西镇"}, (111.0, 39.5, 111.35, 39.9))]
    )
    report = import_layer("townships", path, valid_from=REDRAWN, commit=True)
    assert report.relink.full and report.relink.examined == len(cases)
    assert report.relink.changed > 0
    assert stored() == full_relink()


def test_random_re_surveys_of_every_layer_always_equal_a_full_re_link(cases, tmp_path, monkeypatch):
    monkeypatch.setattr(relink, "FULL_RELINK_SHARE", 1.0)  # the incremental path, however many cases it takes
    rng = random.Random(16)
    layers = [
        ("townships", ["150622101", "150622102", "150622103"], {}),
        ("villages", ["150622101201", "150622101202", "150622102201"], {"township_code": "150622101"}),
        ("grids", ["150622101201-001", "150622101201-002", "150622101201-003"], {"village_code": "150622101201"}),
        ("mining-areas", ["KQ-01", "KQ-02"], {}),
        ("parcels", ["150622101201JD00001", "150622101201JD00002"], {}),
    ]
    start = dt.date(2023, 7, 1)
    for step in range(12):
        layer, codes, extra = layers[step % len(layers)]
        rows = []
        for code in rng.sample(codes, rng.randint(1, len(codes))):
            x, y = round(rng.uniform(111.0, 111.3), 2), round(rng.uniform(39.5, 39.8), 2)
            rows.append(
                ({"code": code, "name": f"区{code[-3:]}", **extra}, (x, y, x + rng.choice((0.03, 0.1)), y + 0.1))
            )
        path = geojson(tmp_path / f"step{step}.geojson", rows)
        valid_from = start + dt.timedelta(days=30 * step) if rng.random() < 0.6 else None
        report = import_layer(layer, path, valid_from=valid_from, commit=True)
        assert not report.relink.full
        assert stored() == full_relink(), f"step {step}: {layer} {report.relink}"


def test_a_dry_run_says_how_many_cases_would_be_re_linked_and_writes_nothing(cases, tmp_path):
    path = geojson(
        tmp_path / "villages.geojson", [({"code": "150622101201", "name": "南村"}, (111.0, 39.5, 111.2, 39.72))]
    )
    n = sum(1 for c in cases if 111.0 <= c.location.x <= 111.2 and 39.7 < c.location.y <= 39.72 and _day(c) >= REDRAWN)
    before, links = stored(), linked_at()
    out = StringIO()
    call_command("import_areas", "villages", str(path), "--valid-from", "2024-01-01", stdout=out)
    text = out.getvalue()
    assert "DRY RUN" in text
    assert f"Cases that would be re-linked: villages: 2 boundary version(s) changed; {n} case(s) re-linked;" in text
    assert f"{n} link(s) changed (would be)" in text
    assert stored() == before and linked_at() == links

    out = StringIO()
    call_command("import_areas", "villages", str(path), "--valid-from", "2024-01-01", "--commit", stdout=out)
    assert f"Re-linked cases: villages: 2 boundary version(s) changed; {n} case(s) re-linked; {n} link(s) changed" in (
        out.getvalue()
    )
    assert stored() == full_relink()


def test_the_re_link_runs_in_the_import_transaction(cases, tmp_path, monkeypatch):
    """A failure after the boundaries are written (here: in the re-link) leaves boundaries and links as they were."""
    path = geojson(
        tmp_path / "villages.geojson", [({"code": "150622101201", "name": "南村"}, (111.0, 39.5, 111.2, 39.72))]
    )
    before = stored()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM geo_disputes_village")
        villages = cur.fetchone()[0]

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(relink, "link_cases", broken)
    with pytest.raises(RuntimeError):
        import_layer("villages", path, valid_from=REDRAWN, commit=True)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM geo_disputes_village")
        assert cur.fetchone()[0] == villages
    assert stored() == before


def test_a_new_banner_outline_links_no_case_and_says_nothing_about_cases(cases, tmp_path):
    path = geojson(tmp_path / "banner.geojson", [({"code": "150622", "name": "准格尔旗"}, (110.9, 39.4, 111.5, 40.0))])
    out = StringIO()
    call_command("import_areas", "banner", str(path), "--commit", stdout=out)
    assert "Saved." in out.getvalue() and "re-linked" not in out.getvalue()
    assert import_layer("banner", path, commit=True).relink is None
