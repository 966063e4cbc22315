"""Incremental re-linking: after boundaries change, re-link only the cases whose answer can change.

A case's link in a layer is a function of one set: the layer's keys whose boundary covers the case's
point on its received day (area codes; parcel ids for parcels, whose pairs are stored by id; for mining
areas the codes whose area, and those whose influence zone, covers it). A change of boundaries alters
that set for a case only where, for some key, "a version of it covers the point on the day" is true
before and false after, or the other way round. So the versions of the codes a change touches are
snapshotted before it writes and read again after; versions identical on both sides are dropped; and
exactly the cases whose membership differs for some key are re-linked, by `link_cases(ids)` — the
statement of the full re-link (one rule, one place). Every other case would get its stored link again
from a full re-link, provided the links were current before the change (intake links each case,
`link_cases` re-links all). This is the symmetric difference of old and new, taken per key in space
and time rather than as a polygon overlay: no rounding of a computed outline can lose a case on a
boundary, and a case in the unchanged part of a redrawn village is not examined (its village code
covers it before and after), while one in an unchanged part of a re-surveyed parcel is (the parcel
version it is paired with changed). Measured in bench/relink_only.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db import connection

from geo_disputes.services.areas.layers import Layer
from geo_disputes.services.areas.linking import CASE_DAY, link_cases

# Above this share of all cases, one full re-link (areas probe the cases, in parallel) is cheaper than
# looking up each examined case on its own; the answers are the same either way. Measured at 1M cases
# (bench DB, nothing to write): link_cases(ids) 110 µs a case (10k, 50k, 200k ids), link_cases() 22 s.
FULL_RELINK_SHARE = 0.2

# How each layer's cases are keyed (what the case row or its point parcels store) and what probes them.
_KEYS = {
    "townships": ("code", "NULL::geometry"),
    "villages": ("code", "NULL::geometry"),
    "grids": ("code", "NULL::geometry"),
    "mining-areas": ("code", "influence_zone"),
    "parcels": ("id::text", "NULL::geometry"),
}

_SNAPSHOT_SQL = """
INSERT INTO relink_versions (after, id, key, days, geom, zone)
SELECT {after}, a.id, a.{key}, daterange(a.valid_from, a.valid_to, '[]'), a.geom, {zone}
FROM {table} a WHERE a.code IN ({codes})
"""

# A version the same on both sides (same row, dates, boundary and zone) cannot change any case's
# membership: both of its rows go (the self-join is evaluated before either is deleted).
_DROP_UNCHANGED_SQL = """
DELETE FROM relink_versions v USING relink_versions w
WHERE v.id = w.id AND v.after <> w.after AND v.days = w.days
  AND ST_AsEWKB(v.geom) = ST_AsEWKB(w.geom)
  AND ST_AsEWKB(v.zone) IS NOT DISTINCT FROM ST_AsEWKB(w.zone)
"""

# Each remaining version probes the cases' GiST index with its box (as in linking._by_area); per case
# and key: covered before vs after, and for mining areas inside the area before vs after. A case the
# versions cover that was never linked (linked_at NULL: loaded in bulk, or before the areas existed) is
# re-linked too — a full re-link would link it, and its membership before the change says nothing.
_AFFECTED_SQL = f"""
SELECT DISTINCT h.case_id FROM (
    SELECT c.id AS case_id, v.key, v.after, _ST_Covers(v.geom, c.location) AS inside, c.linked_at IS NULL AS unlinked
    FROM relink_versions v JOIN geo_disputes_case c
      ON c.location @ ST_Envelope(coalesce(v.zone, v.geom))
     AND _ST_Covers(coalesce(v.zone, v.geom), c.location)
     AND v.days @> {CASE_DAY}
) h
GROUP BY h.case_id, h.key
HAVING bool_or(h.unlinked)
    OR bool_or(h.after) IS DISTINCT FROM bool_or(NOT h.after)
    OR bool_or(h.inside AND h.after) IS DISTINCT FROM bool_or(h.inside AND NOT h.after)
ORDER BY h.case_id
"""  # noqa: S608 — only a module constant is interpolated


@dataclass(frozen=True)
class RelinkReport:
    """What re-linking after a change did (or, in a dry run, would do) in one layer."""

    layer: str
    versions: int  # boundary versions that differ before and after the change
    examined: int  # cases re-linked: those whose covering set in the layer changed (all cases when full)
    changed: int  # cases whose stored link (codes or point parcels) changed
    full: bool = False  # so many cases were affected that the whole table was re-linked

    def __str__(self) -> str:
        how = "all cases re-linked" if self.full else f"{self.examined} case(s) re-linked"
        return f"{self.layer}: {self.versions} boundary version(s) changed; {how}; {self.changed} link(s) changed"


class BoundaryChange:
    """The versions of some codes of one layer, watched across a change made in the same transaction.

    Create it before the change (it snapshots the versions of the codes `codes_sql` selects), make the
    change, then call `relink()`. Must run inside the change's transaction.
    """

    def __init__(self, spec: Layer, codes_sql: str, params: list | tuple = ()):
        self.spec = spec
        self.watched = spec.name in _KEYS
        self.codes_sql, self.params = codes_sql, list(params)
        if not self.watched:  # the banner outline bounds input points; no case is linked to it
            return
        with connection.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS pg_temp.relink_versions")
            cur.execute(
                "CREATE TEMP TABLE relink_versions (after boolean NOT NULL, id bigint NOT NULL, key text NOT NULL,"
                " days daterange NOT NULL, geom geometry NOT NULL, zone geometry) ON COMMIT DROP"
            )
            self._snapshot(cur, after=False)

    def relink(self) -> RelinkReport:
        """Re-link the cases the change can affect; how many were examined and how many changed."""
        if not self.watched:
            return RelinkReport(self.spec.name, 0, 0, 0)
        with connection.cursor() as cur:
            self._snapshot(cur, after=True)
            cur.execute(_DROP_UNCHANGED_SQL)
            cur.execute("SELECT count(DISTINCT id) FROM relink_versions")
            versions = cur.fetchone()[0]
            ids: list[int] = []
            if versions:
                cur.execute("ANALYZE relink_versions")
                cur.execute(_AFFECTED_SQL)
                ids = [row[0] for row in cur.fetchall()]
            cur.execute("DROP TABLE relink_versions")
            if not ids:
                return RelinkReport(self.spec.name, versions, 0, 0)
            # Are there fewer than len(ids) / share cases? Reads at most that many rows, not the table.
            enough = math.ceil(len(ids) / FULL_RELINK_SHARE)
            cur.execute("SELECT count(*) FROM (SELECT 1 FROM geo_disputes_case LIMIT %s) c", [enough])
            full = cur.fetchone()[0] < enough
            if full:
                cur.execute("SELECT count(*) FROM geo_disputes_case")
                total = cur.fetchone()[0]
        if full:
            return RelinkReport(self.spec.name, versions, total, link_cases(), full=True)
        return RelinkReport(self.spec.name, versions, len(ids), link_cases(ids))

    def _snapshot(self, cur, *, after: bool) -> None:
        key, zone = _KEYS[self.spec.name]
        quote = connection.ops.quote_name
        cur.execute(
            _SNAPSHOT_SQL.format(
                after="true" if after else "false",
                key=key,
                zone=f"a.{zone}" if zone.startswith("influence") else zone,
                table=quote(self.spec.table),
                codes=self.codes_sql,
            ),
            self.params,
        )
