"""Exporting layers as they stood on a date, for GIS desks and other systems (GeoJSON, GeoPackage)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import shapely
from django.contrib.gis.gdal import DataSource
from django.core.management import CommandError, call_command

from geo_disputes.models import PersonalDataAccess, Village

from .factories import MiningAreaFactory, ParcelFactory, VillageFactory, box

pytestmark = pytest.mark.django_db

ON = "2024-06-01"


@pytest.fixture
def villages():
    """Two villages in force in mid-2024; one boundary replaced on 2024-01-01; one not yet in force."""
    VillageFactory(code="150622106202", name="双敖包村", geom=box(111.20, 39.85, 111.21, 39.86))
    VillageFactory(
        code="150622101206", name="不拉村旧界", geom=box(110.80, 39.60, 110.81, 39.61), valid_to=dt.date(2023, 12, 31)
    )
    VillageFactory(
        code="150622101206", name="不拉村", geom=box(110.86, 39.65, 110.87, 39.66), valid_from=dt.date(2024, 1, 1)
    )
    VillageFactory(code="150622004201", name="苏计沟村", valid_from=dt.date(2025, 1, 1))


def export(*args: str) -> str:
    out = StringIO()
    call_command("export_areas", *args, stdout=out)
    return out.getvalue()


def read_back(path) -> dict[str, tuple[str, tuple[float, ...]]]:
    """code -> (name, extent) as GDAL reads the file."""
    layer = DataSource(str(path))[0]
    return {f["code"].value: (f["name"].value, f.geom.extent) for f in layer}


IN_FORCE_MID_2024 = {
    "150622101206": ("不拉村", (110.86, 39.65, 110.87, 39.66)),
    "150622106202": ("双敖包村", (111.20, 39.85, 111.21, 39.86)),
}


def assert_in_force_mid_2024(read: dict) -> None:
    assert sorted(read) == sorted(IN_FORCE_MID_2024)
    for code, (name, extent) in IN_FORCE_MID_2024.items():
        assert read[code][0] == name
        assert read[code][1] == pytest.approx(extent, abs=1e-7)


def test_geojson_holds_the_boundaries_in_force_on_the_date_as_rfc_7946(tmp_path, villages):
    path = tmp_path / "villages.geojson"
    out = export("villages", str(path), "--on", ON)
    assert f"Wrote 2 villages in force on {ON}" in out
    collection = json.loads(path.read_text("utf-8"))
    assert collection["type"] == "FeatureCollection" and "crs" not in collection
    for f in collection["features"]:
        assert f["geometry"]["type"] == "MultiPolygon"
        assert shapely.geometry.shape(f["geometry"]).geoms[0].exterior.is_ccw  # right-hand rule
        assert f["id"] == f["properties"]["code"]
    assert_in_force_mid_2024(read_back(path))


def test_geopackage_round_trips_with_chinese_names_in_wgs84(tmp_path, villages):
    path = tmp_path / "villages.gpkg"
    export("villages", str(path), "--on", ON)
    layer = DataSource(str(path))[0]
    assert layer.name == "villages" and layer.srs.srid == 4326 and layer.geom_type.name == "MultiPolygon"
    assert "id" not in layer.fields  # the code is not duplicated as a second column
    assert_in_force_mid_2024(read_back(path))


def test_the_date_picks_the_older_boundary(tmp_path, villages):
    path = tmp_path / "villages-2023.geojson"
    export("villages", str(path), "--on", "2023-06-01")
    assert read_back(path)["150622101206"][0] == "不拉村旧界"


def test_an_export_can_be_imported_back_unchanged(tmp_path, villages):
    path = tmp_path / "villages.gpkg"
    export("villages", str(path), "--on", ON)
    out = StringIO()
    call_command("import_areas", "villages", str(path), "--commit", stdout=out, stderr=StringIO())
    assert "0 inserted, 2 updated, 0 new versions" in out.getvalue()
    assert Village.objects.count() == 4


def test_an_existing_file_is_kept_unless_forced(tmp_path, villages):
    path = tmp_path / "villages.geojson"
    path.write_text("precious", "utf-8")
    with pytest.raises(CommandError, match="exists; pass --force"):
        export("villages", str(path))
    assert path.read_text("utf-8") == "precious"
    export("villages", str(path), "--force", "--on", ON)
    assert_in_force_mid_2024(read_back(path))


def test_the_final_path_is_resolved_and_reported(tmp_path, villages):
    (tmp_path / "sub").mkdir()
    out = export("villages", str(tmp_path / "sub" / ".." / "v.geojson"), "--on", ON)
    assert f"to {tmp_path.resolve() / 'v.geojson'} (GeoJSON" in out
    assert (tmp_path / "v.geojson").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["villages", "{dir}/villages.shp"], "unknown format; name the file .geojson or .gpkg"),
        (["hamlets", "{dir}/hamlets.geojson"], "unknown layer 'hamlets'"),
        (["villages", "{dir}/no/such/dir/v.geojson"], "is not a directory"),
    ],
)
def test_bad_requests_are_refused(tmp_path, args, expected):
    with pytest.raises(CommandError, match=expected):
        export(*(a.format(dir=tmp_path) for a in args))
    assert list(tmp_path.iterdir()) == []


def test_parcel_holders_stay_out_unless_asked_for_and_that_is_audited(tmp_path):
    ParcelFactory(code="150622106202JD00001", holder_name="王建国")
    plain, personal = tmp_path / "parcels.geojson", tmp_path / "parcels-pii.gpkg"
    export("parcels", str(plain))
    properties = json.loads(plain.read_text("utf-8"))["features"][0]["properties"]
    assert "holder_name" not in properties and float(properties["area_mu"]) > 0
    assert PersonalDataAccess.objects.count() == 0

    export("parcels", str(personal), "--include-personal-data")
    assert next(iter(DataSource(str(personal))[0]))["holder_name"].value == "王建国"
    assert PersonalDataAccess.objects.get().purpose == "export parcels with personal data"


def test_mining_areas_export_with_their_licence_and_buffer(tmp_path):
    MiningAreaFactory(code="MA-HEDG", name="黑岱沟露天煤矿", licence_no="C1500002009001", influence_buffer_m=1500)
    path = tmp_path / "mines.gpkg"
    export("mining-areas", str(path))
    layer = DataSource(str(path))[0]
    mine = next(iter(layer))
    assert layer.name == "mining_areas"
    assert (mine["name"].value, mine["licence_no"].value, mine["influence_buffer_m"].value) == (
        "黑岱沟露天煤矿",
        "C1500002009001",
        1500,
    )
