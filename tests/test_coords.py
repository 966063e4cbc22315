"""GCJ-02 phone coordinates around Zhungeer are ~570 m off and must be converted back."""

import math

import pytest
from pyproj import Geod

from geo_disputes.services.areas.coords import Datum, DatumError, gcj02_to_wgs84, parse_datum, to_wgs84, wgs84_to_gcj02

GEOD = Geod(ellps="WGS84")
HAERWUSU = (111.258, 39.731)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def test_gcj02_offset_here_is_about_570_m_mostly_east():
    gcj = wgs84_to_gcj02(*HAERWUSU)
    east = GEOD.inv(HAERWUSU[0], HAERWUSU[1], gcj[0], HAERWUSU[1])[2]
    north = GEOD.inv(HAERWUSU[0], HAERWUSU[1], HAERWUSU[0], gcj[1])[2]
    assert 500 < metres(HAERWUSU, gcj) < 650
    assert gcj[0] > HAERWUSU[0] and gcj[1] > HAERWUSU[1]
    assert east > 3 * north


@pytest.mark.parametrize("lon,lat", [(110.1, 39.27), (111.5, 40.32), (111.221, 39.867), (110.859, 39.648)])
def test_inverse_round_trips_to_millimetres(lon, lat):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert metres((lon, lat), back) < 0.001


def test_outside_china_is_untouched():
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)


def test_datum_names():
    assert parse_datum(None) is Datum.WGS84
    assert parse_datum("GCJ02") is Datum.GCJ02
    assert to_wgs84(111.0, 39.5, "cgcs2000") == (111.0, 39.5)
    with pytest.raises(DatumError, match="wgs84, cgcs2000, gcj02"):
        parse_datum("bd09")
    assert not math.isclose(to_wgs84(111.0, 39.5, "gcj02")[0], 111.0, abs_tol=1e-4)
