"""Hot spots: Gi* and Moran's I agree with PySAL esda; a planted cluster is hot; refusals; village rates."""

from __future__ import annotations

import esda
import numpy as np
import pytest
import shapely
import shapely.geometry
from django.contrib.gis.geos import Point
from esda.smoothing import Empirical_Bayes
from libpysal.weights import DistanceBand

from geo_disputes.models import Banner, Case, Village
from geo_disputes.services.analysis import hotspots
from geo_disputes.services.analysis.hotspots import (
    BAND_TOLERANCE_M,
    HotSpotRefused,
    empirical_bayes,
    fdr_classes,
    fdr_cutoff,
    hot_spots,
    nearest_neighbour_cell_size,
    peak_indices,
    spread_cell_size,
    village_rates,
)

from .factories import CaseFactory, GridFactory, StaffFactory, VillageFactory, box

BOX = (111.0, 39.5, 111.4, 39.8)  # about 34 km x 33 km
SPOT = (111.2, 39.65)
VILLAGE = "150622106202"
SCATTERED = "150622106203"


def _case(lon: float, lat: float, **kw) -> Case:
    return CaseFactory(location=Point(lon, lat, srid=4326), submitted_lon=lon, submitted_lat=lat, **kw)


@pytest.fixture
def banner(db):
    return Banner.objects.create(code="150622", name="准格尔旗", geom=box(*BOX))


@pytest.fixture
def planted(banner):
    """60 cases scattered over the banner (35 of them in village SCATTERED), 40 planted within ~200 m
    of SPOT (in village VILLAGE). Village codes only matter for who may see the cases."""
    rng = np.random.default_rng(7)
    lons, lats = rng.uniform(BOX[0], BOX[2], 60), rng.uniform(BOX[1], BOX[3], 60)
    for k, (lon, lat) in enumerate(zip(lons, lats, strict=True)):
        _case(float(lon), float(lat), village_code=SCATTERED if k < 35 else "")
    for dx, dy in rng.uniform(-0.002, 0.002, (40, 2)):
        _case(SPOT[0] + float(dx), SPOT[1] + float(dy), village_code=VILLAGE)
    return hot_spots(Case.objects.all())


def _arrays(result):
    centres = np.array([(c.x, c.y) for c in result.cells])
    counts = np.array([c.count for c in result.cells], dtype=float)
    return centres, counts


def _kth_neighbour_band(centres: np.ndarray) -> float:
    """The k-nearest fallback worked out by brute force: k = 5 % of the cells (3..30), the mean distance of each
    cell to its k-th nearest other cell."""
    n = len(centres)
    k = min(max(int(n * 0.05), 3), 30, n - 1)
    d = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
    return float(np.sort(d, axis=1)[:, k].mean())


def test_gi_star_z_scores_and_classes_match_esda(planted):
    centres, counts = _arrays(planted)
    # The band esda uses is worked out here, not read from our result: on this fixture Moran's z never peaks
    # above 1.65 (esda's own Moran, below), so the band is the k-nearest fallback.
    assert all(
        esda.Moran(counts, _w(centres, step.distance_m), transformation="r", permutations=0).z_rand < 1.65
        for step in planted.moran_steps
    )
    band = _kth_neighbour_band(centres)
    assert (planted.distance_band_rule, planted.distance_band_m) == ("k_nearest", pytest.approx(band, rel=1e-9))
    reference = esda.G_Local(counts, _w(centres, band), transform="B", star=True, permutations=0)
    ours = np.array([c.gi_z for c in planted.cells])
    assert np.abs(ours - reference.Zs).max() < 1e-6
    p = 2 * reference.p_norm  # esda's p_norm is one-sided
    assert np.abs(np.array([c.gi_p for c in planted.cells]) - p).max() < 1e-9
    expected = []
    cutoffs = {a: esda.fdr(p, a) for a in (0.01, 0.05, 0.10)}
    for z, pi in zip(reference.Zs, p, strict=True):
        level = next((lvl for a, lvl in ((0.01, "99"), (0.05, "95"), (0.10, "90")) if pi < cutoffs[a]), None)
        expected.append("not_significant" if level is None else f"{'hot' if z > 0 else 'cold'}_{level}")
    assert [c.cls for c in planted.cells] == expected
    assert any(cls != "not_significant" for cls in expected)


