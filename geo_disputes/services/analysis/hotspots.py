"""Hot spots (Getis-Ord Gi*) on a hexagon grid, and per-village rates with Empirical Bayes smoothing.

Where disputes concentrate, with a statistic a planner can defend. The parameters are chosen the
way ArcGIS's Optimized Hot Spot Analysis chooses them for incident points counted in hexagons
inside a study area (its 10.x source, OptimizedHotSpotAnalysis.py / MoransI_Increment.py), and
every chosen value is returned so anyone can recompute the result:

1. Incidents. The cases the caller passes (already narrowed by access and filters); a repeat
   petition (Art. 19 ¶3, `repeat_of` set) is the same matter as its original and counts once.
   Fewer than 30 incidents inside the study area: refused.
2. Cell size, from the incidents' nearest-neighbour distances: take the distinct locations, their
   distance to the nearest other location, drop locational outliers (a distance above mean + 3
   standard deviations), then `d = max(mean, median)` and `cell = d * max(2, max/min of mean and
   median)` (ArcGIS's `scaleDecision`). The cell size is the distance between the centres of
   neighbouring hexagons (a hexagon's flat-to-flat height), so the hexagon's side is cell/√3 —
   ArcGIS's hexagon rule — and that side is what PostGIS `ST_HexagonGrid(size, bounds)` takes.
   The cell is never larger than the size at which the incidents' own bounding box holds 30
   hexagons (`spread_cell_size`, rule `incident_spread`). This cap is ours, not ArcGIS's: read in
   its 10.1.2 source, `scaleDecision` multiplies by mean/median with no bound, so a tightly
   clustered category (mean nearest-neighbour ≫ median) gets a cell larger than the banner (issue
   14: 302,825 m for mining_subsidence, 3 cells) and ArcGIS then stops with "fewer than 30
   features". The cap keeps ArcGIS's two anchors — the cell from the incidents' own spread (its
   FishnetInfo lays the grid over the incidents' extent) and at least 30 aggregated features.
3. Grid. Every hexagon of `ST_HexagonGrid` in EPSG:4546 that touches the study area (the banner
   outline, or one township), zero counts included; its geometry is clipped to the area for
   display, its weights use the hexagon's centre. A point on a shared edge counts in one cell
   only (the lowest grid index). Fewer than 30 cells, or counts without variance: refused.
4. Distance band, by incremental spatial autocorrelation over the cells: global Moran's I (row-
   standardised binary distance weights, z under randomisation) at 10 distances starting at the
   distance that gives every non-outlier cell a neighbour and growing by the mean nearest-
   neighbour distance; if that passes the cells' standard distance, the 10 steps are spread evenly
   from the start to the standard distance instead; a distance at which cells average more than
   500 neighbours (or pair more than MAX_PAIRS cells) is not tried. The band is the first peak of
   the z-score (a z above 1.65 followed by a lower one, after a rise), else the highest peak; with
   no peak, the mean distance to the k-th nearest cell, k = 5 % of the cells clamped to 3..30, at
   most the standard distance. The band is never below 0.1 % of the grid's extent.
5. Gi* with binary weights at that band, the cell itself included (Getis & Ord 1992; Ord & Getis
   1995), analytical normal z and two-sided p-values. A band pairing more than MAX_PAIRS cells is
   refused (counted by the k-d tree before any pair is held).
6. False Discovery Rate (Benjamini–Hochberg, computed as esda's `fdr`): for α in 0.10, 0.05,
   0.01 the p-value cut-off is found over all cells; a cell is significant at α when its p is
   below that cut-off. Classes hot/cold_99, _95, _90 by the strictest α passed and the sign of z,
   else not_significant.

Distances are compared with a 1 mm tolerance (`BAND_TOLERANCE_M`): hexagon centres lie on a
lattice and a neighbour at exactly the band distance must not fall out by rounding.

Counts, hexagons and clipping come from PostGIS (`_POINTS_SQL`, `_GRID_SQL`), the incidents going in
as the caller's queryset compiled to SQL; the statistics are numpy/scipy, on cell pairs found once
with a k-d tree (≤ MAX_CELLS cells: faster in-process than a PostGIS ST_DWithin self-join, whose
pairs would then travel to Python) and summed pair by pair with bincount — memory a few floats per
pair, no n×n or per-step sparse matrices. Tests check z-scores, Moran's I and classes against PySAL
esda on the same data.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, QuerySet, Sum
from scipy import sparse
from scipy.spatial import cKDTree
from scipy.stats import norm

from geo_disputes.models import Banner, Case, Grid, Township, Village
from geo_disputes.models.areas import METRIC_SRID
from geo_disputes.services.ops.replica import read_cursor
from geo_disputes.services.sql import compiled

MIN_INCIDENTS = 30
MIN_CELLS = 30
NN_SCALE = 2.0  # ArcGIS nnScale: the cell is at least twice the typical nearest-neighbour distance
OUTLIER_SDS = 3.0  # locational outliers: nearest-neighbour distance above mean + 3 SD
MORAN_STEPS = 10
PEAK_Z = 1.65  # a Moran's I peak counts only when its z-score is above this
MAX_MEAN_NEIGHBOURS = 500
KNN_SHARE, KNN_MIN, KNN_MAX = 0.05, 3, 30
MIN_BAND_SHARE_OF_EXTENT = 0.001
FDR_ALPHAS = (0.10, 0.05, 0.01)
CONFIDENCE = {0.01: "99", 0.05: "95", 0.10: "90"}
NOT_SIGNIFICANT = "not_significant"
BAND_TOLERANCE_M = 0.001
# Answer size bound: with many close incidents the nearest-neighbour rule gives cells of a few
# hundred metres, i.e. hundreds of thousands of hexagons over the banner (measured: 10k cases →
# 48 s and 45 MB). Then the cell grows until the study area holds at most this many cells, and
# `cell_size_rule` says so — a documented departure from ArcGIS, which would compute them all.
MAX_CELLS = 10_000
# Memory bound of the statistics: cell pairs within a distance are held as two int32 indices and a
# float64 length (16 bytes a pair, ~25 MB per million pairs plus a few per-pair temporaries). The
# Moran steps stop below MAX_MEAN_NEIGHBOURS (≤ MAX_CELLS × 500 / 2 = 2.5M pairs); a Gi* band
# holding more than MAX_PAIRS pairs is refused rather than computed.
MAX_PAIRS = 4_000_000
EB_PER = 100  # rates are cases per 100 households


class HotSpotRefused(ValueError):
    """The data cannot support a hot-spot analysis; `field` names a bad parameter, if that is why."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class StudyArea:
    """A boundary in force on `on`: one township, else the banner(s) whose code begins with `banner` (a banner's
    6 digits, a city's 4 for a city-wide user, "" for every banner of the deployment)."""

    township: str = ""
    on: dt.date | None = None
    banner: str = ""


