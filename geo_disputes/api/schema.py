"""The API contract as OpenAPI 3 (drf-spectacular): parameters, bodies and answers of every endpoint.

Our views are plain APIViews that build GeoJSON in PostGIS, so there are no serializers for
drf-spectacular to read; the contract is written here, in one place, and attached to the
views with `extend_schema_view`. The fuzz test (tests/test_openapi_fuzz.py) drives every
operation from this schema, so a parameter missing here is a parameter never fuzzed.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view

from geo_disputes.models import FollowUp, SupervisionAct
from geo_disputes.models.cases import (
    AboveBanner,
    Category,
    Channel,
    Datum,
    LegalOutcome,
    OpinionOutcome,
    PetitionKind,
    PetitionRoute,
    Procedure,
    ReviewOutcome,
    Satisfaction,
    ServiceMethod,
    Status,
    Tier,
)
from geo_disputes.services.cases.routing import DEPARTMENTS
from geo_disputes.services.cases.workflow import Action
from geo_disputes.services.geojson import LAYERS

Q = OpenApiParameter.QUERY
PATH = OpenApiParameter.PATH


def _q(name: str, kind=OpenApiTypes.STR, description: str = "", required: bool = False, enum=None):
    return OpenApiParameter(name, kind, Q, required=required, description=description, enum=enum)


BBOX = _q("bbox", description="minlon,minlat,maxlon,maxlat (WGS84)")
PAGE = _q("page", OpenApiTypes.INT, "page number, from 1")
PAGE_SIZE = _q("page_size", OpenApiTypes.INT, "features per page (capped)")
ON = _q("on", OpenApiTypes.DATE, "boundaries in force on this date (default today)")
SINCE = _q("since", OpenApiTypes.DATE, "received on or after (Asia/Shanghai day)")
UNTIL = _q("until", OpenApiTypes.DATE, "received on or before (Asia/Shanghai day)")
TOWNSHIP = _q("township", description="township code (9 digits)")
VILLAGE = _q("village", description="village code (12 digits)")
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="optional, 1–255 visible ASCII characters (e.g. a UUID): a retry with the same key and body gets "
    "the first answer again (header `Idempotent-Replayed: true`), for 24 h; the same key with another body → 422",
)
CATEGORY = _q("category", enum=Category.values)

CASE_FILTERS = [
    BBOX,
    CATEGORY,
    _q("status", enum=[*Status.values, "open"]),
    _q("tier", enum=Tier.values),
    TOWNSHIP,
    VILLAGE,
    _q("grid", description="grid code"),
    _q("mining_area", description="mining area code"),
    _q("mining", enum=["1", "true", "0", "false"], description="1: mining-related cases only"),
    _q("parcel", description="parcel code: cases linked to that parcel"),
    SINCE,
    UNTIL,
]
STATUS = CASE_FILTERS[2]
TIER = CASE_FILTERS[3]

PROBLEM = OpenApiResponse(OpenApiTypes.OBJECT, description="the field named as key, with what is wrong")
GEOJSON = OpenApiResponse(
    {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "count": {"type": "integer"},
            "count_exact": {
                "type": "boolean",
                "description": "present and false when counting stopped at a limit: there are at least `count`",
            },
            "next": {"type": "string", "nullable": True},
            "previous": {"type": "string", "nullable": True},
            "features": {"type": "array", "items": {"type": "object"}},
        },
    },
    description="GeoJSON FeatureCollection (RFC 7946, WGS84) built by PostGIS",
)
OBJECT = OpenApiResponse(OpenApiTypes.OBJECT)
CASE_POINTS = OpenApiResponse(
    {
        "type": "object",
        "required": ["mode", "count", "zoom", "fields", "categories", "statuses", "points"],
        "properties": {
            "mode": {"type": "string", "enum": ["points", "cells"]},
            "count": {"type": "integer", "description": "cases in the box (in cell mode: the sum of the counts)"},
            "zoom": {"type": "number"},
            "fields": {"type": "array", "items": {"type": "string"}, "description": "what each row holds"},
            "categories": {"type": "array", "items": {"type": "string", "enum": Category.values}},
            "statuses": {"type": "array", "items": {"type": "string", "enum": Status.values}},
            "cell_deg": {"type": "array", "items": {"type": "number"}, "description": "cells: [dlon, dlat]"},
            "points": {"type": "array", "items": {"type": "array", "items": {}}},
        },
    },
    description="compact rows built by PostgreSQL",
)
DENIED = {401: OBJECT, 403: OBJECT}

PETITIONER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 50},
        "phone": {"type": "string", "maxLength": 20},
        "id_number": {"type": "string", "description": "18-character resident ID"},
        "representative": {
            "type": "boolean",
            "description": "a representative of a group visit (at most 5, 条例 Art. 20); others are members",
        },
    },
}
INTAKE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["category", "channel", "description"],
    "properties": {
        "category": {"type": "string", "enum": Category.values},
        "channel": {"type": "string", "enum": Channel.values},
        "kind": {"type": "string", "enum": PetitionKind.values},
        "description": {"type": "string", "maxLength": 5000},
        "lon": {"type": "number", "description": "longitude in `datum`; or give parcel_code"},
        "lat": {"type": "number"},
        "datum": {"type": "string", "enum": Datum.values},
        "accuracy_m": {"type": "number", "minimum": 0},
        "parcel_code": {"type": "string"},
        "households_affected": {"type": "integer", "minimum": 0, "maximum": 100000},
        "departments": {"type": "array", "items": {"type": "string", "enum": list(DEPARTMENTS)}},
        "legacy": {"type": "boolean"},
        "petitioners": {"type": "array", "items": PETITIONER},
        "received_at": {"type": "string", "format": "date-time"},
        "accused_unit": {"type": "string", "description": "code of the unit the petition accuses"},
        "accused_persons": {
            "type": "array",
            "maxItems": 20,
            "description": "officials an accusation names; one with a staff account is recused at once (Art. 30)",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "maxLength": 50},
                    "position": {"type": "string", "maxLength": 100},
                    "unit": {"type": "string", "description": "code of the official's unit"},
                    "user": {"type": "string", "description": "the official's staff account (username)"},
                },
            },
        },
        "group": {
            "type": "integer",
            "description": "id of the case group this petition joins: one in your scope, of the same category "
            "(else 400 naming `group`, as for a missing one)",
        },
        "procedure": {
            "type": "string",
            "enum": Procedure.values,
            "description": "chosen explicitly; otherwise from kind, channel and the routing rule",
        },
        "forwarded_by": {
            "type": "string",
            "description": "code of the unit that forwarded or assigned the matter (e.g. BD-petitions); "
            "the holder may object within 5 working days of received_at",
        },
        "above_banner": {"type": "string", "enum": AboveBanner.values, "description": "赴市/赴区/进京/上级交办"},
    },
}
RECUSAL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["user", "ground", "reason"],
    "properties": {
        "user": {"type": "string", "description": "username of the staff account to keep off the case"},
        "ground": {"type": "string", "enum": ["accused", "interest"]},
        "reason": {"type": "string", "maxLength": 500},
    },
}

TRANSITION = {
    "type": "object",
    "required": ["action"],
    "properties": {
        "action": {"type": "string", "enum": [a.value for a in Action]},
        "version": {"type": "integer", "description": "the version you saw; a stale one is refused with 409"},
        "reason": {"type": "string"},
        "unit": {"type": "string"},
        "person": {"type": "string"},
        "days": {"type": "integer", "minimum": 1, "maximum": 30},
        "approved_by": {"type": "string", "description": "extend: the head who approved it (Art. 34)"},
        "told_at": {"type": "string", "format": "date", "description": "extend: the day the petitioner was told"},
        "plan": {"type": "string"},
        "deadline": {"type": "string", "format": "date"},
        "route": {"type": "string", "enum": PetitionRoute.values, "description": "route: Art. 31 items 1–6"},
        "body": {"type": "string", "description": "route/file/pre_mediate: the court or body"},
        "outcome": {
            "type": "string",
            "enum": sorted({*OpinionOutcome.values, *ReviewOutcome.values, *LegalOutcome.values}),
            "description": "opinion: support/explain/not_support; review_decision: uphold/change/revoke; "
            "conclude: mediated/judged/withdrawn/decided",
        },
        "text": {"type": "string", "description": "the written opinion, decision or agreement"},
        "served_at": {"type": "string", "description": "serve: date or date-time the reply reached the petitioner"},
        "method": {
            "type": "string",
            "enum": sorted({*ServiceMethod.values, *FollowUp.Method.values}),
            "description": "serve: in_person/post/electronic/notice; follow_up: phone/visit/sms/letter/online",
        },
        "consent_by": {"type": "string", "description": "object: who at the forwarding body agreed"},
        "decided_by": {"type": "string", "description": "lead: 'agreed', or the common superior who decided"},
        "satisfaction": {"type": "string", "enum": Satisfaction.values},
        "unreachable": {"type": "boolean"},
        "deputies_reviewed": {
            "type": "boolean",
            "description": "session/follow_up: people's congress deputies took part",
        },
        "by": {"type": "string", "description": "follow_up: who asked the petitioner (not the handler)"},
        "at": {"type": "string", "description": "date or date-time of a session, follow-up or court step"},
        "kind": {"type": "string", "enum": SupervisionAct.Kind.values},
        "mediators": {"type": "string"},
        "agreement_at": {"type": "string", "format": "date"},
        "court": {"type": "string"},
        "number": {"type": "string"},
        "applied_at": {"type": "string", "format": "date"},
        "ruled_at": {"type": "string", "format": "date"},
        "filed_at": {"type": "string", "format": "date"},
    },
}


def document(views: dict[str, type]) -> None:
    """Attach the contract to the API views (called once from the URL module)."""
    for name, decorator in CONTRACT.items():
        if name in views:
            decorator(views[name])


CONTRACT = {
    "LocateView": extend_schema_view(
        get=extend_schema(
            summary="Where is this? township, village, grid + worker, mining areas, parcels at a point",
            parameters=[
                _q("lon", OpenApiTypes.DOUBLE, "longitude", required=True),
                _q("lat", OpenApiTypes.DOUBLE, "latitude", required=True),
                _q("datum", description="datum of lon/lat; GCJ-02 is converted first", enum=Datum.values),
                ON,
            ],
            responses={200: OBJECT, 400: PROBLEM, 404: OpenApiResponse(description="outside the banner"), **DENIED},
        )
    ),
    "OfflinePackView": extend_schema_view(
        get=extend_schema(
            summary="The offline area pack: your own villages' outlines, grids and parcels (no holders), with ETag",
            parameters=[
                _q("village", description="a 12-digit village code: required for banner-wide roles, else one of yours"),
            ],
            responses={
                200: OBJECT,
                304: OpenApiResponse(description="unchanged (If-None-Match)"),
                400: PROBLEM,
                **DENIED,
            },
        )
    ),
    "LayerView": extend_schema_view(
        get=extend_schema(
            summary="An area layer as GeoJSON (bbox, paginated)",
            parameters=[
                OpenApiParameter("layer", OpenApiTypes.STR, PATH, enum=list(LAYERS)),
                BBOX,
                PAGE,
                PAGE_SIZE,
                ON,
            ],
            responses={200: GEOJSON, 400: PROBLEM, 404: OBJECT, **DENIED},
        )
    ),
    "ParcelView": extend_schema_view(
        get=extend_schema(
            summary="A parcel by code, with its village, grid and mining context; holder as your role may see it",
            parameters=[OpenApiParameter("code", OpenApiTypes.STR, PATH), ON],
            responses={200: OBJECT, 400: PROBLEM, 404: OBJECT, **DENIED},
        )
    ),
    "ParcelSearchView": extend_schema_view(
        get=extend_schema(
            operation_id="api_parcels_search",
            summary="Parcels by holder name (roles that may see holders unmasked; in scope; each view recorded)",
            parameters=[_q("holder", description="at least 2 characters of the holder's name", required=True), ON],
            responses={200: OBJECT, 400: PROBLEM, **DENIED},
        )
    ),
    "CaseListView": extend_schema_view(
        get=extend_schema(
            operation_id="api_cases_list",
            summary="Cases you may see, as GeoJSON points",
            parameters=[
                *CASE_FILTERS,
                PAGE,
                PAGE_SIZE,
                _q(
                    "count",
                    enum=["limited", "exact"],
                    description="`limited` (default) counts up to 10,000 matches or the end of the page, "
                    "then says `count_exact: false`; `exact` counts them all",
                ),
            ],
            responses={200: GEOJSON, 400: PROBLEM, **DENIED},
        ),
        post=extend_schema(
            summary="Intake (说事): record a case where it happens; it is located, numbered and routed",
            parameters=[IDEMPOTENCY_KEY],
            request={"application/json": INTAKE},
            responses={201: OBJECT, 400: PROBLEM, 422: OBJECT, **DENIED},
        ),
    ),
    "CasePointsView": extend_schema_view(
        get=extend_schema(
            operation_id="api_case_points",
            summary="Cases you may see (the filters of /api/cases/) as compact map points, or counts per grid cell",
            description=(
                "At most `max_points` cases in the box: `mode` = `points`, one row per case "
                "[reference, lon, lat, category, status] (category and status as indexes into `categories` and "
                "`statuses`; the popup asks /api/cases/<reference>/). More: `mode` = `cells`, one row per grid cell "
                "of about 48 screen pixels at `zoom` [lon, lat, count, category] (centroid of its cases, how many, "
                "the most frequent category); the counts add up to `count`."
            ),
            parameters=[
                *CASE_FILTERS,
                _q(
                    "zoom", OpenApiTypes.DOUBLE, "map zoom (0..22) that sets the cell size; default from the bbox width"
                ),
                _q(
                    "max_points",
                    OpenApiTypes.INT,
                    "single points up to this many cases in the box (1..5000, default 5000)",
                ),
            ],
            responses={200: CASE_POINTS, 400: PROBLEM, **DENIED},
        )
    ),
    "CaseDetailView": extend_schema_view(
        get=extend_schema(
            summary="One case: history, why this tier, deadlines, petitioners as your role may see them",
            parameters=[
                OpenApiParameter("reference", OpenApiTypes.STR, PATH),
                _q(
                    "personal",
                    enum=["1", "0"],
                    description="0 leaves out petitioners and parcel holders (null), and records no view of them",
                ),
            ],
            responses={200: OBJECT, 400: PROBLEM, 404: OBJECT, **DENIED},
        )
    ),
    "CaseTransitionView": extend_schema_view(
        post=extend_schema(
            summary="Move a case along the five matters",
            parameters=[OpenApiParameter("reference", OpenApiTypes.STR, PATH), IDEMPOTENCY_KEY],
            request={"application/json": TRANSITION},
            responses={200: OBJECT, 400: PROBLEM, 404: OBJECT, 409: OBJECT, 422: OBJECT, **DENIED},
        )
    ),
    "CaseRecusalView": extend_schema_view(
        post=extend_schema(
            summary="Recuse a staff account from a case (回避, Art. 28): oneself, or anyone when one decides the case",
            parameters=[OpenApiParameter("reference", OpenApiTypes.STR, PATH)],
            request={"application/json": RECUSAL},
            responses={201: OBJECT, 400: PROBLEM, 404: OBJECT, **DENIED},
        )
    ),
    "StatsView": extend_schema_view(
        get=extend_schema(
            summary="Indicators (小事不出村、大事不出镇、矛盾不上交 …) with their definitions",
            parameters=[SINCE, UNTIL, TOWNSHIP, VILLAGE],
            responses={200: OBJECT, 400: PROBLEM, **DENIED},
        )
    ),
    "HotSpotView": extend_schema_view(
        get=extend_schema(
            summary="Getis-Ord Gi* hot spots on hexagons, FDR-corrected, with the parameters used",
            parameters=[CATEGORY, STATUS, TIER, SINCE, UNTIL, TOWNSHIP],
            responses={200: GEOJSON, 400: PROBLEM, 422: OBJECT, **DENIED},
        )
    ),
    "EmergingHotSpotView": extend_schema_view(
        get=extend_schema(
            summary="Emerging hot spots: each hexagon's space-time Gi* per step, Mann-Kendall trend and one of "
            "Esri's 17 categories",
            parameters=[
                _q("step", enum=["month", "quarter", "year"], description="time step of the cube (default month)"),
                _q("time_steps", OpenApiTypes.INT, "previous steps in each bin's neighbourhood, 0-12 (default 1)"),
                CATEGORY,
                STATUS,
                TIER,
                SINCE,
                UNTIL,
                TOWNSHIP,
            ],
            responses={200: GEOJSON, 400: PROBLEM, 422: OBJECT, **DENIED},
        )
    ),
    "VillageRateView": extend_schema_view(
        get=extend_schema(
            summary="Cases per 100 households by village, with Empirical Bayes smoothing",
            parameters=[SINCE, UNTIL, CATEGORY, _q("output", enum=["json", "geojson"])],
            responses={200: OBJECT, 400: PROBLEM, **DENIED},
        )
    ),
    "ClusterView": extend_schema_view(
        get=extend_schema(
            summary="DBSCAN clusters of cases in metres (EPSG:4546)",
            parameters=[
                _q("eps_m", OpenApiTypes.DOUBLE, "neighbourhood radius in metres (1..50000)"),
                _q("min_points", OpenApiTypes.INT, "minimum points of a core (2..1000)"),
                _q("members", OpenApiTypes.BOOL, "each cluster's case references (default true; false/0/no omits)"),
                CATEGORY,
                STATUS,
                TIER,
                TOWNSHIP,
                SINCE,
                UNTIL,
            ],
            responses={200: GEOJSON, 400: PROBLEM, **DENIED},
        )
    ),
    "GroupProposalListView": extend_schema_view(
        get=extend_schema(summary="Proposed case groups in your scope", responses={200: OBJECT, **DENIED})
    ),
    "ConfirmProposalView": extend_schema_view(
        post=extend_schema(
            summary="Confirm a proposed case group",
            request=None,
            responses={200: OBJECT, 404: OBJECT, 409: OBJECT, **DENIED},
        )
    ),
    "RejectProposalView": extend_schema_view(
        post=extend_schema(
            summary="Reject a proposed case group (it is not proposed again)",
            request=None,
            responses={200: OBJECT, 404: OBJECT, 409: OBJECT, **DENIED},
        )
    ),
    "MiningParcelsView": extend_schema_view(
        get=extend_schema(
            summary="Parcels that intersect mining areas (court map layer), GeoJSON by bbox",
            parameters=[BBOX, PAGE, PAGE_SIZE, ON],
            responses={200: GEOJSON, 400: PROBLEM, **DENIED},
        )
    ),
}