def _w(centres: np.ndarray, distance: float) -> DistanceBand:
    return DistanceBand(centres, threshold=distance + BAND_TOLERANCE_M, binary=True, silence_warnings=True)


def test_moran_steps_match_esda(planted):
    centres, counts = _arrays(planted)
    assert len(planted.moran_steps) >= 3
    for step in planted.moran_steps:
        reference = esda.Moran(counts, _w(centres, step.distance_m), transformation="r", permutations=0)
        assert step.moran_i == pytest.approx(reference.I, abs=1e-9)
        assert step.z == pytest.approx(reference.z_rand, abs=1e-6)
    assert planted.moran_steps[0].distance_m == pytest.approx(planted.cell_size_m, rel=1e-6)  # hexagon spacing


def _lattice(block: int) -> tuple[np.ndarray, np.ndarray]:
    """A 30 x 30 lattice of cells 100 m apart, counts in a checkerboard of `block` x `block` cell squares (10 or
    0): clustered at the scale of the block, so Moran's I is strongly positive up to about that distance."""
    xs, ys = np.meshgrid(np.arange(30) * 100.0, np.arange(30) * 100.0)
    counts = ((xs.ravel() // (100 * block) + ys.ravel() // (100 * block)) % 2) * 10.0
    return np.c_[xs.ravel(), ys.ravel()], counts


def test_the_band_is_the_first_peak_of_moran_s_z():
    """Blocks of 5 x 5 cells: esda's Moran z rises from 100 to 200 m and falls at 300 m: the first peak, 200 m.
    Blocks of 3 x 3: z falls from the start, rises again to a peak at 600 m (the first one after a rise)."""
    centres, counts = _lattice(5)
    z = [esda.Moran(counts, _w(centres, d), transformation="r", permutations=0).z_rand for d in (100, 200, 300)]
    assert z[0] < z[1] > z[2] and z[1] > 1.65
    band, rule, steps = hotspots.distance_band(centres, counts)
    assert (rule, band) == ("moran_first_peak", pytest.approx(200.0))
    assert [s.distance_m for s in steps[:3]] == pytest.approx([100.0, 200.0, 300.0])
    centres, counts = _lattice(3)
    z = [esda.Moran(counts, _w(centres, d), transformation="r", permutations=0).z_rand for d in range(100, 800, 100)]
    assert z[0] > z[1] > z[2] > z[3] < z[4] < z[5] > z[6] and z[5] > 1.65 and z[0] > z[5]
    assert hotspots.distance_band(centres, counts)[:2] == (pytest.approx(600.0), "moran_first_peak")


def test_the_band_is_the_k_nearest_distance_when_moran_s_z_never_peaks():
    rng = np.random.default_rng(1)
    centres, counts = rng.uniform(0, 3000, (400, 2)), rng.poisson(2, 400).astype(float)
    band, rule, steps = hotspots.distance_band(centres, counts)
    assert max(s.z for s in steps) < 1.65
    assert (rule, band) == ("k_nearest", pytest.approx(_kth_neighbour_band(centres), rel=1e-9))


def test_the_band_is_the_standard_distance_when_the_k_nearest_one_is_longer():
    """Five cells in a row 100 m apart: the 3rd-nearest neighbour is 240 m away on average, the standard
    distance around the mean centre sqrt(2) x 100 m."""
    centres = np.array([(x * 100.0, 0.0) for x in range(5)])
    band, rule, _ = hotspots.distance_band(centres, np.array([1.0, 0, 3, 0, 1]))
    assert (rule, band) == ("standard_distance", pytest.approx(100 * 2**0.5))


def test_the_band_is_never_below_a_thousandth_of_the_study_area_s_extent():
    """Two tight groups of cells 1 m apart, 1,000 km from each other: the k-nearest distance is a few metres,
    the floor 0.001 x 1,000 km = 1 km."""
    rng = np.random.default_rng(2)
    group = np.array([(x, y) for x in range(6) for y in range(5)], dtype=float)
    centres = np.vstack([group, group + (1_000_000.0, 0.0)])
    band, rule, _ = hotspots.distance_band(centres, rng.poisson(2, len(centres)).astype(float))
    assert rule == "k_nearest" and band == pytest.approx(1_000_000.0 * 0.001 + 5 * 0.001, rel=1e-3)


def test_the_planted_cluster_is_a_hot_spot_and_empty_land_is_not(planted):
    spot = Case.objects.filter(village_code=VILLAGE).first().location.transform(4546, clone=True)
    nearest = min(planted.cells, key=lambda c: (c.x - spot.x) ** 2 + (c.y - spot.y) ** 2)
    assert nearest.count >= 30
    assert nearest.cls == "hot_99"
    far = [
        c for c in planted.cells if np.hypot(c.x - spot.x, c.y - spot.y) > 3 * planted.distance_band_m and c.count == 0
    ]
    assert far
    assert all(not c.cls.startswith("hot") for c in far)
    assert planted.n_incidents == 100 and planted.n_outside == 0
    assert sum(c.count for c in planted.cells) == 100


def test_cell_size_follows_the_nearest_neighbour_rule():
    # Nearest-neighbour distances 100, 100, 200, 300: mean 175 > median 150, ratio < 2 -> 2 x 175.
    size, outliers = nearest_neighbour_cell_size(np.array([(0, 0), (100, 0), (300, 0), (600, 0)]))
    assert size == pytest.approx(350.0) and outliers == 0
    # Coincident incidents count once: the same four locations, one of them three times.
    assert nearest_neighbour_cell_size(np.array([(0, 0), (0, 0), (0, 0), (100, 0), (300, 0), (600, 0)]))[0] == 350.0
    with pytest.raises(HotSpotRefused):
        nearest_neighbour_cell_size(np.array([(5, 5), (5, 5)]))


def test_peaks_need_a_rise_a_fall_and_z_above_1_65():
    assert peak_indices([1.0, 2.0, 3.0, 2.5, 4.0, 3.0]) == (2, 4)
    assert peak_indices([3.0, 2.0, 1.0]) == (None, None)  # falling from the start: no peak
    assert peak_indices([0.5, 1.0, 0.8]) == (None, None)  # below 1.65
    assert peak_indices([1.0, 2.0, 3.0]) == (None, None)  # still rising at the last distance


def test_fdr_cutoff_and_classes_agree_with_esda():
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(0, 0.002, 15), rng.uniform(0, 1, 200)])
    for alpha in (0.01, 0.05, 0.10):
        assert fdr_cutoff(p, alpha) == pytest.approx(esda.fdr(p, alpha))
    assert fdr_cutoff(np.array([0.5, 0.9]), 0.05) == pytest.approx(esda.fdr(np.array([0.5, 0.9]), 0.05))
    classes, _ = fdr_classes(np.array([3.5, -3.5, 0.1]), np.array([0.0001, 0.0001, 0.9]))
    assert classes == ["hot_99", "cold_99", "not_significant"]


