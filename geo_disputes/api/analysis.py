"""Analysis API: hot spots, village rates, DBSCAN clusters and proposed case groups.

GET /api/hotspots/?category=&status=&tier=&since=&until=&township=
GET /api/village-rates/?category=&status=&tier=&since=&until=&output=geojson
GET /api/clusters/?eps_m=&min_points=&members=&category=&status=&tier=&since=&until=&township=
GET /api/group-proposals/ · POST /api/group-proposals/<id>/confirm/ · POST /api/group-proposals/<id>/reject/

Every count is of the cases the user may see (services.cases.access.visible_cases); a village officer's
hot spots are of their village's cases, a planner's of all (aggregates only: no names anywhere here).
"""

from __future__ import annotations

import json

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import Func, Value
from django.http import HttpResponse
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_disputes.models import Village
from geo_disputes.services.analysis.clusters import (
    DEFAULT_EPS_M,
    DEFAULT_MIN_POINTS,
    EPS_RANGE_M,
    MIN_POINTS_RANGE,
    PARTITION,
    ClusterParameterError,
    ClusterParams,
    clusters,
)
from geo_disputes.services.analysis.hotspots import FDR_ALPHAS, HotSpotRefused, StudyArea, hot_spots, village_rates
from geo_disputes.services.cases.access import banner_prefix, reads_all_case_text, staff_profile, visible_cases
from geo_disputes.services.cases.case_queries import CaseFilter, filter_cases
from geo_disputes.services.cases.proposals import (
    REASONS,
    ProposalError,
    confirm,
    proposal_cases,
    reject,
    visible_proposals,
)

from . import params
from .case_input import case_filter

GEOJSON = "application/geo+json"


def _filter(query, *, township: bool) -> CaseFilter:
    """category, status, tier, since, until (and township) — validated like the case list's filters."""
    full = case_filter(query)
    return CaseFilter(
        category=full.category,
        status=full.status,
        tier=full.tier,
        since=full.since,
        until=full.until,
        township=full.township if township else None,
    )


class HotSpotView(APIView):
    def get(self, request: Request) -> HttpResponse:
        flt = _filter(request.query_params, township=True)
        cases = filter_cases(visible_cases(request.user), flt)
        try:
            area = StudyArea(township=flt.township or "", on=flt.until, banner=banner_prefix(request.user))
            result = hot_spots(cases, area)
        except HotSpotRefused as exc:
            if exc.field:
                raise ValidationError({exc.field: exc.message}) from None
            return Response({"detail": exc.message}, status=422)
        head = {
            "type": "FeatureCollection",
            "cell_size_m": round(result.cell_size_m, 3),
            "cell_size_rule": result.cell_size_rule,
            "hex_side_m": round(result.hex_side_m, 3),
            "distance_band_m": round(result.distance_band_m, 3),
            "distance_band_rule": result.distance_band_rule,
            "fdr_alpha": list(FDR_ALPHAS),
            "fdr_p_cutoffs": result.p_cutoffs,
            "n_incidents": result.n_incidents,
            "n_outside_study_area": result.n_outside,
            "locational_outliers": result.locational_outliers,
            "study_area": flt.township or "banner",
            "srid_metric": 4546,
            "moran_steps": [
                {"distance_m": round(s.distance_m, 3), "moran_i": s.moran_i, "z": s.z} for s in result.moran_steps
            ],
        }
        return _collection(head, "[" + ",".join(_hex_feature(c) for c in result.cells) + "]")


SIMPLIFY_DEG = 0.00005  # ~5 m: village outlines on the rate map (a choropleth, not the legal boundary)


class VillageRateView(APIView):
    def get(self, request: Request) -> Response:
        query = request.query_params
        flt = _filter(query, township=False)
        fmt = query.get("output") or "json"  # not "format": DRF reserves it for renderer negotiation
        if fmt not in ("json", "geojson"):
            raise ValidationError({"output": "use json or geojson"})
        cases = filter_cases(visible_cases(request.user), flt)
        rows = village_rates(cases, village_prefix=_village_prefix(request.user), on=flt.until)
        props = [
            {
                "code": r.code,
                "name": r.name,
                "township_code": r.township_code,
                "cases": r.cases,
                "households": r.households,
                "rate_per_100": r.rate_per_100,
                "eb_rate_per_100": r.eb_rate_per_100,
            }
            for r in rows
        ]
        meta = {"method": "global Empirical Bayes (Marshall 1991), cases per 100 households; repeats count once"}
        if fmt == "json":
            return Response({**meta, "villages": props})
        # The outlines as GeoJSON text from PostGIS, simplified to ~5 m and to 5 decimals (~1 m): a rate
        # map needs no finer line, and GEOS's full-precision text of every vertex made this layer 228 KB
        # of the planner's first view, now 143 KB (bench/README.md); the text is spliced, not parsed and dumped again.
        simplified = Func(
            "geom", Value(SIMPLIFY_DEG), function="ST_SimplifyPreserveTopology", output_field=GeometryField()
        )
        outline = AsGeoJSON(simplified, precision=5)
        shapes = dict(
            Village.objects.in_force(flt.until).filter(code__in=[r.code for r in rows]).values_list("code", outline)
        )
        features = ",".join(
            f'{{"type":"Feature","id":{json.dumps(p["code"])},"geometry":{shapes[p["code"]]},'
            f'"properties":{json.dumps(p, ensure_ascii=False, separators=(",", ":"))}}}'
            for p in props
            if p["code"] in shapes
        )
        return _collection({"type": "FeatureCollection", **meta}, "[" + features + "]")


