"""Emerging hot spots: planted space-time patterns come out as planted; the Gi* z of every bin and
each location's trend agree with esda (G_Local, star, on a space-time weights matrix) and
pymannkendall; the cube's counts come from PostGIS; refusals name the parameter."""

from __future__ import annotations

import datetime as dt

import esda
import numpy as np
import pymannkendall
import pytest
from django.contrib.gis.gdal import CoordTransform, SpatialReference
from django.contrib.gis.geos import Point
from django.utils import timezone
from libpysal.weights import W

from geo_disputes.models import Banner, Case
from geo_disputes.services.analysis import hotspots
from geo_disputes.services.analysis.emerging import (
    ALPHA,
    CATEGORIES,
    classify,
    emerging_hot_spots,
    mann_kendall,
    space_time_gi_star,
)
from geo_disputes.services.analysis.hotspots import HotSpotRefused

from .factories import CaseFactory, StaffFactory, box

SIDE = 1000.0  # lattice spacing of the synthetic cube, metres
BAND = 1000.0  # the six (here four) nearest neighbours
STEPS = 12
PLANTS = {  # location -> expected category
    (3, 3): "new_hot",
    (3, 12): "intensifying_hot",
    (12, 3): "diminishing_hot",
    (12, 12): "persistent_hot",
}


def _cube() -> tuple[np.ndarray, np.ndarray, dict[tuple[int, int], int]]:
    """A 16×16 square lattice × 12 steps: Poisson(2) background, four planted hot spots (the spot's
    cell and its four neighbours)."""
    rng = np.random.default_rng(17)
    grid = [(a, b) for a in range(16) for b in range(16)]
    index = {ab: k for k, ab in enumerate(grid)}
    centres = np.array(grid, dtype=float) * SIDE
    counts = rng.poisson(2.0, (len(grid), STEPS)).astype(float)
    t = np.arange(STEPS)
    shapes = {
        (3, 3): np.where(t == STEPS - 1, 40.0, 0.0),
        (3, 12): 14.0 + 3.0 * t,
        (12, 3): 50.0 - 3.0 * t,
        (12, 12): 20.0 + 4.0 * (t % 2),  # high, up and down, no trend
    }
    for (a, b), extra in shapes.items():
        for da, db in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
            counts[index[(a + da, b + db)]] += extra
    return centres, counts, index


def _categories(z: np.ndarray, p: np.ndarray, trends: list[tuple[float, float]]) -> list[str]:
    cutoff = hotspots.fdr_cutoff(p.ravel(), ALPHA)
    return [classify(z[k], p[k] < cutoff, tz, tp) for k, (tz, tp) in enumerate(trends)]


def _reference_category(z: np.ndarray, sig: np.ndarray, trend_z: float, trend_p: float) -> str:
    """Esri's table read sentence by sentence, written apart from `classify` (no shared helper): the
    first definition that holds, hot before cold, in the precedence `classify` documents."""
    n = len(z)
    for name, s in (("hot", 1), ("cold", -1)):
        spot = [bool(sig[t]) and s * z[t] > 0 for t in range(n)]
        opposite = [bool(sig[t]) and s * z[t] < 0 for t in range(n)]
        share = sum(spot) / n
        up = trend_p < ALPHA and s * trend_z > 0
        down = trend_p < ALPHA and s * trend_z < 0
        trailing = 0
        while trailing < n and spot[n - 1 - trailing]:
            trailing += 1
        rules = [
            ("historical", share >= 0.9 - 1e-12 and not spot[-1]),
            ("intensifying", share >= 0.9 - 1e-12 and spot[-1] and up),
            ("diminishing", share >= 0.9 - 1e-12 and spot[-1] and down),
            ("persistent", share >= 0.9 - 1e-12 and spot[-1] and not up and not down),
            ("oscillating", share < 0.9 - 1e-12 and spot[-1] and any(opposite)),
            ("new", spot[-1] and sum(spot) == 1 and not any(opposite)),
            ("consecutive", trailing >= 2 and sum(spot) == trailing and share < 0.9 - 1e-12 and not any(opposite)),
            ("sporadic", share < 0.9 - 1e-12 and spot[-1] and not any(opposite)),
        ]
        for pattern, holds in rules:
            if holds:
                return f"{pattern}_{name}"
    return "no_pattern"