def test_fewer_than_30_incidents_are_refused(banner):
    rng = np.random.default_rng(1)
    for lon, lat in zip(rng.uniform(BOX[0], BOX[2], 29), rng.uniform(BOX[1], BOX[3], 29), strict=True):
        _case(float(lon), float(lat))
    with pytest.raises(HotSpotRefused, match="at least 30 incidents"):
        hot_spots(Case.objects.all())
    # A repeat petition is its original's matter: 30 petitions with one repeat are still 29 incidents.
    original = Case.objects.first()
    _case(original.location.x, original.location.y, repeat_of=original)
    with pytest.raises(HotSpotRefused, match="found 29"):
        hot_spots(Case.objects.all())


def test_counts_without_variance_are_refused(banner, monkeypatch):
    monkeypatch.setattr(hotspots, "_grid_counts", lambda *a: [(i, 0, i * 1000.0, 0.0, 1, "{}") for i in range(40)])
    rng = np.random.default_rng(2)
    for lon, lat in zip(rng.uniform(BOX[0], BOX[2], 40), rng.uniform(BOX[1], BOX[3], 40), strict=True):
        _case(float(lon), float(lat))
    with pytest.raises(HotSpotRefused, match="no variance"):
        hot_spots(Case.objects.all())


def test_api_hotspots_counts_only_what_the_user_may_see(planted, api_client):
    village_officer = StaffFactory(role="village_officer", scope_code=SCATTERED).user
    planner = StaffFactory(role="planner").user
    api_client.force_authenticate(planner)
    body = api_client.get("/api/hotspots/").json()
    assert body["type"] == "FeatureCollection"
    for member in ("cell_size_m", "distance_band_m", "fdr_alpha", "n_incidents"):
        assert member in body
    assert body["n_incidents"] == 100
    assert body["fdr_alpha"] == [0.1, 0.05, 0.01]
    props = [f["properties"] for f in body["features"]]
    assert {"count", "gi_z", "gi_p", "class"} <= set(props[0])
    assert any(p["count"] == 0 for p in props)  # every cell of the grid, empty ones included
    lon, lat = body["features"][0]["geometry"]["coordinates"][0][0]
    assert 110 < lon < 112 and 39 < lat < 41  # WGS84
    assert "hot_99" in {p["class"] for p in props}

    api_client.force_authenticate(village_officer)
    body = api_client.get("/api/hotspots/").json()
    assert body["n_incidents"] == 35  # only the officer's village


