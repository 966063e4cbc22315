"""Emerging hot spots: Gi* on a space-time cube and the 17 trend categories, for planners.

Static Gi* (hotspots.py) says where disputes cluster now; this says whether a cluster is new,
intensifying, persistent, diminishing, sporadic, oscillating or historical, as ArcGIS Pro's
Emerging Hot Spot Analysis ("How Emerging Hot Spot Analysis works", Esri docs) and R sfdep's
`emerging_hotspot_analysis()` (J. Parry, R/emerging-hotspot.R, `classify_hotspot`) define it.

1. Cube. Locations are the hexagons of the static analysis (its cell size, grid and point-to-hexagon
   rule: `hotspots` functions are called, not copied), steps are calendar months, quarters or years
   of `received_at` (in settings.TIME_ZONE) from the first incident's step to the last's. Counts per
   (hexagon, step) are aggregated in PostGIS. Fewer than 10 steps (ArcGIS's minimum) or fewer than
   MIN_INCIDENTS incidents: refused.
2. Gi* per bin, space-time neighbourhood: the bins of hexagons within the distance band (the static
   analysis' band) at the same step and at the `time_steps` previous steps, the bin itself included,
   binary weights; mean and standard deviation over all bins of the cube (Getis & Ord 1992 with n =
   locations × steps, as ArcGIS compares each bin with the whole cube).
3. Significance per bin: Benjamini–Hochberg FDR at α = 0.05 over all bins (`hotspots.fdr_cutoff`).
4. Trend per location: Mann-Kendall over its Gi* z series in time order, tie-corrected variance and
   continuity correction (Mann 1945; Kendall 1975; as pymannkendall's `original_test`), two-sided p.
5. Categories, by the published definitions (Esri docs; sfdep classify_hotspot), see `classify`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from scipy.spatial import cKDTree
from scipy.stats import norm

from geo_disputes.models import Case
from geo_disputes.models.areas import METRIC_SRID
from geo_disputes.services.analysis import hotspots
from geo_disputes.services.analysis.hotspots import HotSpotRefused, StudyArea

MIN_STEPS = 10  # ArcGIS: the cube needs at least ten time steps
ALPHA = 0.05  # bin significance (after FDR) and trend significance
STEPS = ("month", "quarter", "year")
NO_PATTERN = "no_pattern"
PATTERNS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic", "oscillating", "historical")
CATEGORIES = tuple(f"{p}_{s}" for s in ("hot", "cold") for p in PATTERNS) + (NO_PATTERN,)


@dataclass(frozen=True)
class Location:
    i: int
    j: int
    x: float
    y: float
    geometry: str
    counts: list[int]
    gi_z: list[float]
    gi_p: list[float]
    trend_z: float
    trend_p: float
    category: str


@dataclass(frozen=True)
class EmergingHotSpots:
    locations: list[Location]
    steps: list[dt.date]
    step: str
    time_steps: int
    cell_size_m: float
    distance_band_m: float
    p_cutoff: float
    n_incidents: int


def emerging_hot_spots(
    cases: QuerySet[Case], step: str = "month", time_steps: int = 1, area: StudyArea | None = None
) -> EmergingHotSpots:
    """The space-time cube of `cases`, its Gi* per bin and each hexagon's category; HotSpotRefused
    when the data cannot support it (`field` names the parameter at fault)."""
    if step not in STEPS:
        raise HotSpotRefused("时间步长须为 month、quarter 或 year / step must be month, quarter or year", "step")
    if time_steps < 0:
        raise HotSpotRefused("前序时间步数不能为负 / time_steps must be 0 or more", "time_steps")
    static = hotspots.hot_spots(cases, area)  # cell size, grid and band: the static analysis' own rules
    area = area or StudyArea()
    table, code, on = hotspots._area_table(area)
    incidents = hotspots.distinct_matters(cases).order_by()
    steps, rows = _cube_counts(incidents, table, code, on, static.hex_side_m, step)
    if len(steps) < MIN_STEPS:
        raise HotSpotRefused(
            f"新兴热点分析至少需要 {MIN_STEPS} 个时间步,只有 {len(steps)} 个 / emerging hot-spot analysis needs at "
            f"least {MIN_STEPS} time steps ({step}), found {len(steps)}",
            "step",
        )
    index = {(c.i, c.j): k for k, c in enumerate(static.cells)}
    counts = np.zeros((len(static.cells), len(steps)))
    for i, j, t, n in rows:
        if (i, j) in index:
            counts[index[(i, j)], t] = n
    centres = np.array([(c.x, c.y) for c in static.cells])
    z = space_time_gi_star(counts, centres, static.distance_band_m, time_steps)
    p = hotspots.two_sided_p(z)
    cutoff = hotspots.fdr_cutoff(p.ravel(), ALPHA)
    locations = []
    for k, cell in enumerate(static.cells):
        tz, tp = mann_kendall(z[k])
        category = classify(z[k], p[k] < cutoff, tz, tp)
        locations.append(
            Location(
                cell.i,
                cell.j,
                cell.x,
                cell.y,
                cell.geometry,
                [int(v) for v in counts[k]],
                [float(v) for v in z[k]],
                [float(v) for v in p[k]],
                tz,
                tp,
                category,
            )
        )
    return EmergingHotSpots(
        locations,
        steps,
        step,
        time_steps,
        static.cell_size_m,
        static.distance_band_m,
        cutoff,
        int(counts.sum()),
    )


def space_time_gi_star(counts: np.ndarray, centres: np.ndarray, band: float, time_steps: int) -> np.ndarray:
    """Gi* z of every bin (locations × steps) with binary space-time weights: hexagons within `band`
    (self included) at the same step and the `time_steps` previous steps; cube-wide mean and SD."""
    n_loc, n_t = counts.shape
    tree = cKDTree(centres)
    pairs = tree.query_pairs(band + hotspots.BAND_TOLERANCE_M, output_type="ndarray")
    spatial_lag = counts.copy()
    np.add.at(spatial_lag, pairs[:, 0], counts[pairs[:, 1]])
    np.add.at(spatial_lag, pairs[:, 1], counts[pairs[:, 0]])
    degree = 1.0 + np.bincount(pairs[:, 0], minlength=n_loc) + np.bincount(pairs[:, 1], minlength=n_loc)
    cum = np.concatenate([np.zeros((n_loc, 1)), np.cumsum(spatial_lag, axis=1)], axis=1)
    t = np.arange(n_t)
    first = np.maximum(t - time_steps, 0)
    lag = cum[:, t + 1] - cum[:, first]
    wsum = degree[:, None] * (t - first + 1)[None, :]
    n = counts.size
    mean = counts.mean()
    s = math.sqrt(float((counts**2).mean()) - mean**2)
    spread = s * np.sqrt((n * wsum - wsum**2) / (n - 1))
    return np.divide(lag - mean * wsum, spread, out=np.zeros_like(lag), where=spread > 0)


def mann_kendall(series: np.ndarray) -> tuple[float, float]:
    """Mann-Kendall trend z and two-sided p with tie correction and continuity correction."""
    x = np.asarray(series, dtype=float)
    n = len(x)
    s = float(sum(np.sign(x[k + 1 :] - x[k]).sum() for k in range(n - 1)))
    _, ties = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - float((ties * (ties - 1) * (2 * ties + 5)).sum())) / 18.0
    if var <= 0 or s == 0:
        return 0.0, 1.0
    z = (s - math.copysign(1.0, s)) / math.sqrt(var)
    return z, float(2.0 * norm.sf(abs(z)))


def classify(z: np.ndarray, significant: np.ndarray, trend_z: float, trend_p: float) -> str:
    """The category of one location from its per-step Gi* z, FDR significance and trend.

    Definitions (Esri, "How Emerging Hot Spot Analysis works"), for hot (cold mirrors with the
    signs swapped), "hot" meaning a significant bin with z > 0, "90 %" meaning at least 90 % of all
    steps (counted in integers: 9 of 10, 27 of 30):
    - new: the final step is hot and no earlier step ever was;
    - consecutive: one uninterrupted run of ≥ 2 hot steps ending at the final step, no hot step
      before the run, and fewer than 90 % of steps hot;
    - intensifying: ≥ 90 % of steps hot including the final one, significant increasing trend;
    - persistent: ≥ 90 % of steps hot, no significant trend;
    - diminishing: ≥ 90 % of steps hot including the final one, significant decreasing trend;
    - sporadic: final step hot, < 90 % hot, an on-and-off history, never a cold step;
    - oscillating: final step hot, < 90 % hot, at least one earlier cold step;
    - historical: final step not hot, ≥ 90 % of steps hot;
    - no_pattern: none of these.
    Where Esri's sentences overlap, the more specific one wins, and we say which:
    - a location once cold and hot now is oscillating, not new or consecutive (Esri's oscillating
      sentence is about exactly that history; sfdep's new/consecutive also require no earlier
      significant bin of either sign);
    - ≥ 90 % hot with a final step not hot is historical even without a trend (persistent's
      sentence does not speak of the final step, historical's does);
    - the hot reading is tried first: 9 hot steps then a cold one is historical hot, not
      oscillating cold.
    Intensifying/diminishing read the Mann-Kendall trend of the Gi* z at α = 0.05 (for cold spots the
    trend toward colder, negative, is "intensifying"). sfdep's `classify_hotspot` differs in places
    we do not follow (its intensifying hot counts cold bins toward the 90 %, its historical hot
    needs a final z < 0, its persistent ignores the final step).
    """
    hot = np.asarray(significant, bool) & (np.asarray(z) > 0)
    cold = np.asarray(significant, bool) & (np.asarray(z) < 0)
    for label, mine, other, sign in (("hot", hot, cold, 1.0), ("cold", cold, hot, -1.0)):
        pattern = _pattern(mine, other, sign * trend_z, trend_p)
        if pattern:
            return f"{pattern}_{label}"
    return NO_PATTERN


def _pattern(mine: np.ndarray, other: np.ndarray, trend: float, trend_p: float) -> str | None:
    """The pattern of one sign (`mine` hot or cold steps, `other` the opposite), or None."""
    n = len(mine)
    mostly = 10 * int(mine.sum()) >= 9 * n  # "ninety percent of the time-step intervals"
    final = bool(mine[-1])
    trending = trend_p < ALPHA
    if mostly:
        if not final:
            return "historical"
        if trending and trend > 0:
            return "intensifying"
        if trending and trend < 0:
            return "diminishing"
        return "persistent"
    if not final:
        return None
    if other.any():
        return "oscillating"
    if not mine[:-1].any():
        return "new"
    run = int(np.argmin(mine[::-1]))  # trailing hot steps (not all hot: fewer than 90 %)
    if run >= 2 and not mine[: n - run].any():
        return "consecutive"
    return "sporadic"


# Counts per (hexagon, step), the point-to-hexagon rule of hotspots._GRID_SQL (a point on a shared
# edge counts in the lowest (i, j)); the step is the calendar month/quarter/year in the local zone.
_CUBE_SQL = """
    WITH {area},
    pts AS (SELECT p.g, date_trunc(%s, c.received_at AT TIME ZONE %s)::date AS step
            FROM ({incidents}) p JOIN geo_disputes_case c ON c.id = p.id
            WHERE ST_Intersects(p.g, (SELECT g FROM area))),
    hit AS (
        SELECT own.i, own.j, pts.step FROM pts CROSS JOIN LATERAL (
            SELECT h.i, h.j FROM ST_HexagonGrid(%s, pts.g) AS h WHERE ST_Intersects(h.geom, pts.g)
            ORDER BY h.i, h.j LIMIT 1
        ) AS own
    )
    SELECT i, j, step, count(*) FROM hit GROUP BY i, j, step
"""


def _cube_counts(incidents, table: str, code: str, on: dt.date, side: float, step: str):
    """The steps (start dates, every step from the first to the last) and (i, j, step index, count) rows."""
    sql, values = hotspots._incidents_sql(incidents)
    area = hotspots._AREA_CTE.format(srid=METRIC_SRID, table=table)
    with connection.cursor() as cur:
        cur.execute(
            _CUBE_SQL.format(area=area, incidents=sql),
            [code, on, on, step, settings.TIME_ZONE, *values, float(side)],
        )
        rows = cur.fetchall()
    if not rows:
        return [], []
    first, last = min(r[2] for r in rows), max(r[2] for r in rows)
    steps = _step_starts(first, last, step)
    position = {s: k for k, s in enumerate(steps)}
    return steps, [(i, j, position[s], n) for i, j, s, n in rows]


def _step_starts(first: dt.date, last: dt.date, step: str) -> list[dt.date]:
    months = {"month": 1, "quarter": 3, "year": 12}[step]
    out, current = [], first
    while current <= last:
        out.append(current)
        total = current.year * 12 + current.month - 1 + months
        current = dt.date(total // 12, total % 12 + 1, 1)
    return out
