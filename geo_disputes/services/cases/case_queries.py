"""Filtering and labelling case querysets for lists, maps and exports (after access has narrowed them)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass

from django.contrib.gis.geos import Polygon
from django.db.models import CharField, F, Func, QuerySet, TextField, Value
from django.db.models.functions import Coalesce, Left

from geo_disputes.models import Case
from geo_disputes.models.cases import CaseParcel, Category, Channel, PetitionKind, Status, Tier
from geo_disputes.services.cases.access import (
    _MINING_RELATED as MINING_RELATED,  # the mining court's subject, defined once
)
from geo_disputes.services.cases.access import (
    REDACTED_DESCRIPTION,
    case_text_filter,
    if_text_readable,
    location_as_seen,
    reads_all_case_text,
    text_filter_key,
    visible_cases,
)
from geo_disputes.services.cases.clock import OPEN_STATUSES, DueState, annotate_dues, local_today
from geo_disputes.services.cases.search import search_filter
from geo_disputes.services.geojson import COUNT_LIMIT, queryset_feature_collection

# The pseudo-status "open" selects every status the clock still runs for.
OPEN = "open"
# …and "done" every status it no longer runs for (the court map's "已办结" filter).
DONE = "done"

CASE_LIST_PROPERTIES = [
    "reference",
    "category",
    "category_label",
    "channel",
    "kind",
    "status",
    "status_label",
    "tier",
    "tier_label",
    "unit_name",
    "township_code",
    "village_code",
    "grid_code",
    "mining_area_code",
    "mining_relation",
    "households_affected",
    "received_at",
    "next_due",
    "due_state",
    "supervision",
    "summary",
    "version",
]
SUMMARY_CHARS = 120


@dataclass(frozen=True)
class CaseFilter:
    bbox: tuple[float, float, float, float] | None = None
    category: str | None = None
    status: str | None = None
    tier: str | None = None
    township: str | None = None
    village: str | None = None
    grid: str | None = None
    mining_area: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    mining: bool = False  # mining-related only: inside a mining area or its zone, or the mining court's
    parcel: str | None = None  # cases linked to the parcel with this code
    text: str | None = None  # the search box: reference, parcel code, description, petitioner (search.py)
    due: str | None = None  # "overdue" or "soon": the holder's next deadline passed / within DUE_SOON_DAYS


DUE_STATES = {"overdue": DueState.OVERDUE, "soon": DueState.DUE_SOON}


# How far a coarse point may lie from the exact one (500 m grid: at most ~354 m), in degrees here, with room.
COARSE_MARGIN_DEG = 0.01


def filter_cases(qs: QuerySet[Case], flt: CaseFilter, user=None) -> QuerySet[Case]:
    """Apply each given filter; dates are Asia/Shanghai calendar days, `until` inclusive.

    With `user`, the filters that place a case answer as `user` sees it (issue 12 item 6): the box holds the
    point they are shown (coarse unless they handle the case; else halving boxes would find the exact point),
    and `parcel` matches only cases whose parcels they may see (those they handle).
    """
    if flt.bbox is not None:
        qs = _in_box(qs, flt.bbox, user)
    if flt.category:
        qs = qs.filter(category=flt.category)
    if flt.status == OPEN:
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif flt.status == DONE:
        qs = qs.exclude(status__in=OPEN_STATUSES)
    elif flt.status:
        qs = qs.filter(status=flt.status)
    if flt.tier:
        qs = qs.filter(tier=flt.tier)
    if flt.township:
        qs = qs.filter(township_code=flt.township)
    if flt.village:
        qs = qs.filter(village_code=flt.village)
    if flt.grid:
        qs = qs.filter(grid_code=flt.grid)
    if flt.mining_area:
        qs = qs.filter(mining_area_code=flt.mining_area)
    if flt.since:
        qs = qs.filter(received_at__date__gte=flt.since)
    if flt.until:
        qs = qs.filter(received_at__date__lte=flt.until)
    if flt.mining:
        qs = qs.filter(MINING_RELATED)
    if flt.text:
        qs = qs.filter(search_filter(user, flt.text))
    if flt.parcel:
        qs = qs.filter(pk__in=CaseParcel.objects.filter(parcel__code=flt.parcel).values("case_id"))
        if user is not None:
            readable = case_text_filter(user)
            qs = qs.none() if readable is None else qs.filter(readable)
    return qs


def case_collection(user, qs: QuerySet[Case], page, *, exact: bool = False):
    """One page of `qs` (already narrowed to what `user` sees) as GeoJSON built by PostGIS, with its total:
    newest first, the point as the user may see it (exact only for those who handle the case), the list's
    properties, deadlines and labels computed for the page only. The JSON API's list and the OGC API's `cases`
    collection both answer with this, so the two never disagree."""
    today = local_today()
    return queryset_feature_collection(
        qs.order_by("-received_at", "-id"),
        geometry="shown_location",  # exact only for those who handle the case (access.location_as_seen)
        properties=CASE_LIST_PROPERTIES,
        page=page,
        count_limit=None if exact else COUNT_LIMIT,
        decorate=lambda page_rows: with_labels(annotate_dues(page_rows, today), user),  # the page only
        decorate_key=(text_filter_key(user), today),
    )


def listed_cases(user, flt: CaseFilter) -> QuerySet[Case]:
    """The case list as `user` sees it: visible, filtered, with each case's deadlines (clock.annotate_dues), and
    narrowed to a due state when asked (the dashboard's overdue figures and the menu's badge link here)."""
    qs = annotate_dues(filter_cases(visible_cases(user), flt, user))
    if flt.due in DUE_STATES:
        qs = qs.filter(due_state=DUE_STATES[flt.due])
    return qs


def _in_box(qs: QuerySet[Case], bbox: tuple[float, float, float, float], user) -> QuerySet[Case]:
    box = Polygon.from_bbox(bbox)
    if user is None or reads_all_case_text(user):
        return qs.filter(location__bboverlaps=box)
    minx, miny, maxx, maxy = bbox
    wider = Polygon.from_bbox(
        (minx - COARSE_MARGIN_DEG, miny - COARSE_MARGIN_DEG, maxx + COARSE_MARGIN_DEG, maxy + COARSE_MARGIN_DEG)
    )
    box.srid = wider.srid = 4326
    # The index narrows by the exact point (within the margin); the shown point decides.
    return (
        qs.filter(location__bboverlaps=wider)
        .alias(in_box_point=location_as_seen(user))
        .filter(in_box_point__intersects=box)
    )


def with_labels(qs: QuerySet[Case], user) -> QuerySet[Case]:
    """Chinese display labels, a short summary and the point to draw (`shown_location`), computed in SQL
    for GeoJSON lists; the summary and the exact point only where `user` may read the case's text."""
    return qs.annotate(
        category_label=_label("category", Category),
        status_label=_label("status", Status),
        tier_label=_label("tier", Tier),
        unit_name=Coalesce(F("unit__name"), Value(""), output_field=CharField()),
        summary=if_text_readable(user, Left("description", SUMMARY_CHARS), Value(REDACTED_DESCRIPTION), TextField()),
        shown_location=location_as_seen(user),
    )


CHOICES = {"category": Category, "status": Status, "tier": Tier, "channel": Channel, "kind": PetitionKind}


def _label(field: str, choices) -> Coalesce:
    """The Chinese label of `field`'s value ("" for a value not among `choices`), looked up in a JSON
    object sent as one parameter: a CASE of one WHEN per choice cost more to build and compile than the
    rest of a list's statement (bench/LOAD.md)."""
    labels = Func(
        Value(_labels_json(choices)),
        F(field),
        template="(%(expressions)s)",
        arg_joiner="::jsonb ->> ",
        output_field=CharField(),
    )
    return Coalesce(labels, Value(""), output_field=CharField())


@functools.cache
def _labels_json(choices) -> str:
    return json.dumps({str(value): str(label) for value, label in choices.choices}, ensure_ascii=False)