def test_api_hotspots_refusal_is_a_422_with_a_message(banner, api_client):
    _case(111.1, 39.6)
    api_client.force_authenticate(StaffFactory(role="banner_admin").user)
    response = api_client.get("/api/hotspots/")
    assert response.status_code == 422
    assert "at least 30 incidents" in response.json()["detail"]
    response = api_client.get("/api/hotspots/", {"township": "150622999"})
    assert response.status_code == 400 and "township" in response.json()


def test_empirical_bayes_by_hand_and_against_esda():
    # Hand example: events 3, 5, 0 in 10, 100, 40 households. Overall rate b = 8/150 = 0.05333;
    # crude rates 0.3, 0.05, 0; prior variance a = (10·0.2467² + 100·0.0033² + 40·0.0533²)/150 − b/50
    # = 0.004822 − 0.001067 = 0.003755; the 10-household village is pulled hardest towards b.
    e, n = np.array([3, 5, 0]), np.array([10, 100, 40])
    b = 8 / 150
    a = (10 * (0.3 - b) ** 2 + 100 * (0.05 - b) ** 2 + 40 * (0 - b) ** 2) / 150 - b / 50
    assert a == pytest.approx(0.003755, abs=1e-6)
    expected = [b + a / (a + b / ni) * (ri - b) for ri, ni in zip([0.3, 0.05, 0.0], n, strict=True)]
    assert empirical_bayes(e, n) == pytest.approx(expected)
    assert expected[0] == pytest.approx(0.1553, abs=1e-4)  # 0.30 crude, shrunk to 0.155
    rng = np.random.default_rng(5)
    e, n = rng.poisson(4, 50), rng.integers(20, 400, 50)
    assert empirical_bayes(e, n) == pytest.approx(Empirical_Bayes(e, n).r.ravel())
    # Negative prior variance (no more spread than chance): every unit gets the overall rate.
    assert empirical_bayes(np.array([1, 10]), np.array([10, 100])) == pytest.approx([0.1, 0.1])


