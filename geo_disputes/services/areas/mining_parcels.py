"""Parcels the mining court cares about: those touching a mining area or its influence zone.

The generic /api/layers/parcels/ draws every parcel in a box; the court's map wants only the
parcels a mine can affect, with how (`inside` the licensed area, or only in the `influence_zone`)
and which mine. One query, as services/geojson.py does it: the box (`&&`, GiST) and the EXISTS
test select, the page is cut, and PostGIS builds the GeoJSON text (6 decimals, RFC 7946).
The relation and the mine are worked out for the rows of the page only.
"""

from __future__ import annotations

import datetime as dt

from geo_disputes.models import MiningArea, Parcel
from geo_disputes.services.areas.area_scope import area_sql
from geo_disputes.services.geojson import Page
from geo_disputes.services.ops.replica import read_cursor

PROPERTIES = ["code", "name", "land_use", "area_mu", "contract_no", "mining_relation", "mining_area_code"]


def mining_parcels(
    bbox: tuple[float, float, float, float] | None,
    on: dt.date | None,
    page: Page,
    *,
    contract_numbers: bool = False,
    user=None,
) -> tuple[str, int]:
    """GeoJSON text of one page of the parcels in force on `on` within `bbox` that intersect a mining
    area's influence zone (which contains the area itself), and the count of all such parcels.
    Contract numbers only when `contract_numbers` (access.can_read_contract_numbers). Only `user`'s parcels and
    mines (area_scope: their banner's; None = every banner, for commands and tests without a reader)."""
    params: dict = {"on": on or dt.date.today(), "limit": page.size, "offset": (page.number - 1) * page.size}
    parcel_scope, mine_scope = "TRUE", "TRUE"
    if user is not None:
        parcel_scope, found = area_sql(user, Parcel, "p", params["on"])
        params.update(found)
        mine_scope, found = area_sql(user, MiningArea, "ma", params["on"])
        params.update(found)
    box = ""
    if bbox is not None:
        box = "AND p.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)"
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3])
    shown = PROPERTIES if contract_numbers else [name for name in PROPERTIES if name != "contract_no"]
    props = ", ".join(f"'{name}', page.{name}" for name in shown)
    sql = f"""
        WITH areas AS (
            SELECT ma.code, ma.geom, ma.influence_zone FROM {MiningArea._meta.db_table} ma
            WHERE ma.valid_from <= %(on)s AND (ma.valid_to IS NULL OR ma.valid_to >= %(on)s) AND {mine_scope}
        ),
        matching AS (
            SELECT p.* FROM {Parcel._meta.db_table} p
            WHERE p.valid_from <= %(on)s AND (p.valid_to IS NULL OR p.valid_to >= %(on)s) {box} AND {parcel_scope}
              AND EXISTS (SELECT 1 FROM areas a WHERE ST_Intersects(a.influence_zone, p.geom))
        ),
        page AS (
            SELECT m.*,
                   CASE WHEN EXISTS (SELECT 1 FROM areas a WHERE ST_Intersects(a.geom, m.geom))
                        THEN 'inside' ELSE 'influence_zone' END AS mining_relation,
                   (SELECT a.code FROM areas a WHERE ST_Intersects(a.influence_zone, m.geom)
                    ORDER BY a.code LIMIT 1) AS mining_area_code
            FROM (SELECT * FROM matching ORDER BY code, valid_from LIMIT %(limit)s OFFSET %(offset)s) m
        )
        SELECT (SELECT count(*) FROM matching),
               json_build_object(
                 'type', 'FeatureCollection',
                 'features', coalesce(json_agg(json_build_object(
                     'type', 'Feature',
                     'id', page.code,
                     'geometry', ST_AsGeoJSON(page.geom, 6)::json,
                     'properties', json_build_object({props})
                 ) ORDER BY page.code, page.valid_from), '[]'::json)
               )::text
        FROM page
    """  # noqa: S608 — table names come from the models, column names from PROPERTIES; values are parameters
    with read_cursor() as cur:
        cur.execute(sql, params)
        count, text = cur.fetchone()
    return text, count
