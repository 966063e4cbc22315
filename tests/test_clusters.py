"""DBSCAN clusters from PostGIS agree with scikit-learn on the same projected points.

DBSCAN is deterministic for core points and noise; a border point within eps of core points of
two clusters may be assigned to either (PostGIS and scikit-learn visit points in different
orders). So the comparison is: noise identical, the partition of core points identical up to
label permutation, and the whole partition with an adjusted Rand index of at least 0.99.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pyproj import Transformer
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score

from geo_disputes.models import Case
from geo_disputes.services.analysis.clusters import ClusterParameterError, ClusterParams, clusters, dbscan_labels

from .factories import CaseFactory, StaffFactory

pytestmark = pytest.mark.django_db

TO_WGS84 = Transformer.from_crs(4546, 4326, always_xy=True)
ORIGIN = (60000.0, 4400000.0)  # EPSG:4546 metres, near 111.7 E 39.7 N — synthetic, any place will do


def _case_at(x: float, y: float, **kw) -> Case:
    lon, lat = TO_WGS84.transform(x, y)
    return CaseFactory(location=Point(lon, lat, srid=4326), submitted_lon=lon, submitted_lat=lat, **kw)


@pytest.fixture
def clumped():
    """Five clumps (sd 120-300 m, 12-30 cases, two of them touching) and 40 scattered cases over 20 km."""
    rng = np.random.default_rng(11)
    centres = [(2000, 3000, 120, 30), (9000, 9000, 200, 20), (9900, 9300, 200, 15), (15000, 4000, 300, 25)]
    centres.append((4000, 15000, 150, 12))
    for cx, cy, sd, n in centres:
        for dx, dy in rng.normal(0, sd, (n, 2)):
            _case_at(ORIGIN[0] + cx + dx, ORIGIN[1] + cy + dy, township_code="150622004")
    for x, y in rng.uniform(0, 20000, (40, 2)):
        _case_at(ORIGIN[0] + x, ORIGIN[1] + y, township_code="150622101")


def _projected() -> tuple[list[int], np.ndarray]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, ST_X(p), ST_Y(p) FROM (SELECT id, ST_Transform(location, 4546) AS p FROM geo_disputes_case) s"
            " ORDER BY id"
        )
        rows = cur.fetchall()
    return [r[0] for r in rows], np.array([(r[1], r[2]) for r in rows])


def _as_labels(ids, found) -> np.ndarray:
    names = {}
    return np.array([-1 if found[i] is None else names.setdefault(found[i], len(names)) for i in ids])


@pytest.mark.parametrize(("eps", "min_points"), [(500.0, 5), (300.0, 4), (800.0, 10)])
def test_postgis_dbscan_partitions_like_scikit_learn(clumped, eps, min_points):
    ids, xy = _projected()
    ours = _as_labels(ids, dbscan_labels(Case.objects.all(), ClusterParams(eps, min_points)))
    reference = DBSCAN(eps=eps, min_samples=min_points).fit(xy)
    theirs = reference.labels_
    assert ((ours == -1) == (theirs == -1)).all()  # noise is noise
    core = np.zeros(len(ids), dtype=bool)
    core[reference.core_sample_indices_] = True
    assert adjusted_rand_score(ours[core], theirs[core]) == 1.0  # core points: exactly the same partition
    assert adjusted_rand_score(ours, theirs) >= 0.99
    assert len(set(theirs) - {-1}) >= 3  # the comparison is about real clusters


def test_a_cluster_across_a_township_border_is_not_split():
    for k in range(10):
        _case_at(ORIGIN[0] + k * 40, ORIGIN[1], township_code="150622004" if k < 5 else "150622101")
    found = dbscan_labels(Case.objects.all(), ClusterParams(100, 3))
    assert len(set(found.values())) == 1 and None not in found.values()


def test_repeat_petitions_count_once():
    original = _case_at(*ORIGIN)
    for _ in range(3):
        _case_at(*ORIGIN, repeat_of=original)
    _case_at(ORIGIN[0] + 10, ORIGIN[1])
    assert set(dbscan_labels(Case.objects.all(), ClusterParams(50, 3)).values()) == {None}  # 2 matters < 3


def test_cluster_features_carry_count_dominant_category_members_and_a_hull(clumped):
    result = clusters(Case.objects.all(), ClusterParams(500, 5))
    features = json.loads(result.features_json)
    assert result.n_cases == 142 and result.n_clustered + result.n_noise == 142
    assert sum(f["properties"]["count"] for f in features) == result.n_clustered
    biggest = features[0]["properties"]
    assert biggest["count"] == len(biggest["members"]) and biggest["members"] == sorted(biggest["members"])
    assert all(f["geometry"]["type"] == "Polygon" for f in features)
    # Mixed categories in the biggest cluster (35 cases): 15 utilities, 11 neighbour, 9 land occupation.
    members = list(Case.objects.filter(reference__in=biggest["members"]).order_by("pk"))
    assert len(members) == 35
    for n, case in enumerate(members):
        case.category = "utilities" if n < 15 else "neighbour" if n < 26 else "land_occupation"
    Case.objects.bulk_update(members, ["category"])
    again = json.loads(clusters(Case.objects.all(), ClusterParams(500, 5)).features_json)[0]["properties"]
    assert again["members"] == biggest["members"] and again["category"] == "utilities"
    assert again["categories"] == {"land_occupation": 9, "neighbour": 11, "utilities": 15}


def test_two_point_clusters_get_a_buffered_hull_and_the_dominant_category_wins():
    _case_at(*ORIGIN, category="neighbour")
    _case_at(ORIGIN[0] + 30, ORIGIN[1], category="neighbour")
    _case_at(ORIGIN[0] + 60, ORIGIN[1], category="utilities")
    features = json.loads(clusters(Case.objects.all(), ClusterParams(40, 2)).features_json)
    assert len(features) == 1
    assert features[0]["geometry"]["type"] == "Polygon"  # a line of points, drawn as a band
    assert features[0]["properties"]["category"] == "neighbour"
    assert features[0]["properties"]["categories"] == {"neighbour": 2, "utilities": 1}


def test_parameters_are_checked():
    with pytest.raises(ClusterParameterError) as err:
        ClusterParams(0.5, 5)
    assert err.value.field == "eps_m"
    with pytest.raises(ClusterParameterError) as err:
        ClusterParams(500, 1)
    assert err.value.field == "min_points"


def test_api_clusters(clumped, api_client):
    api_client.force_authenticate(StaffFactory(role="planner").user)
    body = api_client.get("/api/clusters/", {"eps_m": "500", "min_points": "5"}).json()
    assert body["type"] == "FeatureCollection"
    assert (body["eps_m"], body["min_points"], body["n_cases"]) == (500.0, 5, 142)
    assert {"count", "category", "members"} <= set(body["features"][0]["properties"])
    defaults = api_client.get("/api/clusters/").json()
    assert (defaults["eps_m"], defaults["min_points"]) == (500.0, 5)
    for bad in ({"eps_m": "0"}, {"eps_m": "50001"}, {"eps_m": "x"}):
        response = api_client.get("/api/clusters/", bad)
        assert response.status_code == 400 and "eps_m" in response.json()
    for bad in ({"min_points": "1"}, {"min_points": "1001"}, {"min_points": "2.5"}):
        response = api_client.get("/api/clusters/", bad)
        assert response.status_code == 400 and "min_points" in response.json()


def test_api_clusters_are_of_the_cases_the_user_may_see(clumped, api_client):
    api_client.force_authenticate(StaffFactory(role="township_officer", scope_code="150622101").user)
    body = api_client.get("/api/clusters/").json()
    assert body["n_cases"] == 40  # the scattered ones only


def test_a_planner_map_asks_for_clusters_without_their_members(clumped, api_client):
    api_client.force_authenticate(StaffFactory(role="planner").user)
    full = api_client.get("/api/clusters/", {"eps_m": "500", "min_points": "5"}).json()
    for off in ("false", "0", "no", "False"):
        slim = api_client.get("/api/clusters/", {"eps_m": "500", "min_points": "5", "members": off}).json()
        assert [set(f["properties"]) for f in slim["features"]] == [
            set(f["properties"]) - {"members"} for f in full["features"]
        ]
        assert [f["geometry"] for f in slim["features"]] == [f["geometry"] for f in full["features"]]
        assert [(f["properties"]["count"], f["properties"]["category"]) for f in slim["features"]] == [
            (f["properties"]["count"], f["properties"]["category"]) for f in full["features"]
        ]
        assert slim["n_clustered"] == full["n_clustered"]
    for on in ("true", "1", "yes"):
        body = api_client.get("/api/clusters/", {"eps_m": "500", "min_points": "5", "members": on}).json()
        assert body["features"] == full["features"]
    for bad in ("maybe", "2", "[]"):
        response = api_client.get("/api/clusters/", {"members": bad})
        assert response.status_code == 400 and "members" in response.json()


def test_clusters_take_the_cases_as_a_subquery_in_one_statement(clumped):
    """No list of case ids goes to Python and back as an array parameter: the filter runs in SQL."""
    cases = Case.objects.filter(township_code__startswith="150622")
    sent = []

    def record(execute, sql, params, many, context):
        sent.append(params)
        return execute(sql, params, many, context)

    for run in (lambda: clusters(cases, ClusterParams(500, 5)), lambda: dbscan_labels(cases, ClusterParams(500, 5))):
        sent.clear()
        with connection.execute_wrapper(record):
            run()
        assert len(sent) == 1  # one statement
        values = list(sent[0].values()) if isinstance(sent[0], dict) else list(sent[0])
        assert not any(isinstance(v, list | tuple | set) for v in values)
        assert len(values) <= 5  # the filter's own values, eps, min_points, the hull buffer


def test_clusters_of_no_visible_cases_need_no_query():
    with CaptureQueriesContext(connection) as captured:
        result = clusters(Case.objects.none(), ClusterParams(500, 5))
    assert (result.n_cases, json.loads(result.features_json)) == (0, [])
    assert captured.captured_queries == []