def _esda_categories(counts: np.ndarray, centres: np.ndarray, band: float, time_steps: int) -> list[str]:
    """The whole answer again from esda (G_Local, star, on space-time weights), esda.fdr and
    pymannkendall, classified by `_reference_category`: nothing of ours but the cube's counts."""
    w = _space_time_w(centres, counts.shape[1], band, time_steps)
    reference = esda.G_Local(counts.ravel(), w, transform="B", star=True, permutations=0)
    ref_z = reference.Zs.reshape(counts.shape)
    ref_p = 2 * reference.p_norm.reshape(counts.shape)  # esda's p_norm is one-sided
    cutoff = esda.fdr(ref_p.ravel(), ALPHA)
    out = []
    for k, row in enumerate(ref_z):
        trend = pymannkendall.original_test(row)
        out.append(_reference_category(row, ref_p[k] < cutoff, trend.z, trend.p))
    return out


def test_planted_patterns_come_out_as_planted():
    centres, counts, index = _cube()
    z = space_time_gi_star(counts, centres, BAND, 1)
    p = hotspots.two_sided_p(z)
    categories = _categories(z, p, [mann_kendall(row) for row in z])
    for ab, expected in PLANTS.items():
        assert categories[index[ab]] == expected, ab
    assert categories.count("no_pattern") > len(categories) // 2