class ClusterView(APIView):
    def get(self, request: Request) -> HttpResponse:
        query = request.query_params
        flt = _filter(query, township=True)
        eps = params.number(query, "eps_m", low=EPS_RANGE_M[0], high=EPS_RANGE_M[1], required=False)
        try:
            cluster_params = ClusterParams(
                eps_m=DEFAULT_EPS_M if eps is None else eps,
                min_points=_integer(query, "min_points", DEFAULT_MIN_POINTS, *MIN_POINTS_RANGE),
            )
        except ClusterParameterError as exc:
            raise ValidationError({exc.field: exc.message}) from None
        members = _flag(query, "members", default=True)
        cases = filter_cases(visible_cases(request.user), flt)
        # Hulls are drawn around coarse points for whoever may not see every exact point (planners).
        result = clusters(cases, cluster_params, members=members, coarse=not reads_all_case_text(request.user))
        head = {
            "type": "FeatureCollection",
            "eps_m": cluster_params.eps_m,
            "min_points": cluster_params.min_points,
            "partition": PARTITION,
            "n_cases": result.n_cases,
            "n_clustered": result.n_clustered,
            "n_noise": result.n_noise,
        }
        return _collection(head, result.features_json)


class GroupProposalListView(APIView):
    def get(self, request: Request) -> Response:
        found = visible_proposals(request.user)
        return Response({"count": len(found), "results": [_proposal_dict(p) for p in found]})


class GroupProposalDecisionView(APIView):
    decision = "reject"

    def post(self, request: Request, pk: str) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        note = data.get("note", "")
        title = data.get("title", "")
        if not isinstance(note, str) or not isinstance(title, str):
            raise ValidationError({"note" if not isinstance(note, str) else "title": "must be text"})
        try:
            if self.decision == "confirm":
                group = confirm(pk, request.user, title=title, note=note)
                return Response({"status": "confirmed", "group": group.pk, "title": group.title})
            reject(pk, request.user, note=note)
            return Response({"status": "rejected"})
        except ProposalError as exc:
            if exc.status == 404:
                raise NotFound(exc.message) from None
            if exc.status == 403:
                raise PermissionDenied(exc.message) from None
            return Response({"detail": exc.message}, status=exc.status)


def _hex_feature(cell) -> str:
    """One hexagon as GeoJSON text; its geometry is already GeoJSON from PostGIS."""
    props = json.dumps(
        {
            "count": cell.count,
            "gi_z": cell.gi_z,
            "gi_p": cell.gi_p,
            "class": cell.cls,
            "center_4546": [round(cell.x, 3), round(cell.y, 3)],
        }
    )
    return f'{{"type":"Feature","id":"{cell.i}_{cell.j}","geometry":{cell.geometry},"properties":{props}}}'


def _proposal_dict(p) -> dict:
    return {
        "id": p.id,
        "category": p.category,
        "reasons": [{"code": r, "label": REASONS[r]} for r in p.reasons],
        "extends_group": p.extends_group,
        "cases": [
            {
                "reference": c.reference,
                "status": c.status,
                "village_code": c.village_code,
                "received_at": c.received_at.isoformat(),
                "group": c.group_id,
            }
            for c in proposal_cases(p)
        ],
    }


def _integer(query, name: str, default: int, low: int, high: int) -> int:
    """An integer in [low, high] (ASCII digits, through params.integer); beyond `high` is refused, not clipped."""
    value = params.integer(query, name, default=default, low=low)
    if value > high:
        raise ValidationError({name: f"应为 {low}–{high} 的整数 / expected an integer between {low} and {high}"})
    return value


def _collection(head: dict, features_json: str) -> HttpResponse:
    """A FeatureCollection of `head`'s members and the features' JSON text, spliced (never re-parsed)."""
    text = json.dumps(head, ensure_ascii=False)[:-1] + ',"features":' + features_json + "}"
    return HttpResponse(text, content_type=GEOJSON)


_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def _flag(query, name: str, *, default: bool) -> bool:
    """A yes/no parameter: true/1/yes or false/0/no (any case); absent or empty gives `default`."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ValidationError({name: f"expected true or false / 应为 true 或 false: {raw!r}"})


def _village_prefix(user) -> str:
    """Which villages a rate table lists: those of the user's area (their banner's, or city's, for banner-wide
    roles: a village code begins with its banner's)."""
    profile = None if user.is_superuser else staff_profile(user)
    if profile is None:
        return ""
    if not profile.scope_code:
        return profile.banner_code.strip()
    return profile.scope_code.split("-")[0]


class ConfirmProposalView(GroupProposalDecisionView):
    decision = "confirm"


class RejectProposalView(GroupProposalDecisionView):
    decision = "reject"
