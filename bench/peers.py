"""The peers: what a team would use instead of our path, written the way that team would write it.

* bulk linking — geopandas: `read_postgis` the layers and the case points, `sjoin` with the same
  closed-boundary predicate (`covered_by` = ST_Covers) and the same tie rule (smallest code wins,
  mining areas the point is inside before influence zones), boundaries in force on the case's day;
  optionally written back the way such a script would (COPY into a temp table, UPDATE … FROM).
* single lookup — shapely STRtree per layer built from the same polygons; point → covering polygons.
* DBSCAN — scikit-learn on the cases projected to EPSG:4546 (pyproj), kd-tree, per county partition.
* hot spots — PySAL: libpysal `DistanceBand` weights, esda `Moran` for the incremental spatial
  autocorrelation that picks the band, esda `G_Local(star=True)` and `fdr`, on the same hexagon
  counts (binned by the product's own PostGIS step, so only the statistics engine differs).
* planner map — folium with every case embedded (MarkerCluster, or FastMarkerCluster for large sets).

GeoJSON via DRF + djangorestframework-gis lives in bench/drf_peer.py (it is a view).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from django.db import connection
from pyproj import Transformer

METRIC_SRID = 4546
AREA_TABLES = {
    "township": "geo_disputes_township",
    "village": "geo_disputes_village",
    "grid": "geo_disputes_grid",
    "parcel": "geo_disputes_parcel",
}


def raw_connection():
    """Django's own DBAPI connection: the peer sees exactly what our path sees (same transaction)."""
    connection.ensure_connection()
    return connection.connection


def read_postgis(sql: str, params=None):
    import geopandas

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas prefers SQLAlchemy; a DBAPI connection works
        return geopandas.read_postgis(sql, raw_connection(), geom_col="geom", params=params)


# -- bulk linking: geopandas sjoin ------------------------------------------------------------------


@dataclass
class PeerLinks:
    context: pd.DataFrame  # id, township_code, village_code, grid_code, mining_area_code, mining_relation
    parcels: pd.DataFrame  # case_id, parcel_id
    read_s: float
    join_s: float


def _in_force(df: pd.DataFrame) -> pd.Series:
    return (df["valid_from"] <= df["day"]) & (df["valid_to"].isna() | (df["valid_to"] >= df["day"]))


def _first_code(points, layer, name: str) -> pd.Series:
    import geopandas

    hits = geopandas.sjoin(points, layer, how="inner", predicate="covered_by")
    hits = hits[_in_force(hits)]
    first = hits.sort_values(["id", "code"]).drop_duplicates("id", keep="first")
    return first.set_index("id")["code"].rename(name)


def geopandas_link() -> PeerLinks:
    """Every case → township, village, grid, mining area/zone, parcels with geopandas (load time included)."""
    import time

    import geopandas

    started = time.perf_counter()
    points = read_postgis(
        "SELECT id, (received_at AT TIME ZONE 'Asia/Shanghai')::date AS day, location AS geom FROM geo_disputes_case"
    )
    layers = {
        name: read_postgis(f"SELECT id AS area_id, code, valid_from, valid_to, geom FROM {table}")  # noqa: S608
        for name, table in AREA_TABLES.items()
    }
    pits = read_postgis("SELECT code, valid_from, valid_to, geom FROM geo_disputes_miningarea")
    zones = read_postgis("SELECT code, valid_from, valid_to, influence_zone AS geom FROM geo_disputes_miningarea")
    read_s = time.perf_counter() - started

    started = time.perf_counter()
    for frame in (points, *layers.values(), pits, zones):
        for col in ("day", "valid_from", "valid_to"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col])
    context = pd.DataFrame({"id": points["id"]}).set_index("id")
    for name in ("township", "village", "grid"):
        context = context.join(_first_code(points, layers[name], f"{name}_code"))
    in_zone = geopandas.sjoin(points, zones, how="inner", predicate="covered_by")
    in_zone = in_zone[_in_force(in_zone)][["id", "code"]]
    inside = geopandas.sjoin(points, pits, how="inner", predicate="covered_by")
    inside = inside[_in_force(inside)][["id", "code"]].assign(inside=True)
    mining = in_zone.merge(inside, on=["id", "code"], how="left").fillna({"inside": False})
    mining = mining.sort_values(["id", "inside", "code"], ascending=[True, False, True]).drop_duplicates("id")
    mining["mining_relation"] = np.where(mining["inside"], "inside", "influence_zone")
    context = context.join(
        mining.set_index("id")[["code", "mining_relation"]].rename(columns={"code": "mining_area_code"})
    )
    context = context.fillna("").reset_index()
    parcel_hits = geopandas.sjoin(points, layers["parcel"], how="inner", predicate="covered_by")
    parcel_hits = parcel_hits[_in_force(parcel_hits)]
    parcels = pd.DataFrame({"case_id": parcel_hits["id"].to_numpy(), "parcel_id": parcel_hits["area_id"].to_numpy()})
    join_s = time.perf_counter() - started
    return PeerLinks(context, parcels, read_s, join_s)


