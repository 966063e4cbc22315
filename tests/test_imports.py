"""Importing real boundaries: survey shapefiles in Gauss-Krüger and GBK, GeoPackages, GeoJSON.

Test files are built with GDAL itself (ogr2ogr), the way survey offices produce them.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from geo_disputes.models import Banner, Parcel, Village
from geo_disputes.services.areas.coords import wgs84_to_gcj02

from .factories import VillageFactory, box

pytestmark = pytest.mark.django_db

# code, name, kind, township code, south-west corner (WGS84); each village a 0.01° square.
VILLAGES = [
    ("150622106202", "双敖包村", "village", "150622106", (111.20, 39.85)),
    ("150622101206", "不拉村", "village", "150622101", (110.86, 39.65)),
    ("150622004201", "苏计沟村", "community", "150622004", (111.24, 39.80)),
]
BOW_TIE = [[111.30, 39.70], [111.31, 39.71], [111.31, 39.70], [111.30, 39.71], [111.30, 39.70]]


def square(lon: float, lat: float, size: float = 0.01) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def feature(props: dict, ring: list[list[float]] | None, kind: str = "Polygon") -> dict:
    geometry = None if ring is None else {"type": kind, "coordinates": [ring] if kind == "Polygon" else ring}
    return {"type": "Feature", "properties": props, "geometry": geometry}


def village_features(rename: dict[str, str] | None = None, shift: float = 0.0) -> list[dict]:
    rename = rename or {}
    return [
        feature(
            {"code": code, "name": rename.get(code, name), "kind": kind, "township_code": township},
            square(lon + shift, lat),
        )
        for code, name, kind, township, (lon, lat) in VILLAGES
    ]


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


def ogr2ogr(*args: str) -> None:
    subprocess.run(["ogr2ogr", *args], check=True, capture_output=True)


def gbk_shapefile(tmp_path: Path, epsg: int, name: str = "villages") -> Path:
    """A survey-office shapefile: GBK attributes (.cpg says so), Gauss-Krüger coordinates, 10-char field names."""
    source = write_geojson(tmp_path / f"{name}_src.geojson", village_features())
    out = tmp_path / f"{name}.shp"
    ogr2ogr("-f", "ESRI Shapefile", "-lco", "ENCODING=GBK", "-t_srs", f"EPSG:{epsg}", str(out), str(source))
    assert (tmp_path / f"{name}.cpg").read_text().strip() == "GBK"
    return out


def run_import(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_areas", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def metres_from(village: Village, ring: list[list[float]]) -> float:
    """Largest distance (m, Gauss-Krüger) between the imported boundary and the original square."""
    original = json.dumps({"type": "Polygon", "coordinates": [ring]})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_HausdorffDistance(ST_Transform(geom, 4546), ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(%s),"
            " 4326), 4546)) FROM geo_disputes_village WHERE id = %s",
            [original, village.pk],
        )
        return cursor.fetchone()[0]


def assert_villages_as_surveyed(tolerance_m: float = 1.0) -> None:
    by_code = {v.code: v for v in Village.objects.all()}
    assert sorted(by_code) == sorted(code for code, *_ in VILLAGES)
    for code, name, kind, township, (lon, lat) in VILLAGES:
        village = by_code[code]
        assert (village.name, village.kind, village.township_code) == (name, kind, township)
        assert village.geom.geom_type == "MultiPolygon"
        assert metres_from(village, square(lon, lat)) < tolerance_m


# --- dry run, commit, formats and coordinate systems -----------------------------------------------------------


def test_a_dry_run_reports_what_it_would_do_and_writes_nothing(tmp_path):
    path = write_geojson(tmp_path / "villages.geojson", village_features())
    out, _ = run_import("villages", str(path))
    assert "DRY RUN" in out
    assert "3 features: 3 inserted, 0 updated" in out
    assert Village.objects.count() == 0


def test_commit_writes_geojson_villages_with_their_chinese_names(tmp_path):
    path = write_geojson(tmp_path / "villages.geojson", village_features())
    out, err = run_import("villages", str(path), "--commit", "-v", "2")
    assert "Saved. 3 features: 3 inserted" in out
    assert "row 1 150622106202 双敖包村: insert" in out
    assert "read 3/3 features" in err
    assert_villages_as_surveyed(tolerance_m=0.01)


def test_a_gbk_shapefile_in_gauss_kruger_cm_111e_lands_where_it_was_surveyed(tmp_path):
    path = gbk_shapefile(tmp_path, 4546)
    out, _ = run_import("villages", str(path), "--map", "township_code=township_c", "--commit")
    assert "EPSG:4546" in out and "GBK" in out
    assert_villages_as_surveyed()


def test_a_zone_prefixed_gauss_kruger_shapefile_lands_where_it_was_surveyed(tmp_path):
    path = gbk_shapefile(tmp_path, 4525)
    out, _ = run_import("villages", str(path), "--map", "township_code=township_c", "--commit")
    assert "EPSG:4525" in out
    assert_villages_as_surveyed()


def test_a_shapefile_without_prj_needs_srid_and_srid_places_it(tmp_path):
    path = gbk_shapefile(tmp_path, 4525)
    (tmp_path / "villages.prj").unlink()
    with pytest.raises(CommandError, match=r"no CRS.*--srid 4525"):
        run_import("villages", str(path), "--map", "township_code=township_c", "--commit")
    run_import("villages", str(path), "--map", "township_code=township_c", "--srid", "4525", "--commit")
    assert_villages_as_surveyed()


def test_a_gbk_shapefile_without_cpg_needs_the_encoding_named(tmp_path):
    path = gbk_shapefile(tmp_path, 4546)
    (tmp_path / "villages.cpg").unlink()
    with pytest.raises(CommandError, match="--encoding gbk"):
        run_import("villages", str(path), "--map", "township_code=township_c", "--commit")
    assert Village.objects.count() == 0

    run_import("villages", str(path), "--map", "township_code=township_c", "--encoding", "gbk", "--commit")
    assert_villages_as_surveyed()


def test_a_geopackage_layer_is_chosen_by_name(tmp_path):
    source = write_geojson(tmp_path / "src.geojson", village_features())
    gpkg = tmp_path / "survey.gpkg"
    ogr2ogr("-f", "GPKG", "-nln", "村界", str(gpkg), str(source))
    ogr2ogr("-update", "-f", "GPKG", "-nln", "other", str(gpkg), str(source))
    with pytest.raises(CommandError, match="--source-layer"):
        run_import("villages", str(gpkg), "--commit")
    run_import("villages", str(gpkg), "--source-layer", "村界", "--commit")
    assert_villages_as_surveyed(tolerance_m=0.01)


def test_fields_are_mapped_from_survey_names(tmp_path):
    features = [
        feature(
            {"DKBM": "150622106202JD00001", "DKMC": "南梁地", "DLMC": "草地", "CBFMC": "王某某"}, square(111.2, 39.85)
        )
    ]
    path = write_geojson(tmp_path / "parcels.geojson", features)
    args = ["--map", "code=DKBM", "--map", "name=DKMC", "--map", "land_use=DLMC", "--map", "holder_name=CBFMC"]
    run_import("parcels", str(path), *args, "--commit")
    parcel = Parcel.objects.get()
    assert (parcel.code, parcel.name, parcel.land_use, parcel.holder_name) == (
        "150622106202JD00001",
        "南梁地",
        Parcel.LandUse.GRASSLAND,
        "王某某",
    )


def test_gcj02_boundaries_from_a_web_map_are_moved_back_to_wgs84(tmp_path):
    features = village_features()
    for f in features:
        f["geometry"]["coordinates"] = [[list(wgs84_to_gcj02(x, y)) for x, y in f["geometry"]["coordinates"][0]]]
    path = write_geojson(tmp_path / "amap.geojson", features)
    run_import("villages", str(path), "--datum", "gcj02", "--commit")
    assert_villages_as_surveyed()


# --- upsert and versions -------------------------------------------------------------------------------------------


def test_a_second_import_updates_villages_in_place(tmp_path):
    run_import("villages", str(write_geojson(tmp_path / "a.geojson", village_features())), "--commit")
    ids = dict(Village.objects.values_list("code", "id"))
    renamed = village_features(rename={"150622101206": "不拉嘎查"})
    out, _ = run_import("villages", str(write_geojson(tmp_path / "b.geojson", renamed)), "--commit")
    assert "0 inserted, 3 updated" in out
    assert dict(Village.objects.values_list("code", "id")) == ids
    assert Village.objects.get(code="150622101206").name == "不拉嘎查"


def test_valid_from_closes_the_old_boundary_and_keeps_its_history(tmp_path):
    run_import("villages", str(write_geojson(tmp_path / "a.geojson", village_features())), "--commit")
    moved = write_geojson(tmp_path / "b.geojson", village_features(shift=0.005))
    out, _ = run_import("villages", str(moved), "--valid-from", "2025-01-01", "--commit")
    assert "3 new versions" in out
    assert Village.objects.count() == 6
    old = Village.objects.in_force(dt.date(2024, 12, 31)).get(code="150622106202")
    new = Village.objects.in_force(dt.date(2025, 1, 1)).get(code="150622106202")
    assert old.valid_to == dt.date(2024, 12, 31) and new.valid_to is None
    assert metres_from(old, square(111.20, 39.85)) < 0.01
    assert metres_from(new, square(111.205, 39.85)) < 0.01


def test_a_start_date_before_the_version_in_force_is_refused(tmp_path):
    VillageFactory(code="150622106202", valid_from=dt.date(2024, 1, 1))
    path = write_geojson(tmp_path / "a.geojson", village_features())
    with pytest.raises(CommandError, match=r"row 1, code 150622106202.*before the version in force since 2024-01-01"):
        run_import("villages", str(path), "--valid-from", "2023-06-01", "--commit")
    assert Village.objects.count() == 1


# --- invalid geometry ----------------------------------------------------------------------------------------------


def bow_tie_file(tmp_path: Path) -> Path:
    return write_geojson(
        tmp_path / "bowtie.geojson",
        [
            *village_features()[:2],
            feature({"code": "150622999201", "name": "蝴蝶村", "township_code": "150622999"}, BOW_TIE),
        ],
    )


def test_a_bow_tie_polygon_fails_the_whole_import_naming_row_and_code(tmp_path):
    with pytest.raises(CommandError) as failure:
        run_import("villages", str(bow_tie_file(tmp_path)), "--commit")
    message = str(failure.value)
    assert "row 3, code 150622999201, field geom: invalid polygon: Self-intersection" in message
    assert "nothing saved" in message
    assert Village.objects.count() == 0


def test_repair_splits_a_bow_tie_into_its_two_triangles(tmp_path):
    out, _ = run_import("villages", str(bow_tie_file(tmp_path)), "--repair", "--commit")
    assert "row 3, code 150622999201, field geom: repaired Self-intersection" in out
    assert "2 polygon(s)" in out
    repaired = Village.objects.get(code="150622999201")
    assert repaired.geom.valid and len(repaired.geom) == 2
    assert Village.objects.count() == 3


# --- bad input -----------------------------------------------------------------------------------------------------


def test_bad_rows_are_each_named_and_nothing_is_written(tmp_path):
    rows = [
        village_features()[0],
        feature({"code": "150622999202", "name": "无界村", "township_code": "150622999"}, None),
        feature({"code": "", "name": "无码村", "township_code": "150622999"}, square(111.1, 39.6)),
        feature({"code": "150622999204", "name": "点村", "township_code": "150622999"}, [111.1, 39.6], "Point"),
        feature({"code": "150622999205", "name": "错类村", "kind": "city", "township_code": "1"}, square(111.1, 39.7)),
    ]
    with pytest.raises(CommandError) as failure:
        run_import("villages", str(write_geojson(tmp_path / "bad.geojson", rows)), "--commit")
    message = str(failure.value)
    assert "row 2, code 150622999202, field geom: no geometry" in message
    assert "row 3, field code: missing" in message
    assert "row 4, code 150622999204, field geom: Point; a villages boundary must be polygonal" in message
    assert "row 5, code 150622999205, field kind: 'city'" in message
    assert Village.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["villages", "{dir}/missing.geojson"], "file not found"),
        (["villages", "{dir}/garbage.geojson"], "GDAL does not recognise it"),
        (["hamlets", "{dir}/villages.geojson"], "unknown layer 'hamlets'; use one of: banner, townships, villages"),
        (["villages", "{dir}/villages.geojson", "--map", "elevation=name"], "field elevation: unknown field"),
        (["villages", "{dir}/villages.geojson", "--map", "name=DKMC"], "source field 'DKMC' is not in the file"),
        (["villages", "{dir}/villages.geojson", "--encoding", "klingon"], "unknown encoding 'klingon'"),
        (["villages", "{dir}/villages.geojson", "--map", "name"], "expected FIELD=SOURCE"),
        (["villages", "{dir}/villages.geojson", "--srid", "4546", "--datum", "gcj02"], "applies to longitude/latitude"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(tmp_path, args, expected):
    write_geojson(tmp_path / "villages.geojson", village_features())
    (tmp_path / "garbage.geojson").write_bytes(b"\x00\xff\xfe not json at all \x89PNG")
    with pytest.raises(CommandError, match=expected):
        run_import(*(a.format(dir=tmp_path) for a in args), "--commit")
    assert Village.objects.count() == 0


def test_a_failed_import_leaves_earlier_boundaries_untouched(tmp_path):
    VillageFactory(code="150622106202", name="双敖包村", geom=box(111.0, 39.5, 111.01, 39.51))
    with pytest.raises(CommandError):
        run_import("villages", str(bow_tie_file(tmp_path)), "--commit")
    village = Village.objects.get()
    assert village.geom.extent == pytest.approx((111.0, 39.5, 111.01, 39.51))


def test_boundaries_outside_the_banner_are_flagged_as_a_likely_wrong_srid(tmp_path):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(111.0, 39.7, 111.5, 40.0))
    out, _ = run_import("villages", str(write_geojson(tmp_path / "v.geojson", village_features())))
    assert "warning: 1 feature(s) lie outside the banner outline: check --srid / --datum" in out
