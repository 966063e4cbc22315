"""The offline area pack: a grid worker's own village(s) — outlines, grids, parcels — for the phone.

Grid workers walk places with no signal; the field page keeps this pack in the browser (IndexedDB) and
answers "which village, grid, parcel is this point in" from it when /api/locate/ cannot be reached.
What goes in is only what the layers API already shows the same user, and only for their own area:
the villages of their scope (a grid's village, their village, their township's villages). Banner-wide
roles name one village. Holders never travel in the pack: a parcel's holder is shown per role by the
parcel detail, never in bulk (services/geojson.Layer), and a lost phone must not carry a village's
names. Contract numbers and grid workers' names and phones (the registry's personal fields) likewise.

PostGIS builds the whole document in one statement (drf-gis #245: never object by object).
Coordinates are rounded to 5 decimals (≈1.1 m here), well under a phone GPS fix (5–10 m),
which keeps a demo village's pack at a few hundred KB; the outlines are not simplified, so a
point is placed exactly as the server places it except within a metre of a border.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.db import connection

from geo_disputes.models import Grid, Parcel, Township, Village
from geo_disputes.services.cases.access import ScopeError, banner_prefix, scope_kind, staff_profile

PACK_DECIMALS = 5  # ≈1.1 m in latitude, ≈0.9 m in longitude at 39.7 °N
PACK_FORMAT = 1  # bumped when the document's shape changes (the phone drops an older pack)


class PackRefused(ValueError):
    """The user may not have a pack for what was asked (no area, a village outside their scope)."""


@dataclass(frozen=True)
class Pack:
    """The pack's JSON text (UTF-8) and its entity tag (a hash of the text: equal text, equal tag)."""

    body: bytes
    etag: str
    villages: tuple[str, ...]


def pack_villages(user, village: str = "", on: dt.date | None = None) -> tuple[str, ...]:
    """Codes of the villages in force whose pack `user` may keep: their scope's villages, or `village`
    when it is one of them — or, for a banner-wide role, any one village it names. PackRefused otherwise."""
    village = (village or "").strip()
    profile = staff_profile(user)
    scope = "" if profile is None else profile.scope_code.strip()
    if profile is None and not user.is_superuser:
        raise PackRefused("无工作人员身份,不能下载离线数据 / no staff profile: no offline pack")
    try:
        kind = scope_kind(scope)
    except ScopeError:
        raise PackRefused("辖区代码无效 / the scope code is not valid") from None
    villages = Village.objects.in_force(on)
    if kind == "grid":
        grid = Grid.objects.in_force(on).filter(code=scope).values_list("village_code", flat=True).first()
        villages = villages.filter(code=grid or scope[:12])
    elif kind == "village":
        villages = villages.filter(code=scope)
    elif kind == "township":
        villages = villages.filter(township_code=scope)
    elif not village:
        raise PackRefused("请指定一个嘎查村 / name one village (?village=<12-digit code>)")
    else:  # a banner-wide role: a village of its own banner(s) (several banners per deployment)
        villages = villages.filter(code__startswith=banner_prefix(user))
    if village:
        villages = villages.filter(code=village)
    codes = tuple(sorted(set(villages.values_list("code", flat=True))))
    if not codes:
        raise PackRefused("辖区内无此嘎查村 / no such village in your area")
    return codes


def build_pack(villages: tuple[str, ...], *, land_use_labels: dict[str, str], on: dt.date | None = None) -> Pack:
    """The pack of `villages` (codes) in force on `on`: one FeatureCollection per layer, built in PostGIS.

    `land_use_labels` are the land-use names in the page's language (so the phone needs no catalogue)."""
    on = on or dt.date.today()
    params = {
        "on": on,
        "villages": list(villages),
        "digits": PACK_DECIMALS,
        "labels": json.dumps(land_use_labels, ensure_ascii=False),
    }
    in_force = "valid_from <= %(on)s AND (valid_to IS NULL OR valid_to >= %(on)s)"
    sql = f"""
        WITH v AS (SELECT code, name, township_code, geom,
                          (SELECT t.name FROM {Township._meta.db_table} t
                           WHERE t.code = village.township_code AND t.valid_from <= %(on)s
                             AND (t.valid_to IS NULL OR t.valid_to >= %(on)s) LIMIT 1) AS township_name
                   FROM {Village._meta.db_table} village
                   WHERE {in_force} AND code = ANY(%(villages)s)),
             g AS (SELECT code, name, village_code, households, geom
                   FROM {Grid._meta.db_table} WHERE {in_force} AND village_code = ANY(%(villages)s)),
             p AS (SELECT p.code, p.name, p.land_use, p.area_mu, p.geom FROM {Parcel._meta.db_table} p
                   WHERE {in_force}
                     AND EXISTS (SELECT 1 FROM v WHERE p.code LIKE v.code || '%%' AND p.geom && v.geom)),
             labels AS (SELECT %(labels)s::jsonb AS j)
        SELECT json_build_object(
          'format', {PACK_FORMAT},
          'on', %(on)s::text,
          'villages', (SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
              json_build_object('type', 'Feature', 'id', code,
                'geometry', ST_AsGeoJSON(geom, %(digits)s)::json,
                'properties', json_build_object('code', code, 'name', name, 'township_code', township_code,
                  'township_name', township_name))
              ORDER BY code), '[]'::json)) FROM v),
          'grids', (SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
              json_build_object('type', 'Feature', 'id', code,
                'geometry', ST_AsGeoJSON(geom, %(digits)s)::json,
                'properties', json_build_object('code', code, 'name', name, 'village_code', village_code,
                  'households', households))
              ORDER BY code), '[]'::json)) FROM g),
          'parcels', (SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
              json_build_object('type', 'Feature', 'id', code,
                'geometry', ST_AsGeoJSON(geom, %(digits)s)::json,
                'properties', json_build_object('code', code, 'name', name, 'land_use', land_use,
                  'land_use_label', coalesce((SELECT j ->> land_use FROM labels), land_use), 'area_mu', area_mu))
              ORDER BY code), '[]'::json)) FROM p)
        )::text
    """  # noqa: S608 — only table names and constants are interpolated; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        body = cursor.fetchone()[0].encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Pack(body=body, etag=etag, villages=villages)