@dataclass(frozen=True)
class Cell:
    i: int
    j: int
    x: float  # hexagon centre, EPSG:4546 metres
    y: float
    count: int
    geometry: str  # GeoJSON (WGS84) of the hexagon clipped to the study area
    gi_z: float
    gi_p: float
    cls: str


@dataclass(frozen=True)
class MoranStep:
    distance_m: float
    moran_i: float
    z: float
    mean_neighbours: float


@dataclass(frozen=True)
class HotSpots:
    cells: list[Cell]
    cell_size_m: float
    cell_size_rule: str  # "nearest_neighbour" (ArcGIS's rule) | "capped_to_max_cells"
    hex_side_m: float
    distance_band_m: float
    distance_band_rule: str  # "moran_first_peak" | "k_nearest" | "standard_distance"
    moran_steps: list[MoranStep]
    p_cutoffs: dict[str, float]
    n_incidents: int
    n_outside: int
    locational_outliers: int


def distinct_matters(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Cases counted as incidents: a repeat petition (Art. 19 ¶3) is its original's matter, counted once."""
    return cases.filter(repeat_of__isnull=True)


def hot_spots(cases: QuerySet[Case], area: StudyArea | None = None) -> HotSpots:
    """Gi* hot and cold spots of `cases` on a hexagon grid over `area`; HotSpotRefused when unsupported."""
    area = area or StudyArea()
    table, code, on = _area_table(area)
    incidents = distinct_matters(cases).order_by()
    xy, inside = _incident_points(incidents, table, code, on)
    n_incidents = int(inside.sum())
    if n_incidents < MIN_INCIDENTS:
        raise HotSpotRefused(
            f"热点分析至少需要 {MIN_INCIDENTS} 件事项,研究区内只有 {n_incidents} 件 / hot-spot analysis needs at least "
            f"{MIN_INCIDENTS} incidents in the study area, found {n_incidents}"
        )
    cell_size, outliers = nearest_neighbour_cell_size(xy[inside])
    spread = spread_cell_size(xy[inside])
    by_spread = spread < cell_size
    cell_size = min(cell_size, spread)
    side, capped = _bounded_side(table, code, on, cell_size / math.sqrt(3.0))
    cell_size = side * math.sqrt(3.0)
    rows = _grid_counts(incidents, table, code, on, side)
    if len(rows) < MIN_CELLS:
        raise HotSpotRefused(
            f"研究区只有 {len(rows)} 个格网单元,至少需要 {MIN_CELLS} 个 / the study area holds {len(rows)} cells "
            f"of {cell_size:.0f} m, at least {MIN_CELLS} are needed"
        )
    centres = np.array([(r[2], r[3]) for r in rows], dtype=float)
    counts = np.array([r[4] for r in rows], dtype=float)
    if counts.var() <= 1e-12:
        raise HotSpotRefused(
            "各格网单元事项数相同,无法分析 / every cell holds the same number of incidents: no variance to analyse"
        )
    band, rule, steps = distance_band(centres, counts)
    z = gi_star_z(counts, centres, band)  # HotSpotRefused if the band holds more than MAX_PAIRS pairs
    p = two_sided_p(z)
    classes, cutoffs = fdr_classes(z, p)
    cells = [
        Cell(int(r[0]), int(r[1]), float(r[2]), float(r[3]), int(r[4]), r[5], float(zi), float(pi), ci)
        for r, zi, pi, ci in zip(rows, z, p, classes, strict=True)
    ]
    return HotSpots(
        cells=cells,
        cell_size_m=cell_size,
        cell_size_rule="capped_to_max_cells" if capped else ("incident_spread" if by_spread else "nearest_neighbour"),
        hex_side_m=side,
        distance_band_m=band,
        distance_band_rule=rule,
        moran_steps=steps,
        p_cutoffs=cutoffs,
        n_incidents=n_incidents,
        n_outside=len(inside) - n_incidents,
        locational_outliers=outliers,
    )


# -- the statistics (plain numpy/scipy; the tests hold them against esda) -------------------------


def spread_cell_size(xy: np.ndarray) -> float:
    """The largest cell size at which the incidents' own extent (their bounding box, at least one
    metre a side) holds MIN_CELLS hexagons. A tightly clustered category — many incidents at a few
    distinct places — makes the nearest-neighbour distances lopsided (mean ≫ median) and the
    `scaleDecision` cell larger than the whole study area; ArcGIS derives the cell from the
    incidents' own spatial distribution, so the cell must never exceed what their spread can hold."""
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    width, height = np.maximum(pts.max(axis=0) - pts.min(axis=0), 1.0)
    hexagon_per_cell2 = math.sqrt(3.0) / 2.0  # a hexagon of flat-to-flat height c covers (√3/2)·c²
    return math.sqrt(float(width * height) / (hexagon_per_cell2 * MIN_CELLS))


def nearest_neighbour_cell_size(xy: np.ndarray) -> tuple[float, int]:
    """Cell size from the incidents' nearest-neighbour distances (ArcGIS `scaleDecision`), and the
    number of locational outliers left out of it."""
    unique = np.unique(np.asarray(xy, dtype=float).reshape(-1, 2), axis=0)
    if len(unique) < 2:
        raise HotSpotRefused("事项位置少于两个不同地点 / incidents are at fewer than two distinct locations")
    nn = cKDTree(unique).query(unique, k=2)[0][:, 1]
    keep = nn <= nn.mean() + OUTLIER_SDS * nn.std()
    mean, median = float(nn[keep].mean()), float(np.median(nn[keep]))
    big, small = max(mean, median), min(mean, median)
    return big * max(NN_SCALE, big / small), int((~keep).sum())


def distance_band(centres: np.ndarray, y: np.ndarray) -> tuple[float, str, list[MoranStep]]:
    """The Gi* distance band: first (else highest) peak of Moran's I z over increasing distances,
    else the k-nearest fallback; returns the band, the rule that chose it and the steps tried."""
    tree = cKDTree(centres)
    n = len(centres)
    nn = tree.query(centres, k=2)[0][:, 1]
    keep = nn <= nn.mean() + OUTLIER_SDS * nn.std()
    start, step = float(nn[keep].max()), float(nn[keep].mean())
    standard = standard_distance(centres)
    cutoffs = start + step * np.arange(MORAN_STEPS)
    if cutoffs[-1] > standard and standard > start:
        cutoffs = start + (standard - start) / MORAN_STEPS * np.arange(MORAN_STEPS)
    mean_neighbours = (tree.count_neighbors(tree, cutoffs + BAND_TOLERANCE_M) - n) / n
    tried = (mean_neighbours <= MAX_MEAN_NEIGHBOURS) & (mean_neighbours * n / 2 <= MAX_PAIRS)
    cutoffs, mean_neighbours = cutoffs[tried], mean_neighbours[tried]
    steps: list[MoranStep] = []
    if len(cutoffs):
        pairs = _NeighbourPairs(tree, cutoffs[-1])  # once, at the largest distance; smaller ones are prefixes
        for d, k in zip(cutoffs, mean_neighbours, strict=True):
            moran, z = moran_i_pairs(y, pairs.within(d), n)
            steps.append(MoranStep(float(d), moran, z, float(k)))
    first, _highest = peak_indices([s.z for s in steps])  # the highest peak exists only when a first one does
    extent = np.ptp(centres, axis=0).max()
    floor = MIN_BAND_SHARE_OF_EXTENT * float(extent)
    if first is not None:
        return max(steps[first].distance_m, floor), "moran_first_peak", steps
    k = min(max(int(n * KNN_SHARE), KNN_MIN), KNN_MAX, n - 1)
    kth = float(tree.query(centres, k=k + 1)[0][:, k].mean())
    if kth > standard:
        return max(standard, floor), "standard_distance", steps
    return max(kth, floor), "k_nearest", steps


def peak_indices(z: list[float]) -> tuple[int | None, int | None]:
    """Indices of the first and the highest peak: a value above PEAK_Z that the next one falls
    below, once the series has risen at least once (ArcGIS `returnPeakIndices`)."""
    peaks = []
    risen = False
    for i in range(len(z) - 1):
        if z[i + 1] > z[i]:
            risen = True
        if risen and z[i + 1] < z[i] and z[i] > PEAK_Z:
            peaks.append(i)
    if not peaks:
        return None, None
    return peaks[0], max(peaks, key=lambda i: z[i])


def standard_distance(xy: np.ndarray) -> float:
    """Unweighted standard distance of points around their mean centre."""
    return float(math.sqrt(((xy - xy.mean(axis=0)) ** 2).mean(axis=0).sum()))


def moran_i(y: np.ndarray, w: sparse.csr_matrix) -> tuple[float, float]:
    """Global Moran's I with row-standardised `w` (binary, symmetric, no self) and its z-score under
    randomisation (Cliff & Ord; esda's `z_rand`). Cells without neighbours keep a zero row."""
    n = len(y)
    k = np.asarray(w.sum(axis=1)).ravel()
    inverse = np.divide(1.0, k, out=np.zeros_like(k, dtype=float), where=k > 0)
    wr = sparse.diags(inverse) @ w
    z = y - y.mean()
    s0 = float(wr.sum())
    if s0 == 0:
        return 0.0, 0.0
    moran = n / s0 * float(z @ (wr @ z)) / float(z @ z)
    s1 = 0.5 * float((wr + wr.T).power(2).sum())
    s2 = float(((np.asarray(wr.sum(axis=1)).ravel() + np.asarray(wr.sum(axis=0)).ravel()) ** 2).sum())
    return _moran_z(n, moran, s0, s1, s2, z)


def _moran_z(n: int, moran: float, s0: float, s1: float, s2: float, z: np.ndarray) -> tuple[float, float]:
    """Moran's I and its z under randomisation from the weights' S0, S1, S2 and the deviations z."""
    b2 = n * float((z**4).sum()) / float((z**2).sum()) ** 2
    expected = -1.0 / (n - 1)
    left = n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s0 * s0)
    right = b2 * ((n * n - n) * s1 - 2 * n * s2 + 6 * s0 * s0)
    variance = (left - right) / ((n - 1) * (n - 2) * (n - 3) * s0 * s0) - expected**2
    if variance <= 0:
        return moran, 0.0
    return moran, (moran - expected) / math.sqrt(variance)


