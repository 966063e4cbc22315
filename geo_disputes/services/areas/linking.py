"""Bulk linking: every case → township, village, grid, mining area/zone, parcels, in SQL.

Two statements in one transaction. The first works out each case's context once, into a temp table
(township, village, grid, mining area + relation, and the point's parcels), judged by the boundaries
in force on the day the case was received (Asia/Shanghai) with the tie rule of services/areas/locate.py
(closed boundaries, smallest code wins; mining areas the point is inside before zones). The second
writes only what differs: stale point parcels deleted, missing ones inserted, and the case rows whose
codes differ, whose point parcels changed or that were never linked updated. An interrupted run leaves
the data as before or as after, never half-linked; a re-run with nothing changed writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, transaction

from geo_disputes.services.sql import local_setting, relaxed_commit

# In force on the case's day: valid_from <= day <= valid_to (open-ended when NULL), written as a range
# test so the planner cannot AND the (code, valid_from) unique index into the GiST look-up — with a
# join parameter it assumes a third of the rows pass `valid_from <= day` and scanned that whole index
# for every case (bench/: parcels 3.4 ms → 0.03 ms per case; link_cases at 100k cases 353 s → 18 s).
# The day a case is judged on: its received date in Asia/Shanghai (also services/areas/relink.py).
CASE_DAY = "(c.received_at AT TIME ZONE 'Asia/Shanghai')::date"
_IN_FORCE = f"daterange(a.valid_from, a.valid_to, '[]') @> {CASE_DAY}"

# What each layer gives a case: the smallest code among its areas in force covering the point; for
# mining, the smallest code among the areas the point is inside, else among the zones it is in; all parcels.
_LAYERS = [
    ("t", "township", "geom", "min(a.code) AS code"),
    ("v", "village", "geom", "min(a.code) AS code"),
    ("g", "grid", "geom", "min(a.code) AS code"),
    (
        "m",
        "miningarea",
        "influence_zone",
        "min(a.code) FILTER (WHERE ST_Covers(a.geom, c.location)) AS inside, min(a.code) AS zone",
    ),
    ("p", "parcel", "geom", "array_agg(a.id ORDER BY a.id) AS ids"),
]


def _by_case(alias: str, table: str, geom: str, select: str) -> str:
    """Given cases: each case probes the layer's GiST index (a lateral aggregate always gives one row)."""
    return f"""LEFT JOIN LATERAL (
    SELECT {select} FROM geo_disputes_{table} a WHERE ST_Covers(a.{geom}, c.location) AND {_IN_FORCE}
) {alias} ON true"""  # noqa: S608 — only module constants are interpolated


def _by_area(alias: str, table: str, geom: str, select: str) -> str:
    """All cases: each area probes the cases' GiST index with its bounding box, so one polygon is tested
    against its cases one after another (PostGIS keeps it decoded and indexed between calls): at 100k
    cases grids 3.3 s → 0.9 s, parcels 2.5 s → 1.8 s. `_ST_Covers` is ST_Covers without its index
    support, and the box is ST_Envelope(geom), so the planner cannot turn the join round; as plain joins
    (no lateral Params) the areas are split between parallel workers."""
    return f"""LEFT JOIN (
    SELECT c.id, {select}
    FROM geo_disputes_{table} a JOIN geo_disputes_case c
      ON c.location @ ST_Envelope(a.{geom}) AND _ST_Covers(a.{geom}, c.location) AND {_IN_FORCE}
    GROUP BY c.id
) {alias} ON {alias}.id = c.id"""  # noqa: S608 — only module constants are interpolated


def _context_sql(cases: str, join) -> str:
    """Each case's context once, into the temp table link_context."""
    joins = "\n".join(join(*layer) for layer in _LAYERS)
    return f"""
CREATE TEMP TABLE link_context ON COMMIT DROP AS
WITH todo AS (
    SELECT c.id, c.location, c.received_at FROM {cases}
)
SELECT c.id,
    coalesce(t.code, '') AS township_code,
    coalesce(v.code, '') AS village_code,
    coalesce(g.code, '') AS grid_code,
    coalesce(m.inside, m.zone, '') AS mining_area_code,
    CASE WHEN m.inside IS NOT NULL THEN 'inside' WHEN m.zone IS NOT NULL THEN 'influence_zone' ELSE '' END
        AS mining_relation,
    coalesce(p.ids, '{{}}') AS parcel_ids
FROM todo c
{joins}
"""  # noqa: S608 — only module constants are interpolated; values are parameters


