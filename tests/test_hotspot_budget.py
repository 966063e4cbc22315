"""Hot spots stay within a stated memory budget: cell pairs are counted before they are held, the
Moran steps share one set of pairs, and a band that would pair too many cells is refused (422).
"""

from __future__ import annotations

import numpy as np
import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from scipy.spatial import cKDTree

from geo_disputes.models import Banner, Case
from geo_disputes.services.analysis import hotspots
from geo_disputes.services.analysis.hotspots import HotSpotRefused, gi_star_z, hot_spots, moran_i, moran_i_pairs

from .factories import CaseFactory, StaffFactory, box

BOX = (111.0, 39.5, 111.4, 39.8)


@pytest.fixture
def clumped_banner(db):
    """A banner with 100 cases: 60 scattered, 40 within ~200 m of one spot (as tests/test_hotspots.py)."""
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(*BOX))
    rng = np.random.default_rng(7)
    points = [*zip(rng.uniform(BOX[0], BOX[2], 60), rng.uniform(BOX[1], BOX[3], 60), strict=True)]
    points += [(111.2 + dx, 39.65 + dy) for dx, dy in rng.uniform(-0.002, 0.002, (40, 2))]
    for lon, lat in points:
        lon, lat = float(lon), float(lat)
        CaseFactory(location=Point(lon, lat, srid=4326), submitted_lon=lon, submitted_lat=lat)


def test_moran_from_pairs_equals_moran_from_the_weights_matrix():
    rng = np.random.default_rng(3)
    centres = rng.uniform(0, 10_000, (400, 2))
    y = rng.poisson(2.0, 400).astype(float)
    pairs = cKDTree(centres).query_pairs(900.0, output_type="ndarray")
    expected = moran_i(y, hotspots._symmetric(pairs, 400))
    assert moran_i_pairs(y, pairs, 400) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_a_band_pairing_more_cells_than_the_budget_is_refused_before_pairs_are_held(monkeypatch):
    rng = np.random.default_rng(4)
    centres = rng.uniform(0, 10_000, (300, 2))
    y = rng.poisson(2.0, 300).astype(float)
    monkeypatch.setattr(hotspots, "MAX_PAIRS", 100)

    class CountingOnly(cKDTree):
        def query_pairs(self, *args, **kwargs):
            pytest.fail("pairs built beyond the budget")

    monkeypatch.setattr(hotspots, "cKDTree", CountingOnly)
    with pytest.raises(HotSpotRefused, match="more than the 100"):
        gi_star_z(y, centres, 5_000.0)


def test_the_planner_is_told_why_when_the_band_is_over_budget(clumped_banner, api_client, monkeypatch):
    api_client.force_authenticate(StaffFactory(role="planner").user)
    assert api_client.get("/api/hotspots/").status_code == 200
    monkeypatch.setattr(hotspots, "MAX_PAIRS", 10)
    response = api_client.get("/api/hotspots/")
    assert response.status_code == 422
    assert "more than the 10 this service computes" in response.json()["detail"]


def test_the_cases_travel_as_a_subquery_not_as_an_id_list(clumped_banner):
    sent = []

    def record(execute, sql, params, many, context):
        sent.append(params)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        hot_spots(Case.objects.filter(category__isnull=False))
    assert sent and all(not isinstance(v, list | tuple) for params in sent for v in (params or ()))