def _space_time_w(centres: np.ndarray, n_t: int, band: float, time_steps: int) -> W:
    """Binary weights over bins (location k, step t) -> k * n_t + t: spatial neighbours within the band
    (and the location itself) at steps t - time_steps .. t, itself excluded (G_Local star adds it)."""
    n = len(centres)
    d = np.hypot(*(centres[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
    neighbours = {}
    for k in range(n):
        near = np.nonzero(d[k] <= band + 1e-3)[0]
        for t in range(n_t):
            ids = [m * n_t + s for m in near for s in range(max(0, t - time_steps), t + 1)]
            neighbours[k * n_t + t] = [b for b in ids if b != k * n_t + t]
    return W(neighbours, silence_warnings=True)


# With no neighbouring time steps (time_steps=0) the space-time weights are one block per step: libpysal says the
# matrix has as many components as steps (12), which is what that neighbourhood means — not a fault.
@pytest.mark.filterwarnings("ignore:The weights matrix is not fully connected:UserWarning")
@pytest.mark.parametrize("time_steps", [0, 1, 2])
def test_bins_trends_and_categories_match_esda_and_pymannkendall(time_steps):
    centres, counts, _ = _cube()
    z = space_time_gi_star(counts, centres, BAND, time_steps)
    w = _space_time_w(centres, STEPS, BAND, time_steps)
    reference = esda.G_Local(counts.ravel(), w, transform="B", star=True, permutations=0)
    ref_z = reference.Zs.reshape(counts.shape)
    np.testing.assert_allclose(z, ref_z, atol=1e-9)
    ref_p = 2 * reference.p_norm.reshape(counts.shape)  # esda's p_norm is one-sided
    ref_trends = []
    for k, row in enumerate(ref_z):
        result = pymannkendall.original_test(row)
        ref_trends.append((result.z, result.p))
        np.testing.assert_allclose(mann_kendall(z[k]), (result.z, result.p), atol=1e-9)
    ref_cutoff = esda.fdr(ref_p.ravel(), ALPHA)
    assert ref_cutoff == pytest.approx(hotspots.fdr_cutoff(hotspots.two_sided_p(z).ravel(), ALPHA))
    ours = _categories(z, hotspots.two_sided_p(z), [mann_kendall(row) for row in z])
    assert ours == _esda_categories(counts, centres, BAND, time_steps)
    assert len(set(ours)) > 2


NINE = [1] * 9  # with the final step: 10 steps, 9 of them (90 %) significant


@pytest.mark.parametrize(
    ("z", "sig", "trend", "expected"),
    [
        # hot: significant bins with z > 0
        ([1] * 11 + [3], [0] * 11 + [1], (0.0, 1.0), "new_hot"),
        ([1] * 8 + [3] * 4, [0] * 8 + [1] * 4, (3.0, 0.001), "consecutive_hot"),
        ([3] * 12, [1] * 12, (3.0, 0.001), "intensifying_hot"),
        ([1] + [3] * 9, [0] + NINE, (3.0, 0.001), "intensifying_hot"),  # exactly 90 %
        ([3] * 12, [1] * 12, (0.5, 0.6), "persistent_hot"),
        ([3] * 12, [1] * 12, (-3.0, 0.001), "diminishing_hot"),
        ([3, 1, 3, 1, 1, 3, 1, 1, 1, 1, 1, 3], [1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1], (0.0, 1.0), "sporadic_hot"),
        ([-3, 1, 3, 1, 1, 3, 1, 1, 1, 1, 1, 3], [1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1], (0.0, 1.0), "oscillating_hot"),
        ([-3] + [1] * 10 + [3], [1] + [0] * 10 + [1], (0.0, 1.0), "oscillating_hot"),  # once cold: not new
        ([3] * 11 + [1], [1] * 11 + [0], (0.0, 1.0), "historical_hot"),
        ([3] * 9 + [-3], NINE + [1], (-3.0, 0.001), "historical_hot"),  # hot read first
        # cold: significant bins with z < 0, "intensifying" = ever colder
        ([-1] * 11 + [-3], [0] * 11 + [1], (0.0, 1.0), "new_cold"),
        ([-1] * 9 + [-3] * 3, [0] * 9 + [1] * 3, (-3.0, 0.001), "consecutive_cold"),
        ([-3] * 12, [1] * 12, (-3.0, 0.001), "intensifying_cold"),
        ([-3] * 12, [1] * 12, (0.2, 0.8), "persistent_cold"),
        ([-3] * 12, [1] * 12, (3.0, 0.001), "diminishing_cold"),
        ([-3, -1, -1, -3, -1, -1, -1, -1, -1, -3], [1, 0, 0, 1, 0, 0, 0, 0, 0, 1], (0.0, 1.0), "sporadic_cold"),
        ([3, -1, -1, -3, -1, -1, -1, -1, -1, -3], [1, 0, 0, 1, 0, 0, 0, 0, 0, 1], (0.0, 1.0), "oscillating_cold"),
        ([-3] * 11 + [-1], [1] * 11 + [0], (0.0, 1.0), "historical_cold"),
        # neither, and edges of the definitions
        ([1] * 12, [0] * 12, (0.0, 1.0), "no_pattern"),
        ([3] + [1] * 11, [1] + [0] * 11, (0.0, 1.0), "no_pattern"),  # hot once, long ago
        ([1] * 9 + [3] * 3, [0] * 9 + [1] * 3, (3.0, 0.001), "consecutive_hot"),
        ([3] + [1] * 8 + [3] * 3, [1] + [0] * 8 + [1] * 3, (0.0, 1.0), "sporadic_hot"),  # a run, but hot before it
    ],
)
def test_classify_follows_the_published_definitions(z, sig, trend, expected):
    assert classify(np.array(z, float), np.array(sig, bool), *trend) == expected
    assert _reference_category(np.array(z, float), np.array(sig, bool), *trend) == expected


def test_every_category_is_covered_by_a_hand_built_series():
    table = test_classify_follows_the_published_definitions.pytestmark[0].args[1]
    assert {row[3] for row in table} == set(CATEGORIES)


BOX = (111.0, 39.5, 111.4, 39.8)


@pytest.fixture
def banner(db):
    return Banner.objects.create(code="150622", name="准格尔旗", geom=box(*BOX))


def _case(lon: float, lat: float, month: int, **kw) -> Case:
    when = timezone.make_aware(dt.datetime(2025 + (month - 1) // 12, (month - 1) % 12 + 1, 15, 10))
    return CaseFactory(
        location=Point(lon, lat, srid=4326), submitted_lon=lon, submitted_lat=lat, received_at=when, **kw
    )


def test_cube_counts_come_from_postgis_per_month(banner):
    rng = np.random.default_rng(3)
    for k, (lon, lat) in enumerate(zip(rng.uniform(BOX[0], BOX[2], 80), rng.uniform(BOX[1], BOX[3], 80), strict=True)):
        _case(float(lon), float(lat), 1 + k % 12)
    for k, (dx, dy) in enumerate(rng.uniform(-0.002, 0.002, (40, 2))):
        _case(111.2 + float(dx), 39.65 + float(dy), 7 + k % 6)
    result = emerging_hot_spots(Case.objects.all(), "month")
    assert len(result.steps) == 12 and result.steps[0] == dt.date(2025, 1, 1)
    totals = np.array([loc.counts for loc in result.locations]).sum(axis=0)
    background = [7] * 8 + [6] * 4  # 80 cases, month 1 + k % 12
    planted = [0] * 6 + [7] * 4 + [6] * 2  # 40 cases, month 7 + k % 6
    assert totals.tolist() == [u + v for u, v in zip(background, planted, strict=True)]
    spot = max(result.locations, key=lambda loc: sum(loc.counts))
    assert sum(spot.counts[6:]) >= 40 and sum(spot.counts[:6]) <= 2


def test_too_few_steps_is_refused_naming_the_step(banner):
    rng = np.random.default_rng(4)
    for lon, lat in zip(rng.uniform(BOX[0], BOX[2], 60), rng.uniform(BOX[1], BOX[3], 60), strict=True):
        _case(float(lon), float(lat), 1 + int(rng.integers(0, 12)))
    with pytest.raises(HotSpotRefused) as refused:
        emerging_hot_spots(Case.objects.all(), "quarter")
    assert refused.value.field == "step" and refused.value.message.startswith("新兴热点")


def _monthly(village: str = "") -> None:
    """120 cases over 12 months: 80 scattered (40 in `village`), 40 in one spot from month 7."""
    rng = np.random.default_rng(5)
    for k, (lon, lat) in enumerate(zip(rng.uniform(BOX[0], BOX[2], 80), rng.uniform(BOX[1], BOX[3], 80), strict=True)):
        _case(float(lon), float(lat), 1 + k % 12, village_code=village if k < 40 else "")
    for k, (dx, dy) in enumerate(rng.uniform(-0.002, 0.002, (40, 2))):
        _case(111.2 + float(dx), 39.65 + float(dy), 7 + k % 6)


def test_api_returns_the_categories_of_what_the_user_may_see(banner, api_client):
    _monthly("150622106203")
    api_client.force_authenticate(StaffFactory(role="planner").user)
    response = api_client.get("/api/emerging-hotspots/", {"step": "month"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["n_incidents"] == 120
    assert body["steps"][0] == "2025-01-01" and len(body["steps"]) == 12
    props = [f["properties"] for f in body["features"]]
    assert {"category", "trend_z", "trend_p", "gi_z", "counts"} <= set(props[0])
    assert all(len(p["gi_z"]) == 12 and len(p["counts"]) == 12 for p in props)
    assert {p["category"] for p in props} <= set(CATEGORIES)
    spot = max(props, key=lambda p: sum(p["counts"]))
    assert spot["category"].endswith("_hot")

    api_client.force_authenticate(StaffFactory(role="village_officer", scope_code="150622106203").user)
    response = api_client.get("/api/emerging-hotspots/", {"step": "month"})
    assert response.status_code == 200 and response.json()["n_incidents"] == 40


def test_api_refusals_name_the_parameter(banner, api_client):
    api_client.force_authenticate(StaffFactory(role="planner").user)
    _case(111.1, 39.6, 1)
    response = api_client.get("/api/emerging-hotspots/", {"step": "month"})
    assert response.status_code == 422 and response.json()["detail"].startswith("热点分析至少需要 30 件")
    _monthly()
    response = api_client.get("/api/emerging-hotspots/", {"step": "quarter"})
    assert response.status_code == 422
    assert response.json()["step"][0].startswith("新兴热点分析至少需要 10 个时间步")
    assert api_client.get("/api/emerging-hotspots/", {"step": "week"}).json().keys() == {"step"}
    assert api_client.get("/api/emerging-hotspots/", {"time_steps": "-1"}).json().keys() == {"time_steps"}


SPOTS = {  # planted spot -> (category, cases per month 1..12)
    (111.08, 39.56): ("new_hot", [0] * 11 + [40]),
    (111.30, 39.74): ("intensifying_hot", [12 + 2 * t for t in range(12)]),
    (111.32, 39.56): ("diminishing_hot", [34 - 2 * t for t in range(12)]),
}


def _planted_cases() -> None:
    """Scattered background (25 a month over the box) and three planted spots, all through the factory."""
    rng = np.random.default_rng(17)
    for month in range(1, 13):
        for lon, lat in zip(rng.uniform(BOX[0], BOX[2], 25), rng.uniform(BOX[1], BOX[3], 25), strict=True):
            _case(float(lon), float(lat), month)
    for (lon, lat), (_, per_month) in SPOTS.items():
        for month, n in enumerate(per_month, start=1):
            for dx, dy in rng.normal(0.0, 0.01, (n, 2)):  # about 1 km: a spot spans a few hexagons
                _case(lon + float(dx), lat + float(dy), month)


def test_planted_spots_in_postgis_come_back_as_planted_and_as_esda_says(banner):
    _planted_cases()
    result = emerging_hot_spots(Case.objects.all(), "month", 1)
    assert len(result.steps) == 12 and result.n_incidents >= Case.objects.count() - 2  # an edge point may fall outside
    to_metric = CoordTransform(SpatialReference(4326), SpatialReference(4546))
    centres = np.array([(loc.x, loc.y) for loc in result.locations])
    for (lon, lat), (expected, _) in SPOTS.items():
        spot = Point(lon, lat, srid=4326)
        spot.transform(to_metric)
        nearest = result.locations[int(np.argmin(np.hypot(*(centres - (spot.x, spot.y)).T)))]
        assert nearest.category == expected, (expected, nearest)
    categories = [loc.category for loc in result.locations]
    assert categories.count("no_pattern") > len(categories) // 2
    counts = np.array([loc.counts for loc in result.locations], dtype=float)
    assert categories == _esda_categories(counts, centres, result.distance_band_m, 1)