def moran_i_pairs(y: np.ndarray, pairs: np.ndarray, n: int) -> tuple[float, float]:
    """`moran_i` for the binary symmetric weights of the i<j `pairs`, summed pair by pair without
    building a matrix (memory: a few floats per pair). With k_i neighbours and r_i = 1/k_i (0 for
    none), row-standardised w_ij = r_i, so S0 = #{k > 0}, z'Wz = Σ_pairs z_i z_j (r_i + r_j),
    S1 = Σ_pairs (r_i + r_j)², S2 = Σ_i (1[k_i > 0] + Σ_{j~i} r_j)²."""
    i, j = pairs[:, 0], pairs[:, 1]
    k = np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    r = np.divide(1.0, k, out=np.zeros(n), where=k > 0)
    z = y - y.mean()
    s0 = float((k > 0).sum())
    if s0 == 0:
        return 0.0, 0.0
    ri_rj = r[i] + r[j]
    moran = n / s0 * float((z[i] * z[j] * ri_rj).sum()) / float(z @ z)
    s1 = float((ri_rj**2).sum())
    column = np.bincount(i, weights=r[j], minlength=n) + np.bincount(j, weights=r[i], minlength=n)
    s2 = float((((k > 0).astype(float) + column) ** 2).sum())
    return _moran_z(n, moran, s0, s1, s2, z)