def write_back(links: PeerLinks) -> None:
    """Store the peer's answers as a script would: COPY into temp tables, one UPDATE … FROM, parcels replaced."""
    columns = ["id", "township_code", "village_code", "grid_code", "mining_area_code", "mining_relation"]
    ctx = io.StringIO()
    links.context[columns].to_csv(ctx, sep="\t", header=False, index=False)
    ctx.seek(0)
    pairs = io.StringIO()
    links.parcels.to_csv(pairs, sep="\t", header=False, index=False)
    pairs.seek(0)
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE peer_ctx (id bigint, township_code text, village_code text, grid_code text, "
            "mining_area_code text, mining_relation text) ON COMMIT DROP"
        )
        cur.copy_expert("COPY peer_ctx FROM STDIN", ctx)
        cur.execute(
            "UPDATE geo_disputes_case c SET township_code = p.township_code, village_code = p.village_code, "
            "grid_code = p.grid_code, mining_area_code = p.mining_area_code, mining_relation = p.mining_relation, "
            "linked_at = now() FROM peer_ctx p WHERE c.id = p.id"
        )
        cur.execute("CREATE TEMP TABLE peer_parcels (case_id bigint, parcel_id bigint) ON COMMIT DROP")
        cur.copy_expert("COPY peer_parcels FROM STDIN", pairs)
        cur.execute("DELETE FROM geo_disputes_caseparcel WHERE source = 'point'")
        cur.execute(
            "INSERT INTO geo_disputes_caseparcel (case_id, parcel_id, source) "
            "SELECT case_id, parcel_id, 'point' FROM peer_parcels ON CONFLICT (case_id, parcel_id) DO NOTHING"
        )


