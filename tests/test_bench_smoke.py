"""Smoke test of the benchmarks: the generator and every workload on a tiny data set (2,000 cases).

Each workload runs our path and its peer on the test database and must get the same answers as
the peer: bulk linking (geopandas sjoin) the same township/village/grid/mining codes and parcels,
the single lookup (shapely STRtree) the same codes, the GeoJSON list (DRF + drf-gis) the same
features, DBSCAN (scikit-learn) the same clusters, Gi* (esda) the same classes. Timings are not
judged here; `make bench` measures them on the large data.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import shapely

from bench import workloads
from bench.run import bench_users
from fixtures import synthetic_large
from geo_disputes.models import Case, Parcel
from geo_disputes.services.areas.linking import link_cases

N = 2_000


@pytest.fixture
def small(db, demo_areas) -> workloads.Context:
    """The demo areas plus a few synthetic parcels and 2,000 synthetic cases, loaded with COPY."""
    synthetic_large.load_parcels(Parcel.objects.count() + 3_000)
    assert synthetic_large.load_cases(N) == N
    planner, field_user, token = bench_users()
    return workloads.Context(
        size=N, size_label="2k cases", planner=planner, field_user=field_user, points=150, repeat=1, token=token
    )


def test_sizes_parse():
    assert [synthetic_large.parse_size(s) for s in ("10k", "100k", "1m", "2500", "1.5k")] == [
        10_000,
        100_000,
        1_000_000,
        2_500,
        1_500,
    ]
    with pytest.raises(ValueError):
        synthetic_large.parse_size("lots")
    assert synthetic_large.format_size(100_000) == "100k"


def test_generator_is_deterministic_clumped_and_inside_the_banner():
    a, b = synthetic_large.generate_cases(N), synthetic_large.generate_cases(N)
    assert np.array_equal(a.lon, b.lon) and a.columns["reference"] == b.columns["reference"]
    outline = synthetic_large.banner().outline
    from fixtures.tessellation import to_metric

    metric = shapely.get_coordinates(to_metric(shapely.points(a.lon, a.lat)))
    assert shapely.contains_xy(outline, metric[:, 0], metric[:, 1]).all()
    refs = a.columns["reference"]
    assert len(set(refs)) == N and all(re.fullmatch(r"ZGE-20(25|26)-\d{6}", r) for r in refs)
    # Clumped: the median distance to the nearest other case is far below that of uniform points.
    from scipy.spatial import cKDTree

    nearest = np.median(cKDTree(metric).query(metric, k=2)[0][:, 1])
    uniform = 0.5 * np.sqrt(outline.area / N)  # expected nearest-neighbour distance of a Poisson process
    assert nearest < 0.5 * uniform
    kinds = set(a.source_kind)
    assert {"village", "community", "mine", "background"} <= kinds


def test_cases_load_with_every_column(small):
    assert Case.objects.count() == N
    case = Case.objects.order_by("id").first()
    assert case.reference.startswith("ZGE-2025-") and case.location.srid == 4326
    assert Case.objects.filter(datum="gcj02").exclude(submitted_lon=0).exists()
    assert Parcel.objects.filter(code__regex=r"^\d{12}JB\d{5}$").exists()


def test_bulk_linking_agrees_with_geopandas(small):
    result = workloads.bulk_linking(small)
    checks = result.checks
    assert checks["cases"] == N and checks["missing"] == 0
    assert checks["context_differences"] == 0, checks
    assert checks["stored_differences"] == 0, checks
    assert checks["parcel_pairs"] > 0 and checks["parcel_pairs_differing"] == 0
    assert checks["relink_changed"] == 0  # a second run with the same boundaries writes nothing
    assert {r.workload for r in result.rows} >= {"bulk linking, end to end (results stored)"}


def test_incremental_relink_after_a_village_redraw_agrees_with_geopandas_and_a_full_relink(small):
    result = workloads.incremental_relink(small, repeat=1)
    checks = result.checks
    assert checks["relink_differences"] == 0, checks
    assert checks["relink_full_changed"] == 0, checks
    assert 0 < checks["incremental_changed"] <= checks["incremental_examined"] < N, checks


def test_single_lookup_agrees_with_strtree(small):
    result = workloads.single_lookup(small)
    assert result.checks["lookups"] == 150
    assert result.checks["mismatches"] == 0


@pytest.mark.urls("bench.urls")
def test_geojson_agrees_with_drf_gis(small):
    result = workloads.geojson_bbox(small, page_sizes=(300,))
    assert result.checks["geojson_300_same"] == 1.0
    assert result.checks["geojson_300_features"] > 0


def test_dbscan_agrees_with_scikit_learn(small):
    link_cases()
    result = workloads.dbscan(small, repeat=1)
    assert result.checks["ari"] >= 0.99


def test_hot_spots_agree_with_esda(small):
    link_cases()
    result = workloads.hot_spots(small, repeat=1, banner=False)
    checks = result.checks
    assert checks["cells"] > 0
    assert checks["same_classes"] == checks["cells"]


def test_map_page_peer_embeds_every_case(small):
    result = workloads.map_page(small)
    (row,) = result.rows
    assert row.size == "2k cases" and row.peer
    html = workloads.peers.folium_page(workloads._all_case_points()[:50], fast=True)
    assert "cdn.jsdelivr" not in html and "/static/maps/vendor/leaflet/leaflet.js" in html


def test_generated_statuses_lie_on_each_procedures_track():
    from geo_disputes.models.cases import Status
    from geo_disputes.services.cases.procedures import Track, track_of
    from geo_disputes.services.cases.workflow import TRANSITIONS

    def statuses(track: Track) -> set[str]:
        table = TRANSITIONS[track]
        return {s for s, _ in table} | set(table.values()) | {Status.REPORTED}

    cols = synthetic_large.generate_cases(N).columns
    pairs = set(zip(cols["procedure"], cols["status"], strict=True))
    assert {p for p, _ in pairs} == {"mediation", "petition", "litigation", "discipline"}
    assert not [(p, s) for p, s in pairs if s not in statuses(track_of(p))]
    assert "evaluated" not in cols["status"]
