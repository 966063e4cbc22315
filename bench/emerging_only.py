"""Emerging hot spots alone, ours against an independent pipeline, on the benchmark's own database.

    BENCH_DB_NAME=gd_bench_analysis DJANGO_SETTINGS_MODULE=bench.settings \
        .venv/bin/python -m bench.emerging_only --cases 100000 --step month

Ours: services.analysis.emerging.emerging_hot_spots (cube counts in PostGIS, space-time Gi*, Mann-Kendall,
categories). The peer, on our cube's counts (the cube itself is PostGIS's, timed with ours): esda's
G_Local (star, binary) on a libpysal space-time weights matrix over all bins, pymannkendall's
original_test per location, esda's FDR, and the categories read from Esri's sentences by the tests' own
reference classifier (tests/test_emerging.py `_reference_category`, written apart from `classify`).
Same answers: z within 1e-9, identical categories; the script exits non-zero otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

import esda  # noqa: E402
import numpy as np  # noqa: E402
import pymannkendall  # noqa: E402
from libpysal.weights import WSP  # noqa: E402
from scipy import sparse  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402

from bench.analysis_only import prepare  # noqa: E402
from geo_disputes.models import Case  # noqa: E402
from geo_disputes.services.analysis import emerging, hotspots  # noqa: E402
from tests.test_emerging import _reference_category  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--step", default="month", choices=emerging.STEPS)
    parser.add_argument("--time-steps", type=int, default=1)
    args = parser.parse_args(argv)
    prepare(args.cases)
    started = time.perf_counter()
    result = emerging.emerging_hot_spots(Case.objects.all(), args.step, args.time_steps)
    ours = time.perf_counter() - started
    counts = np.array([loc.counts for loc in result.locations], dtype=float)
    centres = np.array([(loc.x, loc.y) for loc in result.locations])
    started = time.perf_counter()
    z, categories = peer(counts, centres, result.distance_band_m, args.time_steps)
    theirs = time.perf_counter() - started
    ours_z = np.array([loc.gi_z for loc in result.locations])
    same = np.allclose(ours_z, z, atol=1e-9) and categories == [loc.category for loc in result.locations]
    tally = {c: n for c in emerging.CATEGORIES if (n := categories.count(c))}
    print(
        f"emerging hot spots, {result.n_incidents:,} incidents, {len(result.locations):,} cells × "
        f"{len(result.steps)} {args.step}s: ours {ours:.2f} s (whole analysis incl. PostGIS cube and static "
        f"grid); esda+pymannkendall {theirs:.2f} s (statistics on our cube only); same answers: {same}; {tally}",
        flush=True,
    )
    sys.exit(0 if same else 1)


def peer(counts: np.ndarray, centres: np.ndarray, band: float, time_steps: int) -> tuple[np.ndarray, list[str]]:
    """The independent pipeline: esda G_Local on a space-time W, pymannkendall, esda.fdr, the reference categories."""
    n_loc, n_t = counts.shape
    spatial = cKDTree(centres).sparse_distance_matrix(cKDTree(centres), band + hotspots.BAND_TOLERANCE_M)
    spatial = (spatial > 0).astype(float) + sparse.identity(n_loc)
    temporal = sparse.diags([1.0] * (time_steps + 1), [-k for k in range(time_steps + 1)], shape=(n_t, n_t))
    w = sparse.kron(spatial, temporal, format="csr")  # bin k * n_t + t
    w.setdiag(0)
    w.eliminate_zeros()
    weights = WSP(w).to_W(silence_warnings=True)
    g = esda.G_Local(counts.ravel(), weights, transform="B", star=True, permutations=0)
    z = g.Zs.reshape(n_loc, n_t)
    p = 2 * g.p_norm.reshape(n_loc, n_t)
    cutoff = esda.fdr(p.ravel(), emerging.ALPHA)
    categories = []
    for k in range(n_loc):
        trend = pymannkendall.original_test(z[k])
        categories.append(_reference_category(z[k], p[k] < cutoff, trend.z, trend.p))
    return z, categories


if __name__ == "__main__":
    main()