def stored_links() -> tuple[pd.DataFrame, pd.DataFrame]:
    """What our link_cases() stored: the context columns and the point parcels."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, township_code, village_code, grid_code, mining_area_code, mining_relation "
            "FROM geo_disputes_case"
        )
        ctx = pd.DataFrame(
            cur.fetchall(),
            columns=["id", "township_code", "village_code", "grid_code", "mining_area_code", "mining_relation"],
        )
        cur.execute("SELECT case_id, parcel_id FROM geo_disputes_caseparcel WHERE source = 'point'")
        parcels = pd.DataFrame(cur.fetchall(), columns=["case_id", "parcel_id"])
    return ctx, parcels


def compare_links(ours: tuple[pd.DataFrame, pd.DataFrame], peer: PeerLinks) -> dict[str, int]:
    """Disagreements per column over every case (0 everywhere = the same answers), and in parcel pairs."""
    ctx, parcels = ours
    merged = ctx.merge(peer.context, on="id", how="outer", suffixes=("", "_peer"), indicator=True)
    out = {"cases": len(ctx), "missing": int((merged["_merge"] != "both").sum())}
    for col in ("township_code", "village_code", "grid_code", "mining_area_code", "mining_relation"):
        out[col] = int((merged[col].fillna("") != merged[f"{col}_peer"].fillna("")).sum())
    a = set(map(tuple, parcels[["case_id", "parcel_id"]].to_numpy().tolist()))
    b = set(map(tuple, peer.parcels[["case_id", "parcel_id"]].to_numpy().tolist()))
    out["parcel_pairs"] = len(a)
    out["parcel_pairs_differing"] = len(a ^ b)
    return out


# -- single lookup: shapely STRtree -------------------------------------------------------------------


class StrTreeLocator:
    """Point → banner check, township, village, grid, mining areas (inside / zone), parcels, in process."""

    def __init__(self, on: dt.date | None = None):
        on = on or dt.date.today()
        self.layers: dict[str, tuple[shapely.STRtree, np.ndarray]] = {}
        sources = {
            "banner": ("geo_disputes_banner", "geom"),
            **{name: (table, "geom") for name, table in AREA_TABLES.items()},
            "pit": ("geo_disputes_miningarea", "geom"),
            "zone": ("geo_disputes_miningarea", "influence_zone"),
        }
        with connection.cursor() as cur:
            for name, (table, column) in sources.items():
                cur.execute(
                    f"SELECT code, ST_AsBinary({column}) FROM {table} "  # noqa: S608 — constant names
                    "WHERE valid_from <= %s AND (valid_to IS NULL OR valid_to >= %s) ORDER BY code",
                    [on, on],
                )
                rows = cur.fetchall()
                geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
                self.layers[name] = (shapely.STRtree(geoms), np.array([r[0] for r in rows], dtype=object))

    def _codes(self, layer: str, point) -> list[str]:
        tree, codes = self.layers[layer]
        hits = tree.query(point, predicate="covered_by")
        return [codes[i] for i in np.sort(hits)]  # rows are ordered by code: index order = code order

    def locate(self, lon: float, lat: float) -> dict | None:
        point = shapely.Point(lon, lat)
        if not self._codes("banner", point):
            return None
        first = {name: (self._codes(name, point) or [None])[0] for name in ("township", "village", "grid")}
        inside = set(self._codes("pit", point))
        mining = sorted(
            ((code, "inside" if code in inside else "influence_zone") for code in self._codes("zone", point)),
            key=lambda m: (m[1] != "inside", m[0]),
        )
        return {**first, "mining": mining, "parcels": self._codes("parcel", point)}


def location_summary(loc) -> dict:
    """Our Location reduced to the codes the peer returns."""
    return {
        "township": loc.township.code if loc.township else None,
        "village": loc.village.code if loc.village else None,
        "grid": loc.grid.code if loc.grid else None,
        "mining": [(m.area.code, m.relation) for m in loc.mining],
        "parcels": [p.code for p in loc.parcels],
    }


# -- DBSCAN: scikit-learn ------------------------------------------------------------------------------


def sklearn_dbscan(eps_m: float, min_points: int) -> dict[int, tuple[str, int] | None]:
    """Case id → (county, label) or None for noise: fetch WGS84 points, project with pyproj, DBSCAN per county."""
    from sklearn.cluster import DBSCAN

    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, ST_X(location), ST_Y(location), left(township_code, 6) FROM geo_disputes_case "
            "WHERE repeat_of_id IS NULL"
        )
        rows = cur.fetchall()
    if not rows:
        return {}
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    lon = np.fromiter((r[1] for r in rows), dtype=float, count=len(rows))
    lat = np.fromiter((r[2] for r in rows), dtype=float, count=len(rows))
    county = np.array([r[3] for r in rows], dtype=object)
    x, y = Transformer.from_crs(4326, METRIC_SRID, always_xy=True).transform(lon, lat)
    xy = np.column_stack([x, y])
    out: dict[int, tuple[str, int] | None] = {}
    for part in np.unique(county):
        mask = county == part
        labels = DBSCAN(eps=eps_m, min_samples=min_points, algorithm="kd_tree").fit(xy[mask]).labels_
        out.update((int(i), None if lab < 0 else (part, int(lab))) for i, lab in zip(ids[mask], labels, strict=True))
    return out


def neighbourhood_estimate(eps_m: float, sample: int = 2000) -> tuple[int, float]:
    """(points, mean neighbours within eps) from a sample: scikit-learn's DBSCAN holds every point's
    neighbourhood in memory at once (≈ 8 bytes per neighbour), so this says whether it can run here."""
    from scipy.spatial import cKDTree

    with connection.cursor() as cur:
        cur.execute("SELECT ST_X(location), ST_Y(location) FROM geo_disputes_case WHERE repeat_of_id IS NULL")
        rows = np.array(cur.fetchall(), dtype=float).reshape(-1, 2)
    if len(rows) == 0:
        return 0, 0.0
    x, y = Transformer.from_crs(4326, METRIC_SRID, always_xy=True).transform(rows[:, 0], rows[:, 1])
    xy = np.column_stack([x, y])
    pick = np.random.default_rng(7).choice(len(xy), min(sample, len(xy)), replace=False)
    counts = cKDTree(xy).query_ball_point(xy[pick], eps_m, return_length=True)
    return len(xy), float(np.mean(counts))


def adjusted_rand(ours: dict, theirs: dict) -> tuple[float, float]:
    """ARI over all points (noise points as singletons) and over the points both call core-ish
    (clustered by both): DBSCAN's border points may legitimately join either neighbouring cluster."""
    from sklearn.metrics import adjusted_rand_score

    ids = sorted(ours)
    if not ids:
        return 1.0, 1.0

    def labels(result: dict) -> np.ndarray:
        keys = {}
        out = np.empty(len(ids), dtype=np.int64)
        for n, i in enumerate(ids):
            value = result.get(i)
            key = ("noise", i) if value is None else value
            out[n] = keys.setdefault(key, len(keys))
        return out

    a, b = labels(ours), labels(theirs)
    both = np.array([ours[i] is not None and theirs.get(i) is not None for i in ids])
    return float(adjusted_rand_score(a, b)), float(adjusted_rand_score(a[both], b[both])) if both.any() else 1.0


