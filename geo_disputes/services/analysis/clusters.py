"""DBSCAN clusters of cases in metres (PostGIS `ST_ClusterDBSCAN` in EPSG:4546).

A cluster is a set of cases each within `eps_m` metres of a core case, a core case having at least
`min_points` cases (itself included) within `eps_m` — the definition of DBSCAN (Ester et al. 1996)
that both PostGIS and scikit-learn implement. A border case reachable from two clusters may join
either: that is DBSCAN itself, not an error, and the tests compare accordingly.

Partitioning — correctness against memory. `ST_ClusterDBSCAN` is a window function: each
partition's points are held and indexed in memory while it runs. Partitioning by township would
bound that memory but cut every cluster that crosses a township border into pieces, and compute
core points near a border from only one side of it; in this banner the four subdistricts are one
town (薛家湾), so such clusters are the rule, not the exception. Partitioning by a coarse grid would
need overlapping tiles and a merge pass to stay correct. Here the partition is the county-level
code (the first 6 digits of the township code, 150622 for the banner): within one deployment it is
a single partition and the result is exact DBSCAN; memory is one county's cases (the demo's 557
cases cluster in milliseconds; a county's decades of cases are some 10⁵ points, a few tens of MB).
When a province runs on Citus with cases distributed by county code (DESIGN.md), the window
runs on the node holding that county and no cluster is cut inside a county; a cluster crossing a
county border is split in two — and is then two counties' matter anyway.

Repeat petitions count once (see hotspots.distinct_matters). The labelling SQL lives once
(`_LABELLED_CTE`) and backs both the per-case labels (tests) and the cluster hulls (the API).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from geo_disputes.models import Case
from geo_disputes.models.areas import METRIC_SRID
from geo_disputes.services.analysis.hotspots import distinct_matters
from geo_disputes.services.cases.access import COARSE_GRID_M
from geo_disputes.services.ops.replica import read_cursor
from geo_disputes.services.sql import compiled

DEFAULT_EPS_M = 500.0
DEFAULT_MIN_POINTS = 5
EPS_RANGE_M = (1.0, 50000.0)
MIN_POINTS_RANGE = (2, 1000)
DEGENERATE_HULL_BUFFER_M = 25.0  # a 1- or 2-point (or collinear) hull is drawn as a 25 m band around it
PARTITION = "county (first 6 digits of the township code)"


class ClusterParameterError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ClusterParams:
    eps_m: float = DEFAULT_EPS_M
    min_points: int = DEFAULT_MIN_POINTS

    def __post_init__(self) -> None:
        low, high = EPS_RANGE_M
        if not low <= self.eps_m <= high:
            raise ClusterParameterError("eps_m", f"must be between {low:g} and {high:g} metres")
        low, high = MIN_POINTS_RANGE
        if not low <= self.min_points <= high:
            raise ClusterParameterError("min_points", f"must be an integer between {low} and {high}")


# Each case in metres with its DBSCAN label (NULL = noise), clustered within its county. The cases
# are the caller's queryset compiled to SQL (`{incidents}`, its parameters first): the filter runs
# inside PostgreSQL, no list of ids travels to Python and back as an array parameter (measured at
# 100k cases: the round trip of ids cost as much as the clustering).
_LABELLED_CTE = f"""
    pts AS (
        SELECT id, reference, category, ST_Transform(location, {METRIC_SRID}) AS g, banner_code AS county
        FROM geo_disputes_case WHERE id IN ({{incidents}})
    ),
    labelled AS (
        SELECT pts.*, ST_ClusterDBSCAN(g, eps := %s, minpoints := %s) OVER (PARTITION BY county) AS cid
        FROM pts
    )