def gi_star_z(y: np.ndarray, centres: np.ndarray, band: float) -> np.ndarray:
    """Gi* z-scores with binary weights within `band` metres, the cell itself included; HotSpotRefused
    when the band pairs more than MAX_PAIRS cells (counted first, before any pair is held)."""
    n = len(y)
    tree = cKDTree(centres)
    n_pairs = (int(tree.count_neighbors(tree, band + BAND_TOLERANCE_M)) - n) // 2
    if n_pairs > MAX_PAIRS:
        raise HotSpotRefused(
            f"距离带 {band:.0f} 米内有 {n_pairs} 对格网单元,超过上限 {MAX_PAIRS} / the {band:.0f} m band pairs "
            f"{n_pairs:,} cells, more than the {MAX_PAIRS:,} this service computes: narrow the study area or "
            "the filters"
        )
    pairs = tree.query_pairs(band + BAND_TOLERANCE_M, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    lag = y + np.bincount(i, weights=y[j], minlength=n) + np.bincount(j, weights=y[i], minlength=n)
    wsum = 1.0 + np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    mean = y.mean()
    s = math.sqrt(float((y**2).mean()) - mean**2)
    spread = s * np.sqrt((n * wsum - wsum**2) / (n - 1))
    return np.divide(lag - mean * wsum, spread, out=np.zeros(n), where=spread > 0)


def two_sided_p(z: np.ndarray) -> np.ndarray:
    return 2.0 * norm.sf(np.abs(z))


def fdr_cutoff(p: np.ndarray, alpha: float) -> float:
    """Benjamini–Hochberg cut-off as esda's `fdr`: the largest k·α/n with p_(k) < k·α/n; α/n when none."""
    n = len(p)
    ordered = np.sort(p)
    bounds = np.arange(1, n + 1) * alpha / n
    passing = np.nonzero(ordered < bounds)[0]
    return float(bounds[passing[-1]]) if len(passing) else alpha / n


def fdr_classes(z: np.ndarray, p: np.ndarray) -> tuple[list[str], dict[str, float]]:
    """hot_/cold_99|95|90 by the strictest FDR level a cell passes (p below the cut-off), or not_significant."""
    cutoffs = {alpha: fdr_cutoff(p, alpha) for alpha in FDR_ALPHAS}
    classes = []
    for zi, pi in zip(z, p, strict=True):
        level = next((CONFIDENCE[a] for a in sorted(cutoffs) if pi < cutoffs[a]), None)
        classes.append(NOT_SIGNIFICANT if level is None else f"{'hot' if zi > 0 else 'cold'}_{level}")
    return classes, {f"{alpha:.2f}": cutoff for alpha, cutoff in cutoffs.items()}


class _NeighbourPairs:
    """The i<j cell pairs within `largest` metres (+ tolerance), found once with the k-d tree and kept
    sorted by length, so the pairs within any smaller distance are a prefix (a view, no copy)."""

    def __init__(self, tree: cKDTree, largest: float):
        pairs = tree.query_pairs(largest + BAND_TOLERANCE_M, output_type="ndarray")
        lengths = np.hypot(*(tree.data[pairs[:, 0]] - tree.data[pairs[:, 1]]).T)
        order = np.argsort(lengths, kind="stable")
        self.pairs = pairs[order].astype(np.int32 if tree.n < 2**31 else np.int64)
        self.lengths = lengths[order]

    def within(self, distance: float) -> np.ndarray:
        return self.pairs[: int(np.searchsorted(self.lengths, distance + BAND_TOLERANCE_M, side="right"))]


def _symmetric(pairs: np.ndarray, n: int) -> sparse.csr_matrix:
    """Binary symmetric weights from i<j pairs (no diagonal)."""
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


# -- PostGIS: incidents, grid and counts -----------------------------------------------------------

# The study area: one boundary in force on the day, in metres. Table names come from `_area_table`.
# Parameters are positional: code, on, on.
_AREA_CTE = """
    area AS (
        SELECT ST_Union(ST_Transform(geom, {srid})) AS g FROM {table}
        WHERE starts_with(code, %s) AND valid_from <= %s AND (valid_to IS NULL OR valid_to >= %s)
    )
"""

# The incidents: `{incidents}` is the caller's queryset of cases compiled to SQL (its parameters
# follow the area's), so the filter runs in PostgreSQL; no list of ids goes to Python and back (at
# 100k cases `id = ANY(<100k ids>)` was a linear search per row: 14 of the 17 s of the grid query).
_INCIDENTS = "SELECT id, ST_Transform(location, {srid}) AS g FROM geo_disputes_case WHERE id IN ({incidents})"

# Incident points in metres, and whether each lies in the study area (in no particular order: the
# cell size only needs the set). The area is a scalar subquery, evaluated once: joined as a row, its
# polygon was copied into a 64 MB hash table with every case (3.4 s at 100k cases).
_POINTS_SQL = """
    WITH {area}
    SELECT ST_X(p.g), ST_Y(p.g), coalesce(ST_Intersects(p.g, (SELECT g FROM area)), false)
    FROM ({incidents}) p
"""

# Every hexagon sharing area with the study area (zero counts included), its centre, its incident
# count and its shape clipped to the area. Only border hexagons are cut (ST_CoveredBy runs on a
# prepared, cached area; ST_Intersection does not); a hexagon merely touching the area clips to
# nothing and is left out. A point's own hexagon comes from ST_HexagonGrid over the point itself
# (the lattice is anchored at the SRS origin, so its (i, j) is the grid's): no point-by-hexagon
# join. A point on an edge shared by two hexagons counts once, in the one with the lowest (i, j),
# chosen per point (LATERAL … LIMIT 1: no sort of all points). The hexagons and the counts come as
# two row sets that `_grid_counts` joins and orders by (i, j): PostgreSQL cannot estimate how many
# hexagons ST_HexagonGrid yields (it guesses 1) and joined them by a nested loop over the counts
# (112 s at 100k cases); and sorting 10⁴ clipped hexagons there spilled ~75 MB to disk.
# Parameters: the area's, side, the incidents', side.
_GRID_SQL = """
    WITH {area},
    touching AS (
        SELECT h.i, h.j, h.geom,
               CASE WHEN ST_CoveredBy(h.geom, area.g) THEN h.geom
                    ELSE ST_CollectionExtract(ST_Intersection(h.geom, area.g), 3) END AS clip
        FROM area, ST_HexagonGrid(%s, area.g) AS h WHERE ST_Intersects(h.geom, area.g)
    ),
    hex AS (SELECT * FROM touching WHERE NOT ST_IsEmpty(clip)),
    pts AS ({incidents}),
    hit AS (
        SELECT own.i, own.j FROM pts CROSS JOIN LATERAL (
            SELECT h.i, h.j FROM ST_HexagonGrid(%s, pts.g) AS h WHERE ST_Intersects(h.geom, pts.g)
            ORDER BY h.i, h.j LIMIT 1
        ) AS own
    ),
    counted AS (SELECT i, j, count(*) AS n FROM hit GROUP BY i, j)
    SELECT i, j, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)), NULL::bigint,
           ST_AsGeoJSON(ST_Transform(clip, 4326), 6)
    FROM hex
    UNION ALL
    SELECT i, j, NULL, NULL, n, NULL FROM counted
"""


def _area_table(area: StudyArea) -> tuple[str, str, dt.date]:
    on = area.on or dt.date.today()
    if area.township:
        if not Township.objects.in_force(on).filter(code=area.township).exists():
            raise HotSpotRefused(f"无此乡镇或其边界未生效 / no township {area.township!r} in force on {on}", "township")
        return Township._meta.db_table, area.township, on
    if not Banner.objects.in_force(on).filter(code__startswith=area.banner).exists():
        raise HotSpotRefused(f"未载入旗界 / no banner outline in force on {on}")
    return Banner._meta.db_table, area.banner, on


def _incident_points(incidents, table: str, code: str, on: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) in metres of each incident and whether it lies in the study area.

    The rows come as binary COPY, read by numpy in place: 31 bytes a row, no Python object per row
    (fetchall() of 10⁶ rows peaked at 750 MB in this process; a server-side cursor bounds that too
    but gives up the parallel scan, +2 s). COPY takes no parameters, so the statement is bound
    first by psycopg2's mogrify — the same client-side binding every psycopg2 execute() does."""
    sql, values = _incidents_sql(incidents)
    area = _AREA_CTE.format(srid=METRIC_SRID, table=table)
    buffer = io.BytesIO()
    with read_cursor() as cur:
        statement = cur.mogrify(_POINTS_SQL.format(area=area, incidents=sql), [code, on, on, *values])
        cur.copy_expert(f"COPY ({statement.decode()}) TO STDOUT WITH (FORMAT binary)", buffer)
    rows = _binary_rows(buffer.getbuffer(), _POINT_ROW)
    return np.column_stack([rows["x"], rows["y"]]).astype(float), rows["inside"].astype(bool)


# One row of `_POINTS_SQL` in COPY's binary format: field count, then (length, value) per field.
_POINT_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("x_len", ">i4"),
        ("x", ">f8"),
        ("y_len", ">i4"),
        ("y", ">f8"),
        ("inside_len", ">i4"),
        ("inside", "u1"),
    ]
)
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def _binary_rows(data: memoryview, row: np.dtype) -> np.ndarray:
    """The rows of a binary COPY whose fields are all non-NULL and fixed-width (checked)."""
    signature, extension = bytes(data[:11]), int.from_bytes(data[15:19], "big")
    body = data[19 + extension : len(data) - 2]  # after the header; before the trailer (-1 as int16)
    if signature != _COPY_SIGNATURE or len(body) % row.itemsize:
        raise RuntimeError("unexpected COPY BINARY layout")
    rows = np.frombuffer(body, dtype=row)
    values = [name[: -len("_len")] for name in row.names if name.endswith("_len")]
    if (rows["fields"] != len(values)).any():
        raise RuntimeError("unexpected COPY BINARY row: another number of fields")
    for name in values:
        if (rows[f"{name}_len"] != row[name].itemsize).any():
            raise RuntimeError(f"unexpected COPY BINARY row: {name} is NULL or of another type")
    return rows


