"""Imports as counties hand them over: a village file with the 12-digit statistical code and the name only.

The parent is read off the code when no field is mapped to it — the township is the code's first 9
digits, a grid's village the first 12 of the grid code — the dry run says so, and a derived parent
that does not exist is an error naming the row and the field.
"""

from __future__ import annotations

import json
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from geo_disputes.models import Grid, Village
from geo_disputes.services.areas.imports import AreaImportError, derived_parent, import_layer, resolve_mapping
from geo_disputes.services.areas.layers import get_layer

from .factories import TownshipFactory, VillageFactory, box


def square(lon: float, lat: float, size: float = 0.01) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def geojson(path: Path, rows: list[dict]) -> Path:
    """Features with the given properties, each a 0.01° square a little east of the last."""
    features = [
        {
            "type": "Feature",
            "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [square(111.2 + i / 50, 39.85)]},
        }
        for i, props in enumerate(rows)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


def county_villages(tmp_path: Path, *codes: str) -> Path:
    """The county's hand-over: 统计用区划代码 and 名称, nothing else (as a Shapefile, GBK, 10-char names)."""
    source = geojson(tmp_path / "src.geojson", [{"TJDM": code, "MC": f"村{code[-3:]}"} for code in codes])
    out = tmp_path / "villages.shp"
    subprocess.run(
        ["ogr2ogr", "-f", "ESRI Shapefile", "-lco", "ENCODING=GBK", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    return out


def run_import(*args: str) -> str:
    out = StringIO()
    call_command("import_areas", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


# --- without the database ------------------------------------------------------------------------------------------


def test_a_village_file_needs_no_township_field_and_the_rule_is_used_only_when_none_is_mapped():
    villages = get_layer("villages")
    fields = resolve_mapping(villages, ["TJDM", "MC"], {"code": "TJDM", "name": "MC"})
    assert "township_code" not in fields
    assert derived_parent(villages, fields).digits == 9
    mapped = resolve_mapping(villages, ["TJDM", "MC", "XZDM"], {"code": "TJDM", "name": "MC", "township_code": "XZDM"})
    assert derived_parent(villages, mapped) is None
    assert derived_parent(get_layer("grids"), {"code": "code", "name": "name"}).field == "village_code"
    assert derived_parent(get_layer("parcels"), {"code": "code", "name": "name"}) is None


# --- against the database ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_dry_run_says_the_township_is_derived_and_writes_nothing(tmp_path):
    TownshipFactory(code="150622106", name="魏家峁镇")
    path = county_villages(tmp_path, "150622106202", "150622106203")
    out = run_import("villages", str(path), "--map", "code=TJDM", "--map", "name=MC")
    assert "township_code derived from the first 9 digits of the 12-digit statistical code" in out
    assert "the file maps no township_code field" in out
    assert "DRY RUN" in out
    assert Village.objects.count() == 0


@pytest.mark.django_db
def test_commit_stores_the_township_read_off_each_village_code(tmp_path):
    TownshipFactory(code="150622106", name="魏家峁镇")
    TownshipFactory(code="150622101", name="沙圪堵镇")
    path = county_villages(tmp_path, "150622106202", "150622101206")
    out = run_import("villages", str(path), "--map", "code=TJDM", "--map", "name=MC", "--commit")
    assert "township_code derived" in out and "Saved. 2 features: 2 inserted" in out
    assert dict(Village.objects.values_list("code", "township_code")) == {
        "150622106202": "150622106",
        "150622101206": "150622101",
    }


@pytest.mark.django_db
def test_a_derived_township_that_does_not_exist_is_named_by_row_and_field(tmp_path):
    TownshipFactory(code="150622106", name="魏家峁镇")
    path = county_villages(tmp_path, "150622106202", "150622999201")
    with pytest.raises(CommandError) as caught:
        run_import("villages", str(path), "--map", "code=TJDM", "--map", "name=MC", "--commit")
    message = str(caught.value)
    assert "row 2, code 150622999201, field township_code: 150622999" in message
    assert "is not in townships" in message and "--map township_code=FIELD" in message
    assert Village.objects.count() == 0, "one bad row: nothing written"


@pytest.mark.django_db
def test_a_code_that_is_not_a_12_digit_statistical_code_cannot_give_a_township(tmp_path):
    TownshipFactory(code="150622106", name="魏家峁镇")
    path = geojson(
        tmp_path / "v.geojson", [{"code": "150622106202", "name": "双敖包村"}, {"code": "1506221062", "name": "短码村"}]
    )
    with pytest.raises(AreaImportError) as caught:
        import_layer("villages", path, commit=True)
    (problem,) = caught.value.problems
    assert (problem.row, problem.code, problem.field) == (2, "1506221062", "township_code")
    assert "cannot be derived" in problem.message
    assert Village.objects.count() == 0


@pytest.mark.django_db
def test_a_mapped_township_field_is_used_as_it_is(tmp_path):
    path = geojson(tmp_path / "v.geojson", [{"code": "150622106202", "name": "双敖包村", "XZDM": "150622106"}])
    report = import_layer("villages", path, mapping={"township_code": "XZDM"}, commit=True)
    assert report.derived == []
    assert Village.objects.get().township_code == "150622106"


@pytest.mark.django_db
def test_grids_get_their_village_from_the_grid_code_prefix(tmp_path):
    TownshipFactory(code="150622106", name="魏家峁镇")
    VillageFactory(code="150622106202", name="双敖包村", township_code="150622106", geom=box(111.2, 39.8, 111.4, 39.9))
    rows = [{"code": "150622106202-001", "name": "第1网格"}, {"code": "150622106202002", "name": "第2网格"}]
    report = import_layer("grids", geojson(tmp_path / "g.geojson", rows), commit=True)
    assert report.derived == [
        "village_code derived from the grid code's first 12 digits (the village's code): the file maps no"
        " village_code field (map one with --map village_code=FIELD)"
    ]
    assert set(Grid.objects.values_list("village_code", flat=True)) == {"150622106202"}


@pytest.mark.django_db
def test_a_grid_whose_village_is_unknown_or_whose_code_has_no_village_prefix_is_named(tmp_path):
    VillageFactory(code="150622106202", name="双敖包村", township_code="150622106", geom=box(111.2, 39.8, 111.4, 39.9))
    rows = [{"code": "150622106299-001", "name": "第1网格"}]
    with pytest.raises(AreaImportError, match=r"row 1, code 150622106299-001, field village_code: 150622106299"):
        import_layer("grids", geojson(tmp_path / "g.geojson", rows), commit=True)
    rows = [{"code": "WG-001", "name": "第1网格"}]
    with pytest.raises(AreaImportError, match=r"row 1, code WG-001, field village_code: not mapped, and cannot"):
        import_layer("grids", geojson(tmp_path / "g2.geojson", rows), commit=True)
    assert Grid.objects.count() == 0


@pytest.mark.django_db
def test_a_re_import_without_the_field_sets_the_derived_township_on_the_version_in_force(tmp_path):
    TownshipFactory(code="150622106", name="魏家峁镇")
    VillageFactory(code="150622106202", name="双敖包村", township_code="150622999", geom=box(111.2, 39.8, 111.3, 39.9))
    report = import_layer(
        "villages", geojson(tmp_path / "v.geojson", [{"code": "150622106202", "name": "双敖包村"}]), commit=True
    )
    assert report.count("update") == 1
    assert Village.objects.get().township_code == "150622106", "the code says which township it is in"