"""  # noqa: S608 — only the SRID constant and Django's compiled queryset are interpolated; values are parameters

_LABELS_SQL = f"WITH {_LABELLED_CTE} SELECT id, county, cid FROM labelled ORDER BY id"  # noqa: S608 — constant SQL

# One feature per cluster: its convex hull (buffered when degenerate), member count, dominant
# category (most members; ties to the first category code), the per-category counts and, unless
# left out (`{refs}`/`{members}` empty), the members' references. Clusters are listed largest
# first, ties by their first reference. One pass: a window counts each member's category within
# its cluster, one GROUP BY builds the cluster — no join whose size the planner must guess (a join
# of the per-category and per-cluster aggregates was planned as a 268 × 268 nested loop: 0.9 s).
_CLUSTERS_SQL = f"""
    WITH {_LABELLED_CTE},
    members AS (
        SELECT county, cid, reference, category, g,
               count(*) OVER (PARTITION BY county, cid, category) AS in_category
        FROM labelled WHERE cid IS NOT NULL
    ),
    clusters AS (
        SELECT county, cid, count(*) AS n, min(reference) AS first_ref{{refs}},
               (array_agg(category ORDER BY in_category DESC, category))[1] AS category,
               json_object_agg(DISTINCT category, in_category ORDER BY category) AS categories,
               ST_ConvexHull(ST_Collect({{hull_points}})) AS hull
        FROM members GROUP BY county, cid
    ),
    ranked AS (SELECT clusters.*, row_number() OVER (ORDER BY n DESC, first_ref) AS rank FROM clusters)
    SELECT (SELECT count(*) FROM pts), (SELECT coalesce(sum(n), 0) FROM clusters),
           coalesce(json_agg(json_build_object(
               'type', 'Feature',
               'id', rank,
               'geometry', ST_AsGeoJSON(ST_Transform(
                   CASE WHEN ST_Dimension(hull) < 2 THEN ST_Buffer(hull, %s) ELSE hull END, 4326), 6)::json,
               'properties', json_build_object(
                   'count', n, 'category', category, 'categories', categories{{members}}, 'county', county)
           ) ORDER BY rank), '[]'::json)::text
    FROM ranked
"""  # noqa: S608 — constant SQL; values are parameters
_WITH_MEMBERS = {"refs": ", array_agg(reference ORDER BY reference) AS refs", "members": ", 'members', refs"}
_WITHOUT_MEMBERS = {"refs": "", "members": ""}


@dataclass(frozen=True)
class Clusters:
    features_json: str  # a JSON array of GeoJSON features (WGS84), built by PostGIS
    params: ClusterParams
    n_cases: int
    n_clustered: int

    @property
    def n_noise(self) -> int:
        return self.n_cases - self.n_clustered


def dbscan_labels(cases: QuerySet[Case], params: ClusterParams) -> dict[int, tuple[str, int] | None]:
    """Case id → its cluster (county, label), or None for noise."""
    incidents = _incidents(cases)
    if incidents is None:
        return {}
    sql, values = incidents
    with read_cursor() as cur:
        cur.execute(_LABELS_SQL.format(incidents=sql), [*values, *_dbscan_values(params)])
        return {pk: (county, cid) if cid is not None else None for pk, county, cid in cur.fetchall()}


def clusters(cases: QuerySet[Case], params: ClusterParams, *, members: bool = True, coarse: bool = False) -> Clusters:
    """The DBSCAN clusters of `cases` as GeoJSON features with count, dominant category, per-category
    counts and (unless `members` is False) the members' references — one statement.

    Clustering always runs on exact points; `coarse` (for those who may not see exact points: planners,
    field staff) draws each hull around its members snapped to the access.COARSE_GRID_M grid, so no
    vertex of a hull is a case's exact position.
    """
    incidents = _incidents(cases)
    if incidents is None:
        return Clusters("[]", params, 0, 0)
    sql, values = incidents
    hull_points = f"ST_SnapToGrid(g, {float(COARSE_GRID_M)})" if coarse else "g"
    parts = {"incidents": sql, "hull_points": hull_points, **(_WITH_MEMBERS if members else _WITHOUT_MEMBERS)}
    with read_cursor() as cur:
        cur.execute(_CLUSTERS_SQL.format(**parts), [*values, *_dbscan_values(params), DEGENERATE_HULL_BUFFER_M])
        n_cases, n_clustered, features = cur.fetchone()
    return Clusters(features, params, int(n_cases), int(n_clustered))


def _incidents(cases: QuerySet[Case]) -> tuple[str, tuple] | None:
    """The ids of the incidents among `cases` as SQL and its parameters; None when none can match."""
    return compiled(distinct_matters(cases).order_by().values("id"))  # None e.g. for .none(): no query needed


def _dbscan_values(params: ClusterParams) -> list:
    return [float(params.eps_m), int(params.min_points)]