def test_village_rates_and_api(banner, api_client):
    VillageFactory(code="150622106201", name="甲村", geom=box(111.0, 39.5, 111.1, 39.6))
    VillageFactory(code="150622106202", name="乙村", geom=box(111.1, 39.5, 111.2, 39.6))
    VillageFactory(code="150622106203", name="丙村", geom=box(111.2, 39.5, 111.3, 39.6))
    GridFactory(code="150622106201-001", households=10)
    GridFactory(code="150622106202-001", households=60)
    GridFactory(code="150622106202-002", households=40)
    GridFactory(code="150622106203-001", households=40)
    for _ in range(1):
        _case(111.05, 39.55, village_code="150622106201")
    for _ in range(5):
        _case(111.15, 39.55, village_code="150622106202")
    original = _case(111.15, 39.55, village_code="150622106202")
    _case(111.15, 39.55, village_code="150622106202", repeat_of=original)  # counted once
    rows = {r.code: r for r in village_rates(Case.objects.all())}
    assert [rows[c].cases for c in sorted(rows)] == [1, 6, 0]
    assert rows["150622106202"].households == 100
    assert rows["150622106201"].rate_per_100 == pytest.approx(10.0)
    smoothed = empirical_bayes(np.array([1, 6, 0]), np.array([10, 100, 40])) * 100
    assert [rows[c].eb_rate_per_100 for c in sorted(rows)] == pytest.approx(list(smoothed))

    api_client.force_authenticate(StaffFactory(role="village_officer", scope_code="150622106202").user)
    body = api_client.get("/api/village-rates/").json()
    assert [v["code"] for v in body["villages"]] == ["150622106202"]
    assert body["villages"][0]["cases"] == 6
    api_client.force_authenticate(StaffFactory(role="planner").user)
    geo = api_client.get("/api/village-rates/", {"output": "geojson"}).json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 3
    assert {"cases", "households", "rate_per_100", "eb_rate_per_100"} <= set(geo["features"][0]["properties"])
    for feature in geo["features"]:  # outlines simplified for the map: within a few metres of the stored ones
        drawn = shapely.geometry.shape(feature["geometry"])
        stored = shapely.from_wkb(bytes(Village.objects.get(code=feature["id"]).geom.wkb))
        assert drawn.is_valid and drawn.hausdorff_distance(stored) < 0.0001  # ~10 m
        assert feature["properties"]["cases"] == rows[feature["id"]].cases
    assert api_client.get("/api/village-rates/", {"output": "xml"}).status_code == 400