def _bounded_side(table: str, code: str, on: dt.date, side: float) -> tuple[float, bool]:
    """The hexagon side to use: `side`, or larger so the study area holds at most MAX_CELLS cells."""
    area = _AREA_CTE.format(srid=METRIC_SRID, table=table)
    with read_cursor() as cur:
        cur.execute(f"WITH {area} SELECT ST_Area(g) FROM area", [code, on, on])  # noqa: S608 — table from _area_table
        (surface,) = cur.fetchone()
    hexagon = 1.5 * math.sqrt(3.0)  # area of a hexagon of side 1
    if (surface or 0) / (hexagon * side * side) <= MAX_CELLS:
        return side, False
    return math.sqrt(surface / (hexagon * MAX_CELLS)), True


def _grid_counts(incidents, table: str, code: str, on: dt.date, side: float) -> list[tuple]:
    """(i, j, centre x, centre y, count, clipped GeoJSON) of every hexagon of the study area, by (i, j)."""
    sql, values = _incidents_sql(incidents)
    area = _AREA_CTE.format(srid=METRIC_SRID, table=table)
    with read_cursor() as cur:
        cur.execute(_GRID_SQL.format(area=area, incidents=sql), [code, on, on, float(side), *values, float(side)])
        rows = cur.fetchall()
    counts = {(r[0], r[1]): r[4] for r in rows if r[5] is None}
    hexagons = sorted((r for r in rows if r[5] is not None), key=lambda r: (r[0], r[1]))
    return [(i, j, x, y, counts.get((i, j), 0), geometry) for i, j, x, y, _, geometry in hexagons]