_CONTEXT_SOME_SQL = _context_sql("geo_disputes_case c WHERE c.id = ANY(%(ids)s)", _by_case)
_CONTEXT_ALL_SQL = _context_sql("geo_disputes_case c", _by_area)

# The areas-probe-cases join is only right when the planner knows how many cases there are: statistics
# taken when the table was empty (reltuples 0), or before it more than doubled, made it scan all cases
# for every parcel (2,000 cases loaded by COPY in a test's transaction: > 2 min instead of < 1 s).
_STATISTICS_STALE = """
SELECT c.reltuples <= 0 OR pg_relation_size(c.oid) / current_setting('block_size')::int > 2 * greatest(c.relpages, 1)
FROM pg_class c WHERE c.oid = 'geo_disputes_case'::regclass
"""

# Point parcels: the stale pairs go, the missing ones come (a pair named at intake is kept as named);
# a case row is written only when its context changed, so the others keep their linked_at.
_WRITE_SQL = """
WITH stale AS (
    DELETE FROM geo_disputes_caseparcel cp USING link_context x
    WHERE cp.case_id = x.id AND cp.source = 'point' AND cp.parcel_id <> ALL (x.parcel_ids)
    RETURNING cp.case_id
), missing AS (
    INSERT INTO geo_disputes_caseparcel (case_id, parcel_id, source)
    SELECT x.id, p.parcel_id, 'point'
    FROM link_context x CROSS JOIN LATERAL unnest(x.parcel_ids) AS p(parcel_id)
    ON CONFLICT (case_id, parcel_id) DO NOTHING  -- a pair already stored (point or named) is left as it is
    RETURNING case_id
), moved AS (
    SELECT case_id FROM stale UNION SELECT case_id FROM missing
)
UPDATE geo_disputes_case c SET
    township_code = x.township_code,
    village_code = x.village_code,
    grid_code = x.grid_code,
    mining_area_code = x.mining_area_code,
    mining_relation = x.mining_relation,
    linked_at = statement_timestamp()
FROM link_context x LEFT JOIN moved m ON m.case_id = x.id
WHERE c.id = x.id AND (
    c.linked_at IS NULL
    OR m.case_id IS NOT NULL
    OR (c.township_code, c.village_code, c.grid_code, c.mining_area_code, c.mining_relation)
       IS DISTINCT FROM (x.township_code, x.village_code, x.grid_code, x.mining_area_code, x.mining_relation)
)
"""


def link_cases(case_ids: Sequence[int] | None = None) -> int:
    """(Re)link the given cases (all cases when None) to their spatial context; returns how many changed.

    A case counts (and gets a new linked_at) when it was never linked or its township, village, grid,
    mining area/relation or point parcels differ from what was stored; parcels named at intake are kept.
    """
    params = {"ids": list(case_ids or [])}
    with transaction.atomic(), connection.cursor() as cur:
        relaxed_commit()  # one transaction, re-run whole if lost (services.sql)
        # The area tables are small (15 townships … 10k grids): below 8 MB PostgreSQL scans a table in one
        # process; let every layer's look-up split between the workers, for this statement only.
        with local_setting(cur, "min_parallel_table_scan_size", "0"):
            if case_ids is None:
                cur.execute(_STATISTICS_STALE)
                if cur.fetchone()[0]:
                    cur.execute("ANALYZE geo_disputes_case (location, received_at)")
            cur.execute(_CONTEXT_ALL_SQL if case_ids is None else _CONTEXT_SOME_SQL, params)
        cur.execute("ANALYZE link_context")
        cur.execute(_WRITE_SQL)
        changed = cur.rowcount
        cur.execute("DROP TABLE link_context")
    return changed
