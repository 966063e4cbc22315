"""The spatial model: derived mu and influence zones, and boundaries in force on a date."""

import datetime as dt

import pytest

from geo_disputes.models import MiningArea, Parcel, Village

from .factories import MiningAreaFactory, ParcelFactory, VillageFactory, box

pytestmark = pytest.mark.django_db


def test_parcel_area_in_mu_is_computed_in_gauss_kruger():
    # 0.001° x 0.001° at 39.5°N is about 111 m x 86 m, i.e. roughly 14.3 mu.
    parcel = ParcelFactory(geom=box(111.0, 39.5, 111.001, 39.501))
    parcel.refresh_from_db()
    assert 14.0 < float(parcel.area_mu) < 14.6


def test_parcel_area_follows_a_boundary_change():
    parcel = ParcelFactory(geom=box(111.0, 39.5, 111.001, 39.501))
    parcel.geom = box(111.0, 39.5, 111.002, 39.501)
    parcel.save()
    parcel.refresh_from_db()
    assert 28.0 < float(parcel.area_mu) < 29.2


def test_influence_zone_is_the_buffer_in_metres():
    mine = MiningAreaFactory(geom=box(111.25, 39.72, 111.26, 39.73), influence_buffer_m=2000)
    mine.refresh_from_db()
    # A point 1.5 km east of the pit is in the zone but not the pit; 2.5 km east is in neither.
    assert MiningArea.objects.filter(influence_zone__covers="POINT(111.2775 39.725)").count() == 1
    assert MiningArea.objects.filter(geom__covers="POINT(111.2775 39.725)").count() == 0
    assert MiningArea.objects.filter(influence_zone__covers="POINT(111.2895 39.725)").count() == 0


def test_boundaries_in_force_on_a_date():
    VillageFactory(code="150622900201", valid_from=dt.date(2020, 1, 1), valid_to=dt.date(2023, 12, 31))
    VillageFactory(code="150622900201", valid_from=dt.date(2024, 1, 1), valid_to=None)
    assert Village.objects.in_force(dt.date(2022, 6, 1)).get().valid_from == dt.date(2020, 1, 1)
    assert Village.objects.in_force(dt.date(2025, 6, 1)).get().valid_from == dt.date(2024, 1, 1)
    assert not Parcel.objects.in_force(dt.date(2025, 1, 1)).exists()