def _incidents_sql(incidents: QuerySet) -> tuple[str, list]:
    """The incidents' (id, metric point) as SQL and parameters: the queryset compiled, run inside
    PostgreSQL (no list of ids sent back and forth)."""
    sql, values = compiled(incidents.values("id")) or ("SELECT NULL::bigint WHERE false", ())
    return _INCIDENTS.format(srid=METRIC_SRID, incidents=sql), list(values)


# -- per-village rates with Empirical Bayes smoothing ----------------------------------------------


@dataclass(frozen=True)
class VillageRate:
    code: str
    name: str
    township_code: str
    cases: int
    households: int
    rate_per_100: float | None
    eb_rate_per_100: float | None


def empirical_bayes(events: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Global Empirical Bayes rates (Marshall 1991): each crude rate shrunk towards the overall rate,
    the more so the smaller its population. The prior mean is b = Σe/Σn; the prior variance
    a = Σn(r−b)²/Σn − b/n̄, set to 0 when negative (then every unit gets b). Units need population > 0.
    """
    e = np.asarray(events, dtype=float)
    n = np.asarray(population, dtype=float)
    b = e.sum() / n.sum()
    r = e / n
    a = max(float((n * (r - b) ** 2).sum() / n.sum() - b / n.mean()), 0.0)
    if a == 0.0:
        return np.full_like(r, b)
    weight = a / (a + b / n)
    return weight * r + (1.0 - weight) * b


def village_rates(cases: QuerySet[Case], *, village_prefix: str = "", on: dt.date | None = None) -> list[VillageRate]:
    """Cases per 100 households for every village in force on `on` whose code starts with
    `village_prefix`, crude and EB-smoothed. Households are the sum over the village's grids;
    villages without households get no rate and stay out of the smoothing. Repeats count once."""
    on = on or dt.date.today()
    villages = Village.objects.in_force(on).filter(code__startswith=village_prefix).order_by("code")
    households = dict(
        Grid.objects.in_force(on)
        .filter(village_code__startswith=village_prefix)
        .values("village_code")
        .annotate(n=Sum("households"))
        .values_list("village_code", "n")
    )
    counts = dict(
        distinct_matters(cases)
        .order_by()
        .values("village_code")
        .annotate(n=Count("id"))
        .values_list("village_code", "n")
    )
    rows = [(v, counts.get(v.code, 0), int(households.get(v.code) or 0)) for v in villages]
    with_households = [(v, c, h) for v, c, h in rows if h > 0]
    smoothed: dict[str, float] = {}
    if with_households and sum(c for _, c, _ in with_households) > 0:
        eb = empirical_bayes(np.array([c for _, c, _ in with_households]), np.array([h for _, _, h in with_households]))
        smoothed = {v.code: float(x) for (v, _, _), x in zip(with_households, eb, strict=True)}
    elif with_households:
        smoothed = {v.code: 0.0 for v, _, _ in with_households}
    return [
        VillageRate(
            code=v.code,
            name=v.name,
            township_code=v.township_code,
            cases=c,
            households=h,
            rate_per_100=EB_PER * c / h if h else None,
            eb_rate_per_100=EB_PER * smoothed[v.code] if v.code in smoothed else None,
        )
        for v, c, h in rows
    ]