def test_a_very_fine_grid_is_coarsened_to_the_cell_cap(banner, monkeypatch):
    """Many close incidents make ArcGIS's rule ask for a huge grid; the answer stays bounded and says so."""
    import geo_disputes.services.analysis.hotspots as module

    rng = np.random.default_rng(11)
    lons, lats = rng.uniform(BOX[0], BOX[2], 60), rng.uniform(BOX[1], BOX[3], 60)
    for lon, lat in zip(lons, lats, strict=True):
        _case(float(lon), float(lat))
    unbounded = hot_spots(Case.objects.all())
    assert unbounded.cell_size_rule == "nearest_neighbour"
    monkeypatch.setattr(module, "MAX_CELLS", len(unbounded.cells) // 2)
    bounded = hot_spots(Case.objects.all())
    assert bounded.cell_size_rule == "capped_to_max_cells"
    assert bounded.cell_size_m > unbounded.cell_size_m
    # Border hexagons clipped to the study area add a fringe (~4 per side-length) to the area's count.
    assert len(bounded.cells) < len(unbounded.cells)
    assert len(bounded.cells) <= module.MAX_CELLS + 4 * module.MAX_CELLS**0.5 + 8


WIDE = (110.3, 39.3, 111.8, 40.5)  # about 128 km x 133 km, the size of the real banner


def _clustered_mining_cases() -> None:
    """46 mining_subsidence cases in two neighbouring villages 2.5 km apart: 20 distinct places in
    close pairs (~1 m apart, as when a location is re-entered; 40 cases) and 6 lone places ~1.7 km apart — the
    nearest-neighbour distances are lopsided (median ~1 m, mean ~350 m), the shape of issue 14."""
    a, b = (111.0, 39.8), (111.03, 39.8)
    for k in range(10):
        lon, lat = a[0] + 0.0005 * k, a[1] + 0.0003 * (k % 3)
        for d in (0.0, 0.00001):
            _case(lon + d, lat, category="mining_subsidence", village_code="150622106202")
            _case(lon + d, lat, category="mining_subsidence", village_code="150622106202")
    for dx, dy in ((-0.01, -0.01), (0.01, -0.01), (-0.01, 0.01), (0.01, 0.01), (0.0, -0.025), (0.0, 0.025)):
        _case(b[0] + dx, b[1] + dy, category="mining_subsidence", village_code="150622106203")
    for k in range(20):  # other categories, spread over the banner, must not widen the cell
        _case(110.4 + 0.07 * k, 39.4 + 0.05 * k, category="land_contract")


def test_spread_cell_size_fits_30_hexagons_in_the_incidents_box():
    """Worked by hand: a 3000 m x 2000 m box is 6e6 m²; a hexagon of height c covers (√3/2)c², so
    30 of them fit at c = sqrt(6e6 / (0.8660254 * 30)) = 480.56 m."""
    size = spread_cell_size(np.array([(0, 0), (3000, 0), (1000, 2000), (3000, 2000)]))
    assert size == pytest.approx(480.56, abs=0.01)
    assert spread_cell_size(np.array([(0, 0), (0, 0), (10, 0)])) == pytest.approx((10 / (0.8660254 * 30)) ** 0.5)


def test_tightly_clustered_incidents_get_a_grid_not_a_refusal(db):
    """Issue 14: the nearest-neighbour rule alone gives a cell wider than the banner; the spread rule
    keeps it within the incidents' own extent, so the grid has well over 30 cells."""
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(*WIDE))
    _clustered_mining_cases()
    cases = Case.objects.filter(category="mining_subsidence")
    xy = np.array(
        [(p.transform(4546, clone=True).x, p.transform(4546, clone=True).y) for p in (c.location for c in cases)]
    )
    assert nearest_neighbour_cell_size(xy)[0] > 50_000  # the old rule: refused (a few cells over the banner)
    result = hot_spots(cases)
    assert result.cell_size_rule in ("incident_spread", "capped_to_max_cells")
    assert result.cell_size_m <= spread_cell_size(xy) + 1e-6 or result.cell_size_rule == "capped_to_max_cells"
    assert len(result.cells) > 30 and result.n_incidents == 46
    assert max(c.count for c in result.cells) >= 2


def test_api_hotspots_answers_a_clustered_category(db, api_client):
    """The issue-14 contract: ≥ 30 incidents over more than one village → 200 with more than 30 cells."""
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(*WIDE))
    _clustered_mining_cases()
    api_client.force_authenticate(StaffFactory(role="planner").user)
    response = api_client.get("/api/hotspots/", {"category": "mining_subsidence"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["n_incidents"] == 46 and len(body["features"]) > 30
    assert sum(f["properties"]["count"] for f in body["features"]) == 46


def test_spread_out_incidents_keep_the_nearest_neighbour_cell(planted):
    """On spread-out data the spread cap is far above the nearest-neighbour cell and changes nothing."""
    assert planted.cell_size_rule == "nearest_neighbour"
