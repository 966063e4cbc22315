"""Measured prototypes of fixes proposed for product code (bench/README.md, "Proposals").

They are not used by the product: each exists so the benchmark can show, on the same data and in
the same run, what the proposed change would buy, and check that it gives the same answers.
"""

from __future__ import annotations

import datetime as dt
import json

from django.db import connection

from geo_disputes.models.areas import METRIC_SRID

_IN_FORCE = "{a}.valid_from <= %(on)s AND ({a}.valid_to IS NULL OR {a}.valid_to >= %(on)s)"

# locate() in one round trip: the same closed-boundary tie rule (smallest code wins; mining areas
# the point is inside before influence zones), every layer in force on `on`, the fields the API's
# location_dict shows, assembled as JSON by PostgreSQL.
_LOCATE_SQL = f"""
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g)
SELECT json_build_object(
  'inside', EXISTS (SELECT 1 FROM geo_disputes_banner b WHERE ST_Covers(b.geom, p.g) AND {_IN_FORCE.format(a="b")}),
  'township', (SELECT json_build_object('code', t.code, 'name', t.name) FROM geo_disputes_township t
               WHERE ST_Covers(t.geom, p.g) AND {_IN_FORCE.format(a="t")} ORDER BY t.code LIMIT 1),
  'village', (SELECT json_build_object('code', v.code, 'name', v.name) FROM geo_disputes_village v
              WHERE ST_Covers(v.geom, p.g) AND {_IN_FORCE.format(a="v")} ORDER BY v.code LIMIT 1),
  'grid', (SELECT json_build_object('code', g.code, 'name', g.name, 'households', g.households,
                                    'worker_name', g.worker_name, 'worker_phone', g.worker_phone)
           FROM geo_disputes_grid g WHERE ST_Covers(g.geom, p.g) AND {_IN_FORCE.format(a="g")}
           ORDER BY g.code LIMIT 1),
  'mining', (SELECT coalesce(json_agg(json_build_object('id', m.id, 'code', m.code, 'name', m.name,
                    'operator', m.operator, 'influence_buffer_m', m.influence_buffer_m,
                    'relation', CASE WHEN ST_Covers(m.geom, p.g) THEN 'inside' ELSE 'influence_zone' END)
                    ORDER BY ST_Covers(m.geom, p.g) DESC, m.code), '[]'::json)
             FROM geo_disputes_miningarea m WHERE ST_Covers(m.influence_zone, p.g) AND {_IN_FORCE.format(a="m")}),
  'parcels', (SELECT coalesce(json_agg(json_build_object('id', x.id, 'code', x.code, 'name', x.name,
                     'land_use', x.land_use, 'area_mu', x.area_mu, 'contract_no', x.contract_no,
                     'holder_name', x.holder_name) ORDER BY x.code), '[]'::json)
              FROM geo_disputes_parcel x WHERE ST_Covers(x.geom, p.g) AND {_IN_FORCE.format(a="x")})
)::text
FROM p
"""  # noqa: S608 — only constant SQL is interpolated; values are parameters


def locate_one_query(lon: float, lat: float, on: dt.date | None = None) -> dict:
    """What locate() finds (WGS84 input), in one statement; `inside` False = outside the banner."""
    with connection.cursor() as cur:
        cur.execute(_LOCATE_SQL, {"lon": lon, "lat": lat, "on": on or dt.date.today()})
        return json.loads(cur.fetchone()[0])


def summary(found: dict) -> dict | None:
    """The prototype's answer reduced to the codes the peer and our locate() are compared on."""
    if not found["inside"]:
        return None
    return {
        "township": (found["township"] or {}).get("code"),
        "village": (found["village"] or {}).get("code"),
        "grid": (found["grid"] or {}).get("code"),
        "mining": [(m["code"], m["relation"]) for m in found["mining"]],
        "parcels": [p["code"] for p in found["parcels"]],
    }


# DBSCAN labels with the incident filter as a subquery (no id array built in Python and shipped as a
# parameter) and without JIT compilation, which costs more than it saves on a window over 10⁵ rows.
_DBSCAN_SQL = f"""
    WITH pts AS (
        SELECT id, ST_Transform(location, {METRIC_SRID}) AS g, left(township_code, 6) AS county
        FROM geo_disputes_case WHERE repeat_of_id IS NULL
    )
    SELECT id, county, ST_ClusterDBSCAN(g, eps := %(eps)s, minpoints := %(min_points)s)
                       OVER (PARTITION BY county)
    FROM pts
"""  # noqa: S608 — constant SQL


def dbscan_labels_subquery(eps_m: float, min_points: int) -> dict[int, tuple[str, int] | None]:
    with connection.cursor() as cur:
        cur.execute("SET LOCAL jit = off") if connection.in_atomic_block else cur.execute("SET jit = off")
        try:
            cur.execute(_DBSCAN_SQL, {"eps": eps_m, "min_points": min_points})
            rows = cur.fetchall()
        finally:
            if not connection.in_atomic_block:
                cur.execute("RESET jit")
    return {pk: (county, cid) if cid is not None else None for pk, county, cid in rows}