# -- hot spots: PySAL esda -------------------------------------------------------------------------------


@dataclass
class PeerHotSpots:
    classes: dict[tuple[int, int], str]
    band_m: float
    rule: str


def esda_hot_spots(cases, area) -> PeerHotSpots:
    """Gi* hot spots with PySAL on the same hexagon counts our path bins in PostGIS.

    Steps 1–3 of services.analysis.hotspots (incidents, ArcGIS cell size bounded by its cell cap, hexagon counts)
    are the product's own binning, so both sides analyse identical cells; the band (incremental spatial
    autocorrelation with esda.Moran over the same candidate distances), Gi* (esda.G_Local, star) and
    FDR (esda.fdr) are PySAL's.
    """
    import esda
    from libpysal.weights import DistanceBand
    from scipy.spatial import cKDTree

    from geo_disputes.services.analysis import hotspots as hs

    table, code, on = hs._area_table(area)
    incidents = hs.distinct_matters(cases).order_by()
    xy, inside = hs._incident_points(incidents, table, code, on)
    cell_size, _ = hs.nearest_neighbour_cell_size(xy[inside])
    side = cell_size / np.sqrt(3.0)
    bounded = getattr(hs, "_bounded_side", None)  # the product coarsens the cell to keep ≤ MAX_CELLS cells
    if bounded is not None:
        side, _ = bounded(table, code, on, side)
    rows = hs._grid_counts(incidents, table, code, on, side)
    centres = np.array([(r[2], r[3]) for r in rows], dtype=float)
    y = np.array([r[4] for r in rows], dtype=float)
    tol = hs.BAND_TOLERANCE_M

    # Candidate distances as ArcGIS's incremental spatial autocorrelation lays them out.
    tree = cKDTree(centres)
    n = len(centres)
    nn = tree.query(centres, k=2)[0][:, 1]
    keep = nn <= nn.mean() + hs.OUTLIER_SDS * nn.std()
    start, step = float(nn[keep].max()), float(nn[keep].mean())
    standard = float(np.sqrt(((centres - centres.mean(axis=0)) ** 2).mean(axis=0).sum()))
    cutoffs = start + step * np.arange(hs.MORAN_STEPS)
    if cutoffs[-1] > standard > start:
        cutoffs = start + (standard - start) / hs.MORAN_STEPS * np.arange(hs.MORAN_STEPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libpysal warns about islands and disconnected components
        z_scores, distances = [], []
        for d in cutoffs:
            w = DistanceBand(centres, threshold=float(d) + tol, binary=True, silence_warnings=True)
            if w.mean_neighbors > hs.MAX_MEAN_NEIGHBOURS:
                break
            z_scores.append(float(esda.Moran(y, w, transformation="r", permutations=0).z_rand))
            distances.append(float(d))
        first, _highest = hs.peak_indices(z_scores)
        floor = hs.MIN_BAND_SHARE_OF_EXTENT * float(np.ptp(centres, axis=0).max())
        if first is not None:
            band, rule = max(distances[first], floor), "moran_first_peak"
        else:
            k = min(max(int(n * hs.KNN_SHARE), hs.KNN_MIN), hs.KNN_MAX, n - 1)
            kth = float(tree.query(centres, k=k + 1)[0][:, k].mean())
            band, rule = (
                (max(standard, floor), "standard_distance") if kth > standard else (max(kth, floor), "k_nearest")
            )
        w = DistanceBand(centres, threshold=band + tol, binary=True, silence_warnings=True)
        g = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    p = 2 * g.p_norm  # esda's p_norm is one-sided
    cut = {alpha: esda.fdr(p, alpha) for alpha in (0.01, 0.05, 0.10)}
    classes = {}
    for r, z, pi in zip(rows, g.Zs, p, strict=True):
        level = next((str(int(round(100 * (1 - a)))) for a in sorted(cut) if pi < cut[a]), None)
        classes[(int(r[0]), int(r[1]))] = (
            "not_significant" if level is None else f"{'hot' if z > 0 else 'cold'}_{level}"
        )
    return PeerHotSpots(classes, band, rule)


# -- planner map: folium with every case embedded ----------------------------------------------------------


def folium_page(points: list[tuple[float, float, str, str]], fast: bool) -> str:
    """An HTML page embedding every case: MarkerCluster with a popup per marker, or FastMarkerCluster
    (the data as one JS array, markers made in the browser) when `fast`. Like ours it has no basemap
    tiles and loads Leaflet from our vendored static files (maps.assets), not from a CDN: it must work
    offline on an intranet too."""
    import folium
    from folium.plugins import FastMarkerCluster, MarkerCluster

    from maps.assets import use_vendored

    lats = [p[1] for p in points] or [39.8]
    lons = [p[0] for p in points] or [110.8]
    page = folium.Map(location=[float(np.mean(lats)), float(np.mean(lons))], zoom_start=9, tiles=None, maxZoom=18)
    if fast:
        data = [[lat, lon, f"{html.escape(ref)} {html.escape(cat)}"] for lon, lat, ref, cat in points]
        callback = (
            "function (row) { var m = L.marker(new L.LatLng(row[0], row[1]));"
            " m.bindPopup(document.createTextNode(row[2]).textContent); return m; }"
        )
        FastMarkerCluster(data, callback=callback).add_to(page)
    else:
        cluster = MarkerCluster().add_to(page)
        for lon, lat, ref, cat in points:
            folium.Marker([lat, lon], popup=folium.Popup(f"{html.escape(ref)} {html.escape(cat)}")).add_to(cluster)
    return use_vendored(page).get_root().render()
