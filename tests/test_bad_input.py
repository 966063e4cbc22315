"""Bad input gets a clear error and changes nothing (issue 6).

A table per write endpoint and command: malformed and non-object JSON, wrong types for each
field, missing fields, NaN/Infinity, swapped or out-of-banner coordinates, oversized text and
payloads, unknown codes, injection strings, stale versions; GET filters with injection, unicode
and very long values; the intake and action forms; `import_areas` with invalid, empty and
enormous geometries, wrong encodings and path tricks; `add_staff`, `restore`, `tick`, `link_cases`.

Every input must give a 4xx (or a CommandError) whose message names the field, row or file at
fault, and a fingerprint of every table a request or command could write (row count + md5 of the
rows) must be the same before and after. Each table below registers its inputs in BAD_INPUTS;
`test_every_endpoint_was_tried_with_enough_bad_inputs` asserts a floor per endpoint and prints
the counts (`pytest tests/test_bad_input.py -k enough -s`).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
import tarfile
import time
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from geo_disputes.models import Banner, Case, CaseGroup, Party, Unit
from geo_disputes.services.cases.proposals import proposals
from geo_disputes.services.ops.backup import connection_args

from .factories import CaseFactory, MiningAreaFactory, ParcelFactory, StaffFactory, box, intake_body, seed_places

pytestmark = pytest.mark.django_db

# Tables a request or command could write to; each is fingerprinted before and after.
TABLES = [
    "geo_disputes_case",
    "geo_disputes_caseevent",
    "geo_disputes_party",
    "geo_disputes_caseparcel",
    "geo_disputes_casegroup",
    "geo_disputes_case_partner_units",
    "geo_disputes_groupproposal",
    "geo_disputes_personaldataaccess",
    "geo_disputes_banner",
    "geo_disputes_township",
    "geo_disputes_village",
    "geo_disputes_grid",
    "geo_disputes_miningarea",
    "geo_disputes_parcel",
    "geo_disputes_unit",
    "geo_disputes_staffprofile",
    "auth_user",
    "geo_disputes_apitoken",
]

BAD_INPUTS: Counter[str] = Counter()
# The floor per endpoint; the suite fails if a table shrinks below it.
MINIMUM = {
    "POST /api/cases/": 100,
    "POST /api/cases/<ref>/transitions/": 40,
    "POST /api/group-proposals/<id>/confirm|reject/": 8,
    "GET /api/cases/": 30,
    "GET /api/layers/<layer>/": 15,
    "GET /api/stats/": 10,
    "GET /api/hotspots/": 8,
    "GET /api/emerging-hotspots/": 16,
    "GET /api/clusters/": 10,
    "GET /api/village-rates/": 4,
    "GET /api/locate/": 15,
    "POST /cases/new/ (intake form)": 20,
    "POST /cases/<ref>/actions/ (action form)": 10,
    "import_areas": 20,
    "import_case": 17,
    "add_staff": 8,
    "restore": 6,
    "tick / link_cases": 4,
    "GET /api/case-points/ and /maps/features/mining-parcels/": 6,
    "paths with %00": 7,
    "GET /queues/, /agenda/": 6,
    "GET HTML pages (fuzz)": 100,
    "DELETE a user who edited a routing rule": 1,
}

# Digits Python's int() reads (or str.isdigit() passes) that are not ASCII: fullwidth, Arabic-Indic, superscript.
NON_ASCII_DIGITS = ["１２", "٣", "²"]
CALENDAR_ENDS = ["0001-01-01", "9999-12-31"]

INJECTIONS = [
    "' OR 1=1 --",
    "1);DROP TABLE geo_disputes_case;--",
    '" OR ""="',
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "../../../../etc/passwd",
    "%27%20OR%201%3D1",
    "准格尔旗' UNION SELECT holder_name FROM geo_disputes_parcel --",
    "\u202eevil",
]
LONG = "码" * 10_000


def table(endpoint: str, entries: list[tuple]) -> list:
    """Register a table's inputs under `endpoint` and turn them into pytest params (first item = id)."""
    ids = [entry[0] for entry in entries]
    assert len(ids) == len(set(ids)), f"duplicate ids in {endpoint}"
    BAD_INPUTS[endpoint] += len(entries)
    return [pytest.param(*entry[1:], id=entry[0]) for entry in entries]


def fingerprint() -> dict[str, tuple[int, str]]:
    out = {}
    with connection.cursor() as cursor:
        for name in TABLES:
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {name} t"
            )
            out[name] = cursor.fetchone()
    return out


def changed(before: dict, after: dict) -> dict:
    return {name: (before[name], after[name]) for name in before if before[name] != after[name]}


# --- the world the requests run in ---------------------------------------------------------------------------------

SHUANGAOBAO = (111.05, 39.55)  # 魏家峁镇 双敖包村, inside the test banner
PARCEL = "150622106202JD00001"


@pytest.fixture
def world(db):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    MiningAreaFactory(code="KQ-01", name="哈尔乌素露天煤矿", geom=box(111.22, 39.82, 111.28, 39.88))
    ParcelFactory(code=PARCEL, geom=box(111.04, 39.54, 111.06, 39.56))
    group = CaseGroup.objects.create(title="苏计沟村房屋开裂", category="mining_subsidence")
    unit = Unit.objects.get(code="VC-150622106202")
    accepted = CaseFactory(
        status="accepted",
        accepted_at=timezone.now(),
        unit=unit,
        village_code="150622106202",
        township_code="150622106",
        location=Point(*SHUANGAOBAO, srid=4326),
    )
    reported = CaseFactory(unit=unit, village_code="150622106202", township_code="150622106")
    admin = StaffFactory(role="banner_admin").user
    api = APIClient()
    api.force_authenticate(admin)
    web = Client()
    web.force_login(admin)
    return {"api": api, "web": web, "admin": admin, "accepted": accepted, "reported": reported, "group": group}


def assert_4xx_naming(response, field: str | None, detail: str | None = None) -> None:
    """A client error whose JSON names `field` (a key) or whose detail contains `detail`."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    body = response.json()
    text = json.dumps(body, ensure_ascii=False)
    if field is not None:
        assert field in body, f"{field!r} not named in {text[:500]}"
        assert body[field], text[:500]
    if detail is not None:
        assert detail.lower() in text.lower(), f"{detail!r} not in {text[:500]}"


# --- POST /api/cases/ ----------------------------------------------------------------------------------------------

VALID_CASE = intake_body()
DROP = object()  # an override that removes the field


class Raw:
    """A request body sent as-is, with its content type."""

    def __init__(self, body: bytes | str, content_type: str = "application/json"):
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = content_type


def body_with(**overrides) -> dict:
    body = json.loads(json.dumps(VALID_CASE))
    for key, value in overrides.items():
        if value is DROP:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def petitioner(**fields) -> list[dict]:
    return [{"name": "王建国", "phone": "13912345678", "id_number": "150622197001010011", **fields}]


def _json_text(**overrides) -> str:
    return json.dumps(body_with(**overrides), ensure_ascii=False)


_CASE_TYPES = [
    # (field, wrong value) — one or more wrong JSON types per field
    ("category", 1),
    ("category", ["land_occupation"]),
    ("category", {"code": "land_occupation"}),
    ("category", True),
    ("channel", 3.5),
    ("channel", ["talk_room"]),
    ("kind", {"a": 1}),
    ("kind", 0),
    ("description", 5),
    ("description", ["8亩"]),
    ("description", {"text": "8亩"}),
    ("lon", "abc"),
    ("lon", True),
    ("lon", [111.05]),
    ("lon", {"value": 111.05}),
    ("lat", "north"),
    ("lat", False),
    ("lat", [39.55]),
    ("datum", 4326),
    ("datum", ["wgs84"]),
    ("accuracy_m", "ten metres"),
    ("accuracy_m", [5]),
    ("accuracy_m", True),
    ("parcel_code", 150622106202),
    ("parcel_code", [PARCEL]),
    ("households_affected", "3"),
    ("households_affected", 1.5),
    ("households_affected", True),
    ("households_affected", [3]),
    ("departments", "water"),
    ("departments", [1, 2]),
    ("departments", {"water": True}),
    ("legacy", "yes"),
    ("legacy", 1),
    ("legacy", "false"),
    ("petitioners", {"name": "王建国"}),
    ("petitioners", ["王建国"]),
    ("petitioners", "王建国"),
    ("received_at", 20240101),
    ("received_at", "yesterday"),
    ("received_at", ["2024-01-01T00:00:00"]),
    ("accused_unit", 7),
    ("accused_unit", ["BD-water"]),
    ("group", "1"),
    ("group", 1.5),
    ("group", True),
]
_CASE_VALUES = [
    # (id, overrides, field the error must name)
    ("missing-category", {"category": DROP}, "category"),
    ("missing-channel", {"channel": DROP}, "channel"),
    ("missing-description", {"description": DROP}, "description"),
    ("missing-location", {"lon": DROP, "lat": DROP}, "lon"),
    ("missing-lat", {"lat": DROP}, "lat"),
    ("missing-lon", {"lon": DROP}, "lon"),
    ("null-category", {"category": None}, "category"),
    ("blank-description", {"description": "   \n\t "}, "description"),
    ("empty-lon-and-lat", {"lon": "", "lat": ""}, "lon"),
    ("lon-NaN-string", {"lon": "NaN"}, "lon"),
    ("lon-nan-string", {"lon": "nan"}, "lon"),
    ("lat-Infinity-string", {"lat": "Infinity"}, "lat"),
    ("lon-minus-inf-string", {"lon": "-inf"}, "lon"),
    ("lat-1e400-string", {"lat": "1e400"}, "lat"),
    ("accuracy-NaN-string", {"accuracy_m": "NaN"}, "accuracy_m"),
    ("accuracy-inf-string", {"accuracy_m": "Infinity"}, "accuracy_m"),
    ("lon-lat-swapped", {"lon": SHUANGAOBAO[1], "lat": SHUANGAOBAO[0]}, "lat"),
    ("lat-111", {"lat": 111.0}, "lat"),
    ("lon-181", {"lon": 181.0}, "lon"),
    ("lon-minus-181", {"lon": -181}, "lon"),
    ("lat-minus-91", {"lat": -90.0000001}, "lat"),
    ("outside-banner-beijing", {"lon": 116.397, "lat": 39.909}, "lon"),
    ("outside-banner-null-island", {"lon": 0, "lat": 0}, "lon"),
    ("outside-banner-mirror", {"lon": -SHUANGAOBAO[0], "lat": -SHUANGAOBAO[1]}, "lon"),
    ("outside-banner-by-a-hair", {"lon": 111.5000001, "lat": 39.9}, "lon"),
    ("outside-banner-gcj02-far", {"lon": 120.0, "lat": 30.0, "datum": "gcj02"}, "lon"),
    ("outside-banner-30-decimals", {"lon": "116.397000000000000000000000000001", "lat": 39.909}, "lon"),
    ("lat-90-and-a-hair-30-decimals", {"lat": "90.000000000000000000000000000001"}, "lon"),  # = 90.0: outside
    ("description-over-limit", {"description": "占" * 5001}, "description"),
    ("description-1mb", {"description": "x" * 1_000_000}, "description"),
    ("description-nul", {"description": "草地\x00被占"}, "description"),
    ("category-unknown", {"category": "witchcraft"}, "category"),
    ("category-label-not-code", {"category": "土地占用"}, "category"),
    ("channel-unknown", {"channel": "carrier_pigeon"}, "channel"),
    ("kind-unknown", {"kind": "complaint"}, "kind"),
    ("datum-unknown", {"datum": "bd09"}, "datum"),
    ("datum-epsg-code", {"datum": "EPSG:4326"}, "datum"),
    ("department-unknown", {"departments": ["police"]}, "departments"),
    ("department-one-bad-of-two", {"departments": ["water", "ministry_of_magic"]}, "departments"),
    ("parcel-code-unknown", {"lon": DROP, "lat": DROP, "parcel_code": "150622999999JD99999"}, "parcel_code"),
    ("parcel-code-unknown-with-point", {"parcel_code": "150622106202JD99999"}, "parcel_code"),
    ("parcel-code-long", {"parcel_code": LONG}, "parcel_code"),
    ("parcel-code-nul", {"parcel_code": "1506\x00"}, "parcel_code"),
    ("accused-unit-unknown", {"accused_unit": "BD-nope"}, "accused_unit"),
    ("accused-unit-long", {"accused_unit": LONG}, "accused_unit"),
    ("group-unknown", {"group": 999_999_999}, "group"),
    ("group-beyond-bigint", {"group": 2**70}, "group"),
    ("group-negative", {"group": -1}, "group"),
    ("households-negative", {"households_affected": -1}, "households_affected"),
    ("households-huge", {"households_affected": 100_001}, "households_affected"),
    ("households-beyond-bigint", {"households_affected": 2**70}, "households_affected"),
    ("accuracy-negative", {"accuracy_m": -1}, "accuracy_m"),
    ("received-in-the-future", {"received_at": "2999-01-01T00:00:00+08:00"}, "received_at"),
    ("received-at-month-13", {"received_at": "2024-13-45T10:00:00"}, "received_at"),
    ("received-at-feb-30", {"received_at": "2024-02-30T10:00:00+08:00"}, "received_at"),
    ("received-at-year-1", {"received_at": "0001-01-01T00:00:00+08:00"}, "received_at"),
    ("received-at-nul", {"received_at": "2024-01-01\x00"}, "received_at"),
    ("unknown-field", {"reference": "ZGE-2024-00001"}, "reference"),
    ("unknown-field-status", {"status": "closed"}, "status"),
    ("unknown-field-tier", {"tier": "banner"}, "tier"),
    ("too-many-petitioners", {"petitioners": petitioner() * 201}, "petitioners"),
    ("petitioner-unknown-field", {"petitioners": petitioner(nick="老王")}, "petitioners[0].nick"),
    ("petitioner-name-missing", {"petitioners": [{"phone": "13912345678"}]}, "petitioners[0].name"),
    ("petitioner-name-blank", {"petitioners": petitioner(name="  ")}, "petitioners[0].name"),
    ("petitioner-name-51", {"petitioners": petitioner(name="王" * 51)}, "petitioners[0].name"),
    ("petitioner-name-type", {"petitioners": petitioner(name=1)}, "petitioners[0].name"),
    ("petitioner-name-nul", {"petitioners": petitioner(name="王\x00某")}, "petitioners[0].name"),
    ("petitioner-phone-21", {"petitioners": petitioner(phone="1" * 21)}, "petitioners[0].phone"),
    ("petitioner-phone-nul", {"petitioners": petitioner(phone="139\x00")}, "petitioners[0].phone"),
    ("petitioner-id-17", {"petitioners": petitioner(id_number="15062219700101001")}, "petitioners[0].id_number"),
    ("petitioner-id-letters", {"petitioners": petitioner(id_number="15062219700101001Y")}, "petitioners[0].id_number"),
    ("petitioner-id-nul", {"petitioners": petitioner(id_number="150622197001010\x0011")}, "petitioners[0].id_number"),
    ("petitioner-second-bad", {"petitioners": [*petitioner(), {"name": ""}]}, "petitioners[1].name"),
]
_CASE_INJECTIONS = [
    (f"{field}-injection-{i}", {field: value}, field)
    for field in ("category", "channel", "kind", "datum", "parcel_code", "accused_unit", "received_at")
    for i, value in enumerate(INJECTIONS)
] + [(f"departments-injection-{i}", {"departments": [value]}, "departments") for i, value in enumerate(INJECTIONS)]
_CASE_RAW = [
    # (id, body, field or None, substring of the message)
    ("malformed-brace", Raw("{"), None, "JSON parse error"),
    ("malformed-missing-value", Raw('{"category": }'), None, "JSON parse error"),
    ("malformed-single-quotes", Raw("{'category': 'land_occupation'}"), None, "JSON parse error"),
    ("malformed-trailing-comma", Raw(_json_text()[:-1] + ",}"), None, "JSON parse error"),
    ("malformed-truncated", Raw(_json_text()[:40]), None, "JSON parse error"),
    ("malformed-not-utf8", Raw(b'{"description": "\xff\xfe\xb2\xdd"}'), None, "JSON parse error"),
    ("malformed-gbk-bytes", Raw(_json_text().encode("gbk")), None, "JSON parse error"),
    ("malformed-empty-object-key", Raw('{"": 1}'), "", None),
    ("nan-token", Raw(_json_text().replace('"lon": 111.05', '"lon": NaN')), None, "JSON parse error"),
    ("infinity-token", Raw(_json_text().replace('"lat": 39.55', '"lat": Infinity')), None, "JSON parse error"),
    ("minus-infinity-token", Raw(_json_text().replace('"lon": 111.05', '"lon": -Infinity')), None, "JSON parse error"),
    ("number-5000-digits", Raw(_json_text().replace('"lon": 111.05', '"lon": 1' + "0" * 5000)), None, "JSON parse"),
    ("number-1e400", Raw(_json_text().replace('"lat": 39.55', '"lat": 1e400')), "lat", None),
    ("households-1e400", Raw(_json_text(households_affected="N").replace('"N"', "1e400")), "households_affected", None),
    ("accuracy-minus-1e400", Raw(_json_text(accuracy_m="N").replace('"N"', "-1e400")), "accuracy_m", None),
    ("description-surrogate", Raw(_json_text(description="S").replace('"S"', '"草地\\ud800"')), "description", None),
    ("accused-unit-surrogate", Raw(_json_text(accused_unit="S").replace('"S"', '"\\udfff"')), "accused_unit", None),
    ("forwarded-by-surrogate", Raw(_json_text(forwarded_by="S").replace('"S"', '"\\ud800"')), "forwarded_by", None),
    (
        "petitioner-name-lone-surrogate",
        Raw(_json_text(petitioners=petitioner(name="S")).replace('"S"', '"王\\ud800"')),
        "petitioners[0].name",
        None,
    ),
    ("key-lone-surrogate", Raw(_json_text()[:-1] + ', "\\ud800": 1}'), "non_field_errors", None),
    ("deeply-nested", Raw('{"petitioners": ' + "[" * 100_000 + "]" * 100_000 + "}"), None, "JSON parse error"),
    ("json-array", Raw("[]"), "non_field_errors", None),
    ("json-array-of-case", Raw("[" + _json_text() + "]"), "non_field_errors", None),
    ("json-string", Raw('"land_occupation"'), "non_field_errors", None),
    ("json-number", Raw("42"), "non_field_errors", None),
    ("json-null", Raw("null"), "non_field_errors", None),
    ("json-true", Raw("true"), "non_field_errors", None),
    ("empty-object", Raw("{}"), "category", None),
    (
        "geojson-feature-instead",
        Raw(json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": list(SHUANGAOBAO)}})),
        "geometry",
        None,
    ),
    ("text-plain", Raw(_json_text(), "text/plain"), None, "text/plain"),
    ("xml", Raw("<case><category>x</category></case>", "application/xml"), None, "application/xml"),
    (
        "form-encoded-missing-fields",
        Raw("category=land_occupation", "application/x-www-form-urlencoded"),
        "channel",
        None,
    ),
    (
        "payload-3mb-json",
        Raw(_json_text(description="x" * (3 * 1024 * 1024))),
        None,
        "too large",
    ),
    (
        "payload-3mb-valid-plus-whitespace",
        Raw(_json_text() + " " * (3 * 1024 * 1024)),
        None,
        "too large",
    ),
    (
        "payload-3mb-form",
        Raw("description=" + "x" * (3 * 1024 * 1024), "application/x-www-form-urlencoded"),
        None,
        "too large",
    ),
]

CASE_INPUTS = table(
    "POST /api/cases/",
    [(f"{field}-as-{type(value).__name__}-{i}", {field: value}, field) for i, (field, value) in enumerate(_CASE_TYPES)]
    + _CASE_VALUES
    + _CASE_INJECTIONS,
)
CASE_RAW_INPUTS = table("POST /api/cases/", _CASE_RAW)


def test_the_valid_case_body_is_accepted(world):
    """The control: the body every bad input starts from is accepted, so each refusal below is the input's doing."""
    response = world["api"].post("/api/cases/", VALID_CASE, format="json")
    assert response.status_code == 201, response.json()
    assert Case.objects.count() == 3


@pytest.mark.parametrize(("overrides", "field"), CASE_INPUTS)
def test_case_intake_refuses_bad_fields_naming_them_and_writes_nothing(world, overrides, field):
    before = fingerprint()
    response = world["api"].post("/api/cases/", body_with(**overrides), format="json")
    assert_4xx_naming(response, field)
    assert not changed(before, fingerprint())


@pytest.mark.parametrize(("raw", "field", "detail"), CASE_RAW_INPUTS)
def test_case_intake_refuses_bad_bodies_and_writes_nothing(world, raw, field, detail):
    before = fingerprint()
    response = world["api"].generic("POST", "/api/cases/", raw.body, content_type=raw.content_type)
    assert_4xx_naming(response, field, detail)
    assert not changed(before, fingerprint())


def test_a_body_over_the_upload_limit_is_413_before_it_is_parsed(world):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert limit == 2_621_440
    padded = _json_text() + " " * (limit + 1 - len(_json_text().encode()))
    response = world["api"].generic("POST", "/api/cases/", padded.encode(), content_type="application/json")
    assert response.status_code == 413, response.content[:300]
    assert str(limit) in response.json()["detail"]
    # One byte less is a normal, valid request.
    response = world["api"].generic("POST", "/api/cases/", padded[:-1].encode(), content_type="application/json")
    assert response.status_code == 201, response.content[:300]


@pytest.mark.parametrize(
    "text",
    ["' OR 1=1 --", "1);DROP TABLE geo_disputes_case;--", "<script>alert(1)</script>", "{{7*7}}", "\u202eevil"],
)
def test_injection_text_in_free_text_fields_is_stored_verbatim_and_touches_nothing_else(world, text):
    """Description and petitioner names are free text: an injection string there is a (strange) valid value,
    stored exactly as sent through parameters — one case, one party, nothing else changed."""
    before = fingerprint()
    response = world["api"].post(
        "/api/cases/", body_with(description=text, petitioners=petitioner(name=text[:50])), format="json"
    )
    assert response.status_code == 201, response.json()
    case = Case.objects.get(reference=response.json()["reference"])
    assert case.description == text.strip()
    assert list(Party.objects.filter(case=case).values_list("name", flat=True)) == [text[:50].strip()]
    diff = changed(before, fingerprint())
    assert set(diff) <= {
        "geo_disputes_case",
        "geo_disputes_caseevent",
        "geo_disputes_party",
        "geo_disputes_caseparcel",
        "geo_disputes_personaldataaccess",
    }
    assert diff["geo_disputes_case"][1][0] == before["geo_disputes_case"][0] + 1
    assert diff["geo_disputes_party"][1][0] == before["geo_disputes_party"][0] + 1


def test_absurd_precision_is_rounded_to_a_double_not_refused(world):
    """30 decimals carry no information past a double's ~1e-14°; the point is stored as float(text), and
    a client that sends 17 significant digits (any JavaScript number) is not refused. A 30-decimal
    coordinate outside the banner or the globe is refused like any other (see the table above)."""
    lon = "111.050000000000000000000000000001"
    lat = "39.549999999999999999999999999999"
    response = world["api"].post("/api/cases/", body_with(lon=lon, lat=lat), format="json")
    assert response.status_code == 201, response.json()
    case = Case.objects.get(reference=response.json()["reference"])
    assert (case.submitted_lon, case.submitted_lat) == (float(lon), float(lat))
    assert (case.location.x, case.location.y) == (float(lon), float(lat))
    assert case.village_code == "150622106202"


# --- POST /api/cases/<ref>/transitions/ ----------------------------------------------------------------------------

AGENDA = {
    "action": "put_on_agenda",
    "plan": "评估后调解",
    "unit": "BD-water",
    "person": "李某",
    "deadline": "2099-01-01",
}
EXTEND = {"action": "extend", "days": 30, "reason": "鉴定", "approved_by": "镇长"}
SUPERVISE = {"action": "supervise", "kind": "urge", "reason": "限期办理"}
_TRANSITIONS = [
    # (id, which case, body (VERSION is replaced by the case's version), field)
    ("action-unknown", "accepted", {"action": "explode"}, "action"),
    ("action-empty", "accepted", {"action": ""}, "action"),
    ("action-missing", "accepted", {"reason": "x"}, "action"),
    ("action-null", "accepted", {"action": None}, "action"),
    ("action-number", "accepted", {"action": 1}, "action"),
    ("action-list", "accepted", {"action": ["assign"]}, "action"),
    ("action-uppercase", "accepted", {"action": "ASSIGN", "person": "李某"}, "action"),
    ("action-injection", "accepted", {"action": "' OR 1=1 --"}, "action"),
    ("action-illegal-in-status", "reported", {"action": "close"}, "action"),
    ("action-review-of-unanswered", "reported", {"action": "request_review"}, "action"),
    ("unknown-parameter", "accepted", {"action": "assign", "person": "李某", "priority": "high"}, "priority"),
    ("parameter-of-another-action", "reported", {"action": "accept", "days": 10}, "days"),
    ("now-is-not-a-parameter", "accepted", {"action": "assign", "person": "李某", "now": "2020-01-01"}, "now"),
    ("actor-is-not-a-parameter", "accepted", {"action": "assign", "person": "李某", "actor": 1}, "actor"),
    ("case-is-not-a-parameter", "accepted", {"action": "assign", "person": "李某", "case": 1}, "case"),
    ("agenda-deadline-year-1", "accepted", {**AGENDA, "deadline": "0001-01-01"}, "deadline"),
    ("agenda-deadline-9999", "accepted", {**AGENDA, "deadline": "9999-12-31"}, "deadline"),
    ("assign-unit-with-slash", "accepted", {"action": "assign", "person": "李某", "unit": "BD/water"}, "unit"),
    ("assign-person-missing", "accepted", {"action": "assign"}, "person"),
    ("assign-person-blank", "accepted", {"action": "assign", "person": "   "}, "person"),
    ("assign-person-list", "accepted", {"action": "assign", "person": ["李某"]}, "person"),
    ("assign-person-object", "accepted", {"action": "assign", "person": {"name": "李某"}}, "person"),
    ("assign-person-number", "accepted", {"action": "assign", "person": 42}, "person"),
    ("assign-person-51", "accepted", {"action": "assign", "person": "李" * 51}, "person"),
    ("assign-person-nul", "accepted", {"action": "assign", "person": "李\x00某"}, "person"),
    ("assign-unit-unknown", "accepted", {"action": "assign", "person": "李某", "unit": "BD-nope"}, "unit"),
    ("assign-unit-injection", "accepted", {"action": "assign", "person": "李某", "unit": "' OR 1=1 --"}, "unit"),
    ("assign-unit-list", "accepted", {"action": "assign", "person": "李某", "unit": ["BD-water"]}, "unit"),
    ("accept-person-51", "reported", {"action": "accept", "person": "王" * 51}, "person"),
    ("accept-person-list", "reported", {"action": "accept", "person": ["王某"]}, "person"),
    ("reject-reason-missing", "reported", {"action": "reject"}, "reason"),
    ("reject-reason-blank", "reported", {"action": "reject", "reason": " "}, "reason"),
    ("reject-reason-list", "reported", {"action": "reject", "reason": ["不属于受理范围"]}, "reason"),
    ("reject-reason-nul", "reported", {"action": "reject", "reason": "不\x00受理"}, "reason"),
    ("transfer-unit-missing", "reported", {"action": "transfer", "reason": "职责"}, "unit"),
    ("transfer-unit-unknown", "reported", {"action": "transfer", "unit": "XX-1", "reason": "职责"}, "unit"),
    ("extend-days-0", "accepted", {"action": "extend", "days": 0, "reason": "鉴定"}, "days"),
    ("extend-days-31", "accepted", {"action": "extend", "days": 31, "reason": "鉴定"}, "days"),
    ("extend-days-minus-1", "accepted", {"action": "extend", "days": -1, "reason": "鉴定"}, "days"),
    ("extend-days-1e9", "accepted", {"action": "extend", "days": 1e9, "reason": "鉴定"}, "days"),
    ("extend-days-10-pow-30", "accepted", {"action": "extend", "days": 10**30, "reason": "鉴定"}, "days"),
    ("extend-days-string-31", "accepted", {"action": "extend", "days": "31", "reason": "鉴定"}, "days"),
    ("extend-days-fraction", "accepted", {"action": "extend", "days": 10.5, "reason": "鉴定"}, "days"),
    ("extend-days-true", "accepted", {"action": "extend", "days": True, "reason": "鉴定"}, "days"),
    ("extend-days-words", "accepted", {"action": "extend", "days": "thirty", "reason": "鉴定"}, "days"),
    ("extend-days-NaN-string", "accepted", {"action": "extend", "days": "NaN", "reason": "鉴定"}, "days"),
    ("extend-days-missing", "accepted", {"action": "extend", "reason": "鉴定"}, "days"),
    ("extend-reason-missing", "accepted", {"action": "extend", "days": 30}, "reason"),
    ("agenda-deadline-past", "accepted", {**AGENDA, "deadline": "2020-01-01"}, "deadline"),
    ("agenda-deadline-feb-30", "accepted", {**AGENDA, "deadline": "2030-02-30"}, "deadline"),
    ("agenda-deadline-number", "accepted", {**AGENDA, "deadline": 20300101}, "deadline"),
    ("agenda-plan-list", "accepted", {**AGENDA, "plan": ["评估", "调解"]}, "plan"),
    ("agenda-unit-nul", "accepted", {**AGENDA, "unit": "BD-\x00water"}, "unit"),
    ("route-body-nul", "accepted", {"action": "route", "route": "litigation", "body": "法\x00院"}, "body"),
    ("accept-reason-list", "reported", {"action": "accept", "reason": ["同意"]}, "reason"),
    ("accept-reason-nul", "reported", {"action": "accept", "reason": "同\x00意"}, "reason"),
    ("route-unknown", "accepted", {"action": "route", "route": "bribe"}, "route"),
    ("route-list", "accepted", {"action": "route", "route": ["litigation"]}, "route"),
    ("route-missing", "accepted", {"action": "route"}, "route"),
    ("opinion-outcome-unknown", "accepted", {"action": "opinion", "outcome": "maybe", "text": "x"}, "outcome"),
    ("opinion-text-missing", "accepted", {"action": "opinion", "outcome": "support"}, "text"),
    ("extend-approver-missing", "accepted", {"action": "extend", "days": 30, "reason": "鉴定"}, "approved_by"),
    ("extend-told-at-bad", "accepted", {**EXTEND, "told_at": "2026-02-30"}, "told_at"),
    ("extend-told-at-future", "accepted", {**EXTEND, "told_at": "2099-01-01"}, "told_at"),
    ("supervise-kind-unknown", "accepted", {"action": "supervise", "kind": "scold", "reason": "x"}, "kind"),
    ("supervise-deadline-past", "accepted", {**SUPERVISE, "deadline": "2020-01-01"}, "deadline"),
    ("escalate-is-gone", "accepted", {"action": "escalate", "reason": "逾期"}, "action"),
    ("resolve-is-gone", "accepted", {"action": "resolve", "method": "mediation", "outcome": "x"}, "action"),
    ("evaluate-is-gone", "accepted", {"action": "evaluate", "satisfaction": "satisfied"}, "action"),
    ("version-string", "accepted", {"action": "assign", "person": "李某", "version": "1"}, "version"),
    ("version-float", "accepted", {"action": "assign", "person": "李某", "version": 1.0}, "version"),
    ("version-true", "accepted", {"action": "assign", "person": "李某", "version": True}, "version"),
    ("version-list", "accepted", {"action": "assign", "person": "李某", "version": [1]}, "version"),
    ("version-stale-lower", "accepted", {"action": "assign", "person": "李某", "version": "VERSION-1"}, "version"),
    ("version-stale-higher", "accepted", {"action": "assign", "person": "李某", "version": "VERSION+1"}, "version"),
    ("version-negative", "accepted", {"action": "assign", "person": "李某", "version": -1}, "version"),
    ("version-beyond-bigint", "accepted", {"action": "assign", "person": "李某", "version": 2**70}, "version"),
]
TRANSITION_INPUTS = table("POST /api/cases/<ref>/transitions/", _TRANSITIONS)
_TRANSITION_RAW = [
    ("malformed-json", "{", None, "JSON parse error"),
    ("json-array", '["assign"]', "action", None),
    ("json-string", '"assign"', "action", None),
    ("nan-token", '{"action": "extend", "days": NaN, "reason": "x"}', None, "JSON parse error"),
    ("days-1e400", '{"action": "extend", "days": 1e400, "reason": "x", "approved_by": "y"}', "days", None),
    ("person-lone-surrogate", '{"action": "assign", "person": "\\ud800"}', "person", None),
    ("reason-lone-surrogate", '{"action": "assign", "person": "x", "reason": "\\udc00"}', "reason", None),
    ("unknown-reference", None, None, "no case"),
    ("injection-reference", None, None, "no case"),
]
TRANSITION_RAW_INPUTS = table("POST /api/cases/<ref>/transitions/", _TRANSITION_RAW)


def test_the_transition_controls_are_accepted(world):
    """Controls: the same actions with good parameters go through (days as a digit string is accepted:
    the case page's form posts it that way)."""
    api, case = world["api"], world["accepted"]
    url = f"/api/cases/{case.reference}/transitions/"
    told = timezone.localdate().isoformat()
    body = {"action": "extend", "days": "30", "reason": "鉴定", "approved_by": "镇长", "told_at": told}
    response = api.post(url, {**body, "version": case.version}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["version"] == case.version + 1
    response = api.post(url, {"action": "assign", "person": "李" * 50}, format="json")
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize(("which", "body", "field"), TRANSITION_INPUTS)
def test_transitions_refuse_bad_parameters_naming_them_and_write_nothing(world, which, body, field):
    case = world[which]
    if isinstance(body.get("version"), str) and body["version"].startswith("VERSION"):
        body = {**body, "version": case.version + int(body["version"][len("VERSION") :])}
    before = fingerprint()
    response = world["api"].post(f"/api/cases/{case.reference}/transitions/", body, format="json")
    if field == "version" and isinstance(body["version"], int) and not isinstance(body["version"], bool):
        assert response.status_code == 409, response.json()  # a stale edit: the current version comes back
        assert response.json()["version"] == case.version and "reload" in response.json()["detail"]
    else:
        assert_4xx_naming(response, field)
    assert not changed(before, fingerprint())


@pytest.mark.parametrize(("raw", "field", "detail"), TRANSITION_RAW_INPUTS)
def test_transitions_refuse_bad_bodies_and_references(world, request, raw, field, detail):
    reference = world["accepted"].reference
    case_id = request.node.callspec.id
    if case_id == "unknown-reference":
        reference = "ZGE-2099-99999"
    elif case_id == "injection-reference":
        reference = "' OR 1=1 --"
    before = fingerprint()
    response = world["api"].generic(
        "POST",
        f"/api/cases/{reference}/transitions/",
        raw if raw is not None else json.dumps({"action": "assign", "person": "李某"}),
        content_type="application/json",
    )
    assert_4xx_naming(response, field, detail)
    assert not changed(before, fingerprint())


# --- POST /api/group-proposals/<id>/confirm|reject/ ----------------------------------------------------------------

_PROPOSALS = [
    # (id, decision, pk ("REAL" = the live proposal), body, status, message part)
    ("unknown-id", "confirm", "0" * 40, {}, 404, "no such proposal"),
    ("injection-id", "reject", "' OR 1=1 --", {}, 404, "no such proposal"),
    ("long-id", "confirm", "f" * 5000, {}, 404, "no such proposal"),
    ("title-number", "confirm", "REAL", {"title": 5}, 400, "title"),
    ("title-list", "confirm", "REAL", {"title": ["a"]}, 400, "title"),
    ("note-object", "reject", "REAL", {"note": {"a": 1}}, 400, "note"),
    ("title-nul", "confirm", "REAL", {"title": "同一\x00事件"}, 400, "title"),
    ("note-nul", "reject", "REAL", {"note": "不\x00是"}, 400, "note"),
    ("malformed-json", "confirm", "REAL", "{", 400, "JSON parse error"),
    ("title-lone-surrogate", "confirm", "REAL", '{"title": "\\ud800"}', 400, "title"),
    ("note-lone-surrogate", "reject", "REAL", '{"note": "\\ud800"}', 400, "note"),
    ("title-201", "confirm", "REAL", {"title": "同" * 201}, 400, "title"),
    ("note-2001", "reject", "REAL", {"note": "不" * 2001}, 400, "note"),
]
PROPOSAL_INPUTS = table("POST /api/group-proposals/<id>/confirm|reject/", _PROPOSALS)


def _live_proposal(world) -> str:
    """The world's two open land cases at the same spot and time: one proposed case group."""
    (proposal,) = proposals()
    assert set(proposal.case_ids) == {world["accepted"].pk, world["reported"].pk}
    return proposal.id


@pytest.mark.parametrize(("decision", "pk", "body", "status", "message"), PROPOSAL_INPUTS)
def test_group_proposal_decisions_refuse_bad_input_and_write_nothing(world, decision, pk, body, status, message):
    real = _live_proposal(world)
    pk = real if pk == "REAL" else pk
    before = fingerprint()
    url = f"/api/group-proposals/{pk}/{decision}/"
    if isinstance(body, str):
        response = world["api"].generic("POST", url, body, content_type="application/json")
    else:
        response = world["api"].post(url, body, format="json")
    assert response.status_code == status, response.content[:300]
    assert message in json.dumps(response.json(), ensure_ascii=False)
    assert not changed(before, fingerprint())
    # The control: the same proposal is then confirmed with a good body.
    assert (
        world["api"].post(f"/api/group-proposals/{real}/confirm/", {"title": "同一事件"}, format="json").status_code
        == 200
    )


# --- GET filters ---------------------------------------------------------------------------------------------------


def _filters(endpoint: str, path: str, cases: list[tuple[str, str]]) -> list[tuple]:
    """(id, path, params, field) rows for one endpoint; field is the parameter the 400 must name."""
    return [(f"{name}={value[:20]!r}-{i}", path, {name: value}, name) for i, (name, value) in enumerate(cases)]


_BBOX_BAD = [
    "' OR 1=1 --",
    "1);DROP TABLE geo_disputes_case;--",
    "110,39,111",
    "110,39,111,40,5",
    "a,b,c,d",
    "NaN,39,111,40",
    "110,39,inf,40",
    "111,39,110,40",
    "110,40,111,39",
    "110,39,110,39",
    "-181,39,111,40",
    "110,-91,111,40",
    "110,39,111,1e400",
    ",".join(["1" * 5000] * 4),
    LONG,
]
_CODE_FILTERS = ["township", "village", "grid", "mining_area", "parcel"]
_CASE_FILTERS = (
    [("bbox", v) for v in _BBOX_BAD]
    + [(name, v) for name in ("category", "status", "tier") for v in ("' OR 1=1 --", "土地", LONG, "closed;")]
    + [(name, v) for name in _CODE_FILTERS for v in ("' OR 1=1 --", "1);DROP TABLE x;--", "1" * 41, "村'--")]
    + [(name, v) for name in ("since", "until") for v in ("2024-02-30", "' OR 1=1 --", "yesterday", "2024-1-1x")]
    + [("page", v) for v in ("0", "-1", "1e3", "' OR 1=1 --", "1.0", *NON_ASCII_DIGITS)]
    + [("page_size", v) for v in ("0", "abc", "-5", "1.5", *NON_ASCII_DIGITS)]
    + [(name, v) for name in ("since", "until") for v in CALENDAR_ENDS]
    + [("mining", v) for v in ("maybe", "' OR 1=1 --", "2")]
)
_LAYER_FILTERS = (
    [("bbox", v) for v in _BBOX_BAD]
    + [("on", v) for v in ("2024-02-30", "' OR 1=1 --", "today", "2024/01/01")]
    + [("page", v) for v in ("0", "x", "-1", *NON_ASCII_DIGITS)]
    + [("page_size", v) for v in ("0", "' OR 1=1 --", *NON_ASCII_DIGITS)]
    + [("on", v) for v in CALENDAR_ENDS]
)
_STATS_FILTERS = (
    [(name, v) for name in ("since", "until") for v in ("2024-02-30", "' OR 1=1 --", "0001-01-01", "9999-12-31")]
    + [("township", v) for v in ("' OR 1=1 --", "150622", "150622106202", "乡镇", LONG)]
    + [("village", v) for v in ("' OR 1=1 --", "150622106", "1);DROP TABLE x;--", LONG)]
)
_ANALYSIS_FILTERS = (
    [(name, v) for name in ("category", "status", "tier") for v in ("' OR 1=1 --", LONG)]
    + [(name, v) for name in ("since", "until") for v in ("2024-02-30", "1);DROP TABLE x;--")]
    + [("township", v) for v in ("' OR 1=1 --", "1" * 41)]
)
_CLUSTER_FILTERS = (
    _ANALYSIS_FILTERS
    + [("eps_m", v) for v in ("NaN", "inf", "-1", "0", "1e9", "abc", "' OR 1=1 --", "1" * 400)]
    + [("min_points", v) for v in ("0", "-1", "1.5", "1e9", "' OR 1=1 --", "9" * 30, *NON_ASCII_DIGITS)]
)
_EMERGING_FILTERS = (
    _ANALYSIS_FILTERS
    + [("step", v) for v in ("week", "' OR 1=1 --", "MONTH", LONG)]
    + [("time_steps", v) for v in ("-1", "1.5", "abc", "' OR 1=1 --", *NON_ASCII_DIGITS)]
)
_LOCATE_FILTERS = (
    [("lon", v) for v in ("NaN", "inf", "-Infinity", "1e400", "abc", "' OR 1=1 --", "181", "", LONG, "111,05")]
    + [("lat", v) for v in ("nan", "Infinity", "111.05", "-91", "north")]
    + [("datum", v) for v in ("bd09", "' OR 1=1 --", "EPSG:4326", LONG)]
    + [("on", v) for v in ("2024-02-30", "' OR 1=1 --")]
)

GET_INPUTS = (
    table("GET /api/cases/", _filters("cases", "/api/cases/", _CASE_FILTERS))
    + table("GET /api/layers/<layer>/", _filters("layers", "/api/layers/villages/", _LAYER_FILTERS))
    + table("GET /api/stats/", _filters("stats", "/api/stats/", _STATS_FILTERS))
    + table("GET /api/hotspots/", _filters("hotspots", "/api/hotspots/", _ANALYSIS_FILTERS))
    + table("GET /api/clusters/", _filters("clusters", "/api/clusters/", _CLUSTER_FILTERS))
    + table("GET /api/emerging-hotspots/", _filters("emerging", "/api/emerging-hotspots/", _EMERGING_FILTERS))
    + table(
        "GET /api/village-rates/",
        _filters("rates", "/api/village-rates/", [("output", v) for v in ("xml", "' OR 1=1 --", "csv")])
        + _filters("rates", "/api/village-rates/", [("category", "' OR 1=1 --")]),
    )
    + table("GET /api/locate/", _filters("locate", "/api/locate/", _LOCATE_FILTERS))
)
_LOCATE_DEFAULTS = {"lon": "111.05", "lat": "39.55"}
# Letters and digits of any script pass the code filters' shape check (codes are alphanumeric): such a
# filter is a valid query that matches nothing. The answer must be an empty 200, not an error or more rows.
EMPTY_FILTER_INPUTS = table(
    "GET /api/cases/",
    [(f"{name}-unicode", "/api/cases/", {name: "双敖包村"}) for name in _CODE_FILTERS]
    + [
        (f"{name}-fullwidth-digits", "/api/cases/", {name: "１５０６２２１０６２０２"})
        for name in ("village", "parcel")
    ],
) + table(
    "GET /api/stats/",
    [("village-in-no-township", "/api/stats/", {"village": "150622999999"})],
)
GET_PATH_INPUTS = table(
    "GET /api/layers/<layer>/",
    [
        ("layer-unknown", "/api/layers/lakes/", 404, "unknown layer"),
        ("layer-sql", "/api/layers/villages%20OR%201=1/", 404, None),
        ("layer-drop", "/api/layers/villages;DROP TABLE geo_disputes_village/", 404, None),
        ("layer-traversal", "/api/layers/..%2F..%2Fetc%2Fpasswd/", 404, None),
        ("layer-unicode", "/api/layers/村界/", 404, None),
        ("layer-long", "/api/layers/" + "a" * 5000 + "/", 404, "unknown layer"),
    ],
) + table(
    "GET /api/locate/",
    [
        ("swapped-lon-lat", "/api/locate/?lon=39.55&lat=111.05", 400, "lat"),
        ("outside-banner", "/api/locate/?lon=116.397&lat=39.909", 404, "outside"),
        ("null-island", "/api/locate/?lon=0&lat=0", 404, "outside"),
        ("missing-both", "/api/locate/", 400, "lon"),
    ],
)


@pytest.mark.parametrize(("path", "params", "field"), GET_INPUTS)
def test_get_filters_refuse_bad_values_naming_the_parameter(world, path, params, field):
    if path == "/api/locate/":
        params = {**_LOCATE_DEFAULTS, **params}
    before = fingerprint()
    response = world["api"].get(path, params)
    assert_4xx_naming(response, field)
    assert response.status_code == 400
    assert not changed(before, fingerprint())


@pytest.mark.parametrize(("path", "params"), EMPTY_FILTER_INPUTS)
def test_filters_that_match_nothing_answer_an_empty_200(world, path, params):
    before = fingerprint()
    response = world["api"].get(path, params)
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    if path == "/api/cases/":
        assert body["count"] == 0 and body["features"] == []
    else:
        assert body["counts"]["cases_total"] == 0, body["counts"]
    assert not changed(before, fingerprint())


@pytest.mark.parametrize(("path", "status", "message"), GET_PATH_INPUTS)
def test_bad_paths_are_404_not_500(world, path, status, message):
    before = fingerprint()
    response = world["api"].get(path)
    assert response.status_code == status, response.content[:300]
    if message is not None:
        assert message in response.content.decode()
    assert not changed(before, fingerprint())


def test_the_get_controls_answer_200(world):
    api = world["api"]
    for path, params in [
        ("/api/cases/", {"bbox": "110,39,112,41", "category": "land_occupation", "village": "150622106202"}),
        ("/api/layers/villages/", {"bbox": "110,39,112,41", "on": "2024-01-01"}),
        ("/api/stats/", {"since": "2024-01-01", "until": "2024-12-31", "township": "150622106"}),
        ("/api/clusters/", {"eps_m": "500", "min_points": "3"}),
        ("/api/village-rates/", {"output": "geojson"}),
        ("/api/locate/", {"lon": "111.05", "lat": "39.55", "datum": "wgs84"}),
    ]:
        response = api.get(path, params)
        assert response.status_code == 200, (path, response.content[:300])


_POINT_INTEGERS = [
    (f"{path.split('/')[-2]}-{name}-{value}", path, {name: value}, name)
    for path, name in (("/api/case-points/", "max_points"), ("/maps/features/mining-parcels/", "page"))
    for value in NON_ASCII_DIGITS
]
POINT_INTEGER_INPUTS = table("GET /api/case-points/ and /maps/features/mining-parcels/", _POINT_INTEGERS)


@pytest.mark.parametrize(("path", "params", "field"), POINT_INTEGER_INPUTS)
def test_integer_parameters_take_ascii_digits_only(world, path, params, field):
    """ "１２", "٣" are numbers to int(); "²" passes str.isdigit() and then fails int(): each a 400."""
    before = fingerprint()
    response = world["api"].get(path, params)
    assert_4xx_naming(response, field)
    assert not changed(before, fingerprint())


NUL_PATHS = table(
    "paths with %00",
    [
        ("case-page", "GET", "/cases/GD%00/"),
        ("case-action", "POST", "/cases/GD%00/actions/"),
        ("queue", "GET", "/queues/VC%00/"),
        ("api-case", "GET", "/api/cases/GD%00/"),
        ("api-transitions", "POST", "/api/cases/GD%00/transitions/"),
        ("api-parcel", "GET", "/api/parcels/150622%00/"),
        ("api-proposal", "POST", "/api/group-proposals/a%00/confirm/"),
    ],
)


@pytest.mark.parametrize(("method", "path"), NUL_PATHS)
def test_a_nul_in_a_path_is_a_400_before_any_lookup(world, method, path):
    before = fingerprint()
    response = world["web"].generic(method, path)
    assert response.status_code == 400, response.content[:300]
    assert "NUL" in response.content.decode()
    if path.startswith("/api/"):
        assert_4xx_naming(response, "path")
    assert not changed(before, fingerprint())


QUEUE_INPUTS = table(
    "GET /queues/, /agenda/",
    [
        *((f"agenda-{day}", "/agenda/", {"date": day}, "date") for day in CALENDAR_ENDS),
        *((f"queue-{day}", "/queues/VC-150622106202/", {"date": day}, "date") for day in CALENDAR_ENDS),
        ("pick-unit-with-slash", "/queues/", {"unit": "BD/water"}, "unit"),
        ("pick-unit-nul", "/queues/", {"unit": "BD\x00"}, "unit"),
    ],
)


@pytest.mark.parametrize(("path", "params", "field"), QUEUE_INPUTS)
def test_queues_and_agenda_refuse_calendar_ends_and_bad_units(world, path, params, field):
    """9999-12-31 has no following week and 0001-01-01 no previous meeting: a 400 on the form, not an overflow."""
    before = fingerprint()
    response = world["web"].get(path, params)
    assert response.status_code == 400, response.content[:300]
    if field == "date":
        assert response.context["form"].errors["date"], response.context["form"].errors
        assert "1901" in response.content.decode()
    else:
        assert "unit" in response.content.decode()
    assert not changed(before, fingerprint())


def test_the_queue_and_agenda_controls_answer_200(world):
    web = world["web"]
    for path, params in [
        ("/agenda/", {"date": "2200-12-31"}),
        ("/agenda/", {"date": "1901-01-01"}),
        ("/queues/VC-150622106202/", {"date": "2200-12-31"}),
    ]:
        assert web.get(path, params).status_code == 200, (path, params)
    assert web.get("/queues/", {"unit": "VC-150622106202"}).status_code == 302


# --- every HTML page's GET parameters, fuzzed ------------------------------------------------------------------------

# The HTML pages that read query parameters and the parameters each reads (its form's fields and `page`).
PAGE_PARAMETERS = {
    "case-list": ["page", "since", "until", "category", "status", "tier", "township", "village", "grid", "q"],
    "case-new": ["lon", "lat", "datum", "parcel_code", "village"],
    "case-export": ["since", "until", "category", "status", "township"],
    "case-go": ["reference"],
    "queue-mine": ["unit"],
    "queue-unit": ["date", "page"],
    "agenda": ["date"],
    "dashboard": ["since", "until", "township", "village"],
    "report-monthly": ["month"],
    "report-monthly-csv": ["month"],
    "report-monthly-xlsx": ["month"],
    "maps-field": ["lon", "lat", "datum", "code", "holder"],
    "maps-court": ["mining_area", "category", "since", "until"],
    "maps-planner": ["category", "status", "tier", "township", "since", "until", "eps_m", "min_points"],
    "maps-court-print": ["mining_area", "case", "paper"],
    "case-map-pdf": ["paper"],
    "set_language": ["language", "next"],
    "case-documents": ["issued"],
    "follow-up-register": ["since", "until", "unit", "page"],
    "follow-up-export": ["since", "until", "unit"],
    "leader-register": ["leader", "open"],
    "visit-calendar": ["month"],
    "agenda-minutes": ["date"],
    "agenda-minutes-docx": ["date"],
}
PAGE_ARGS = {
    "queue-unit": {"unit_code": "VC-150622106202"},
    "case-map-pdf": {"reference": "ZGE-2026-000001"},
    "case-documents": {"reference": "ZGE-2026-000001"},
}
# Percent-encoded as a browser or a script would send them: the server decodes them itself.
HOSTILE_QUERY_VALUES = [
    "%EF%BC%91%EF%BC%92",  # fullwidth １２
    "%D9%A3",  # Arabic-Indic ٣
    "%C2%B2",  # superscript ²
    "9" * 400,
    "1e400",
    "-1e400",
    "%00",
    "a%00b",
    "%ED%A0%80",  # a lone surrogate as (invalid) UTF-8
    "%FF%FE",
    "x" * 5000,
    "%E7%A0%81" * 2000,
    *CALENDAR_ENDS,
    "0000-00-00",
    "2024-02-30",
    "BD%2Fwater",
]
BAD_INPUTS["GET HTML pages (fuzz)"] += sum(map(len, PAGE_PARAMETERS.values())) * len(HOSTILE_QUERY_VALUES)


def test_the_fuzzed_pages_are_every_html_page_with_a_form():
    """Every named page outside /api/, /admin/ and /accounts/ either reads no query parameters or is fuzzed below."""
    from django.urls import get_resolver

    names = {name for name in get_resolver().reverse_dict if isinstance(name, str)}
    without_parameters = {"home", "case-detail", "case-action", "case-recusal", "maps-mining-parcels", "healthz"}
    without_parameters |= {"case-document-file", "case-document-service"}  # POST-only / no query parameters
    without_parameters |= {"case-exchange"}  # the case's exchange package: no query parameters
    without_parameters |= {"case-attachment-add", "case-attachment-remove"}  # POST-only (issue 15 part 3)
    without_parameters |= {"leader-case-close", "visit-outcome"}  # POST-only
    without_parameters |= {"javascript-catalog"}  # Django's JavaScriptCatalog: the active language, no parameter
    without_parameters |= {"service-worker", "web-manifest", "offline-page"}  # the field app's shell: no parameters
    # ogc-*: the OGC API (JSON and HTML), refusing unknown and bad parameters with 400: tests/test_ogc.py;
    # tiles: binary tiles, no query parameters, bad addresses refused in tests/test_tiles.py
    html = {n for n in names if not n.startswith(("api-", "ogc-", "tiles", "admin", "login", "logout", "password"))}
    assert html - without_parameters == set(PAGE_PARAMETERS), html - without_parameters ^ set(PAGE_PARAMETERS)


@pytest.mark.parametrize("page", sorted(PAGE_PARAMETERS))
def test_html_pages_never_answer_500_to_hostile_query_parameters(world, page):
    from django.urls import reverse

    path = reverse(page, kwargs=PAGE_ARGS.get(page))
    before = fingerprint()
    failures = []
    for name in PAGE_PARAMETERS[page]:
        for value in HOSTILE_QUERY_VALUES:
            response = world["web"].get(f"{path}?{name}={value}")
            if response.status_code >= 500:
                failures.append((name, value[:20], response.status_code))
    assert not failures, failures
    assert not changed(before, fingerprint())


# --- deleting a user who edited a routing rule ------------------------------------------------------------------------


def test_deleting_a_user_who_edited_a_routing_rule_is_refused_and_the_log_still_names_them(world):
    """The change log is append-only; nulling its actor was a 500 from the trigger. The admin now says the
    user cannot be deleted (protected records), and the record still names its editor."""
    from django.contrib.auth import get_user_model

    from geo_disputes.models import RoutingRule, RoutingRuleChange

    editor = StaffFactory(role="banner_admin").user
    rule = RoutingRule.objects.create(order=999, name="测试规则", tier="village")
    RoutingRuleChange.objects.create(rule=rule, actor=editor, action="change", snapshot={"id": rule.pk})
    superuser = get_user_model().objects.create_superuser("root_wta", password=None)
    web = Client()
    web.force_login(superuser)
    before = fingerprint()
    url = f"/admin/auth/user/{editor.pk}/delete/"
    response = web.post(url, {"post": "yes"})
    assert response.status_code < 500, response.status_code
    assert "分流规则变更记录" in response.content.decode() or "routing" in response.content.decode().lower()
    assert get_user_model().objects.filter(pk=editor.pk).exists()
    assert RoutingRuleChange.objects.get(rule=rule).actor == editor
    assert not changed(before, fingerprint())


BAD_INPUTS["DELETE a user who edited a routing rule"] += 1


# --- the intake form (/cases/new/) ----------------------------------------------------------------------------------

VALID_FORM = {
    "category": "land_occupation",
    "channel": "talk_room",
    "kind": "claim",
    "description": "8亩多草地被占用",
    "lon": "111.05",
    "lat": "39.55",
    "datum": "wgs84",
    "households_affected": "1",
    "petitioners-TOTAL_FORMS": "1",
    "petitioners-INITIAL_FORMS": "0",
    "petitioners-MIN_NUM_FORMS": "0",
    "petitioners-MAX_NUM_FORMS": "20",
    "petitioners-0-name": "王建国",
    "petitioners-0-phone": "13912345678",
    "petitioners-0-id_number": "150622197001010011",
}
_FORM = [
    # (id, overrides (None removes), the form field whose error is shown; "__all__" for the form's own)
    ("category-unknown", {"category": "witchcraft"}, "category"),
    ("category-injection", {"category": "' OR 1=1 --"}, "category"),
    ("channel-missing", {"channel": None}, "channel"),
    ("description-missing", {"description": None}, "description"),
    ("description-over-limit", {"description": "占" * 5001}, "description"),
    ("description-nul", {"description": "草\x00地"}, "description"),
    ("lon-text", {"lon": "abc"}, "lon"),
    ("lon-NaN", {"lon": "NaN"}, "lon"),
    ("lon-inf", {"lon": "inf"}, "lon"),
    ("lat-swapped", {"lon": "39.55", "lat": "111.05"}, "lat"),
    ("outside-banner", {"lon": "116.397", "lat": "39.909"}, "lon"),
    ("no-location", {"lon": None, "lat": None}, "lon"),
    ("datum-unknown", {"datum": "bd09"}, "datum"),
    ("accuracy-negative", {"accuracy_m": "-5"}, "accuracy_m"),
    ("households-negative", {"households_affected": "-1"}, "households_affected"),
    ("households-huge", {"households_affected": "1" + "0" * 30}, "households_affected"),
    ("parcel-unknown", {"lon": None, "lat": None, "parcel_code": "150622999999JD99999"}, "parcel_code"),
    ("parcel-injection", {"lon": None, "lat": None, "parcel_code": "' OR 1=1 --"}, "parcel_code"),
    ("parcel-61", {"parcel_code": "1" * 61}, "parcel_code"),
    ("department-unknown", {"departments": "police"}, "departments"),
    ("accused-unit-unknown", {"accused_unit": "BD-nope"}, "accused_unit"),
    ("petitioner-name-51", {"petitioners-0-name": "王" * 51}, "petitioners-0-name"),
    ("petitioner-name-nul", {"petitioners-0-name": "王\x00"}, "petitioners-0-name"),
    ("petitioner-id-bad", {"petitioners-0-id_number": "15062219700101001Y"}, "petitioners-0-id_number"),
    ("petitioner-phone-without-name", {"petitioners-0-name": ""}, "petitioners-0-name"),
    ("formset-total-not-a-number", {"petitioners-TOTAL_FORMS": "abc"}, "petitioners-management"),
    ("formset-total-missing", {"petitioners-TOTAL_FORMS": None}, "petitioners-management"),
    ("formset-total-huge", {"petitioners-TOTAL_FORMS": "1000000"}, "petitioners-management"),
]
FORM_INPUTS = table("POST /cases/new/ (intake form)", _FORM)


def _form_errors(response) -> dict[str, list[str]]:
    """Field name (formset fields prefixed as posted) -> error texts, from the rendered forms' context."""
    errors: dict[str, list[str]] = {}
    form, formset = response.context["form"], response.context["formset"]
    for name, messages in form.errors.items():
        errors[name] = list(messages)
    for index, row in enumerate(formset.forms):
        for name, messages in row.errors.items():
            errors[f"petitioners-{index}-{name}"] = list(messages)
    if formset.non_form_errors():
        errors["petitioners-management"] = list(formset.non_form_errors())
    return errors


def test_the_valid_intake_form_is_accepted(world):
    response = world["web"].post("/cases/new/", VALID_FORM)
    assert response.status_code == 302, response.content.decode()[:500]
    assert Case.objects.count() == 3


@pytest.mark.parametrize(("overrides", "field"), FORM_INPUTS)
def test_the_intake_form_shows_the_error_on_its_field_and_writes_nothing(world, overrides, field):
    data = {k: v for k, v in {**VALID_FORM, **overrides}.items() if v is not None}
    before = fingerprint()
    response = world["web"].post("/cases/new/", data)
    assert response.status_code == 400, response.status_code
    errors = _form_errors(response)
    assert field in errors, errors
    assert not changed(before, fingerprint())


def test_a_form_post_over_the_upload_limit_is_400_and_writes_nothing(world):
    before = fingerprint()
    response = world["web"].post("/cases/new/", {**VALID_FORM, "description": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 400
    assert not changed(before, fingerprint())


BAD_INPUTS["POST /cases/new/ (intake form)"] += 1  # the 3 MB form above

# --- the action form (/cases/<ref>/actions/) -------------------------------------------------------------------------

# An extension's other fields, valid: the one field a row breaks is then the only one in error.
EXTEND_REST = {"approved_by": "旗信访局局长", "told_at": dt.date.today().isoformat()}
_ACTIONS = [
    ("action-unknown", {"action": "explode"}, 302, None),
    ("version-missing", {"action": "assign", "person": "李某", "version": None}, 400, "assign_version"),
    ("version-text", {"action": "assign", "person": "李某", "version": "one"}, 400, "assign_version"),
    ("version-zero", {"action": "assign", "person": "李某", "version": "0"}, 400, "assign_version"),
    ("version-stale", {"action": "assign", "person": "李某", "version": "VERSION-1"}, 409, None),
    ("person-51", {"action": "assign", "person": "李" * 51}, 400, "assign_person"),
    ("person-nul", {"action": "assign", "person": "李\x00"}, 400, "assign_person"),
    ("unit-unknown", {"action": "assign", "person": "李某", "unit": "BD-nope"}, 400, "assign_unit"),
    ("extend-31", {"action": "extend", "days": "31", "reason": "鉴定", **EXTEND_REST}, 400, "extend_days"),
    ("extend-0", {"action": "extend", "days": "0", "reason": "鉴定", **EXTEND_REST}, 400, "extend_days"),
    ("extend-text", {"action": "extend", "days": "thirty", "reason": "鉴定", **EXTEND_REST}, 400, "extend_days"),
    (
        "agenda-deadline-past",
        {"action": "put_on_agenda", "plan": "p", "unit": "BD-water", "person": "李某", "deadline": "2020-01-01"},
        400,
        "put_on_agenda_deadline",
    ),
    ("route-unknown", {"action": "route", "route": "bribe"}, 400, "route_route"),
    ("reason-over-limit", {"action": "assign", "person": "李某", "reason": "理" * 2001}, 400, "assign_reason"),
]
ACTION_INPUTS = table("POST /cases/<ref>/actions/ (action form)", _ACTIONS)


@pytest.mark.parametrize(("overrides", "status", "field"), ACTION_INPUTS)
def test_the_action_form_refuses_bad_input_and_writes_nothing(world, overrides, status, field):
    case = world["accepted"]
    data = {"version": str(case.version), **overrides}
    if data.get("version") == "VERSION-1":
        data["version"] = str(case.version - 1) if case.version > 1 else str(case.version + 1)
    data = {k: v for k, v in data.items() if v is not None}
    before = fingerprint()
    response = world["web"].post(f"/cases/{case.reference}/actions/", data)
    assert response.status_code == status, response.content.decode()[:500]
    if status == 302:  # an unknown action goes back to the case page with a message naming it
        follow = world["web"].get(response["Location"])
        assert "未知操作 &#x27;explode&#x27;" in follow.content.decode()
    elif field is None:  # a stale version: the page says the case changed meanwhile
        assert "stale" in response.content.decode().lower()
    else:  # the error stands under the field that failed (the action's form, the field's own error list)
        errors = re.findall(r'<ul class="errorlist" id="id_(\w+)_error">', response.content.decode())
        assert errors == [field], errors
    assert not changed(before, fingerprint())


# --- import_areas --------------------------------------------------------------------------------------------------


def square(lon: float, lat: float, size: float = 0.01) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def village(code: str | None = "150622106202", geometry: dict | None = None, **props) -> dict:
    geometry = geometry if geometry is not None else {"type": "Polygon", "coordinates": [square(111.2, 39.85)]}
    township = code[:9] if code else "150622106"
    return {
        "type": "Feature",
        "properties": {"code": code, "name": "双敖包村", "kind": "village", "township_code": township, **props},
        "geometry": geometry,
    }


def geojson(path: Path, features: list[dict], encoding: str = "utf-8") -> Path:
    path.write_bytes(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode(encoding)
    )
    return path


BOW_TIE = [[111.30, 39.70], [111.31, 39.71], [111.31, 39.70], [111.30, 39.71], [111.30, 39.70]]
_IMPORTS = [
    # (id, layer, features or a file maker name, extra args, substrings the error must contain)
    (
        "self-intersecting",
        "villages",
        [village(geometry={"type": "Polygon", "coordinates": [BOW_TIE]})],
        [],
        ["row 1", "150622106202", "geom", "Self-intersection"],
    ),
    (
        "self-intersecting-second-row",
        "villages",
        [village(), village("150622101206", geometry={"type": "Polygon", "coordinates": [BOW_TIE]})],
        [],
        ["row 2", "150622101206", "invalid polygon"],
    ),
    (
        "empty-polygon",
        "villages",
        [village(geometry={"type": "Polygon", "coordinates": []})],
        [],
        ["row 1", "code 150622106202", "field geom"],
    ),
    (
        "empty-multipolygon",
        "villages",
        [village(geometry={"type": "MultiPolygon", "coordinates": []})],
        [],
        ["row 1", "code 150622106202", "field geom"],
    ),
    ("null-geometry", "villages", [{**village(), "geometry": None}], [], ["row 1", "no geometry"]),
    (
        "point-not-polygon",
        "villages",
        [village(geometry={"type": "Point", "coordinates": [111.2, 39.85]})],
        [],
        ["row 1", "Point", "polygonal"],
    ),
    (
        "off-the-globe",
        "villages",
        [village(geometry={"type": "Polygon", "coordinates": [square(500, 39)]})],
        [],
        ["row 1", "off the globe"],
    ),
    (
        "unclosed-ring",
        "villages",
        [village(geometry={"type": "Polygon", "coordinates": [square(111.2, 39.85)[:-1]]})],
        [],
        ["row 1", "not a valid polygon", "closed"],
    ),
    (
        "two-point-ring",
        "villages",
        [village(geometry={"type": "Polygon", "coordinates": [[[111.2, 39.85], [111.2, 39.85]]]})],
        [],
        ["row 1", "not a valid polygon"],
    ),
    ("missing-code", "villages", [village(code=None)], [], ["row 1", "code", "missing"]),
    ("duplicate-code", "villages", [village(), village()], [], ["row 2", "duplicate of row 1"]),
    ("unknown-kind-code", "villages", [village(kind="hamlet")], [], ["row 1", "kind", "hamlet"]),
    (
        "unknown-land-use",
        "parcels",
        [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [square(111.2, 39.85)]},
                "properties": {"code": "P1", "name": "地块", "land_use": "moon_base", "village_code": "150622106202"},
            }
        ],
        [],
        ["row 1", "land_use", "moon_base"],
    ),
    (
        "injection-in-code-too-long",
        "villages",
        [village(code="1);DROP TABLE geo_disputes_village;--" * 3)],
        [],
        ["row 1", "code"],
    ),
    (
        "derived-township-unknown",  # a county's file: code and name only; 150622999 is no township
        "villages",
        [{**village("150622999201"), "properties": {"code": "150622999201", "name": "无镇村"}}],
        [],
        ["row 1", "code 150622999201", "field township_code", "150622999", "is not in townships"],
    ),
    (
        "derived-township-from-a-short-code",
        "villages",
        [{**village("1506221062"), "properties": {"code": "1506221062", "name": "短码村"}}],
        [],
        ["row 1", "field township_code", "cannot be derived", "--map township_code=FIELD"],
    ),
    ("unknown-layer", "lakes", [village()], [], ["lakes"]),
    ("map-unknown-field", "villages", [village()], ["--map", "secret=code"], ["secret", "unknown field"]),
    ("map-missing-source", "villages", [village()], ["--map", "name=DKMC"], ["DKMC", "not in the file"]),
    ("map-malformed", "villages", [village()], ["--map", "name"], ["FIELD=SOURCE"]),
    ("srid-unknown", "villages", [village()], ["--srid", "999999"], ["999999"]),
    ("encoding-unknown", "villages", [village()], ["--encoding", "klingon"], ["klingon"]),
    ("empty-collection", "villages", [], [], ["has no features"]),
    ("gbk-geojson-without-encoding", "villages", "gbk", [], ["UTF-8", "row 1"]),
    ("nonexistent-path", "villages", "missing", [], ["file not found"]),
    ("dot-dot-to-nowhere", "villages", "dotdot-missing", [], ["file not found"]),
    ("dot-dot-to-etc-passwd", "villages", "dotdot-passwd", [], ["does not recognise"]),
    ("a-directory", "villages", "directory", [], ["cannot read"]),
    ("shell-metacharacters", "villages", "shell", [], ["file not found"]),
    ("not-geo-at-all", "villages", "text", [], ["does not recognise"]),
    ("truncated-json", "villages", "truncated", [], ["does not recognise"]),
]
IMPORT_INPUTS = table("import_areas", _IMPORTS)


def _import_file(tmp_path: Path, spec) -> Path:
    if isinstance(spec, list):
        return geojson(tmp_path / "villages.geojson", spec)
    if spec == "gbk":
        return geojson(tmp_path / "villages.geojson", [village(name="双敖包村", township_name="魏家峁镇")], "gbk")
    if spec == "missing":
        return tmp_path / "no-such-file.geojson"
    if spec == "dotdot-missing":
        return tmp_path / ".." / ".." / ".." / "no-such-dir" / "villages.geojson"
    if spec == "dotdot-passwd":
        depth = len(tmp_path.parts)
        return tmp_path.joinpath(*[".."] * depth, "etc", "passwd")
    if spec == "directory":
        (tmp_path / "a-dir.geojson").mkdir()
        return tmp_path / "a-dir.geojson"
    if spec == "shell":
        return tmp_path / "x.geojson; rm -rf $HOME `id` $(id)"
    if spec == "text":
        (tmp_path / "notes.geojson").write_text("准格尔旗 村界 — not GeoJSON\n" * 10, "utf-8")
        return tmp_path / "notes.geojson"
    if spec == "truncated":
        text = json.dumps({"type": "FeatureCollection", "features": [village()]})
        (tmp_path / "cut.geojson").write_text(text[: len(text) // 2], "utf-8")
        return tmp_path / "cut.geojson"
    raise AssertionError(spec)


@pytest.mark.parametrize(("layer", "spec", "args", "messages"), IMPORT_INPUTS)
def test_import_areas_refuses_bad_files_naming_the_row_and_writes_nothing(tmp_path, layer, spec, args, messages):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    path = _import_file(tmp_path, spec)
    before = fingerprint()
    with pytest.raises(CommandError) as caught:
        call_command("import_areas", layer, str(path), *args, "--commit", stdout=StringIO(), stderr=StringIO())
    message = str(caught.value)
    for part in messages:
        assert part in message, message
    assert "root:" not in message  # /etc/passwd's content never comes back in the message
    assert not changed(before, fingerprint())


def test_the_import_control_file_is_accepted(tmp_path):
    """The control: the village every bad file above is built from imports."""
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    path = geojson(tmp_path / "villages.geojson", [village()])
    call_command("import_areas", "villages", str(path), "--commit", stdout=StringIO(), stderr=StringIO())
    assert fingerprint()["geo_disputes_village"][0] == 1


ENORMOUS_SQL = (
    "SELECT '150622106202'::text AS code, '双敖包村'::text AS name, 'village'::text AS kind,"
    " '150622106'::text AS township_code,"
    " ST_SetSRID(ST_Buffer(ST_MakePoint(111.2, 39.85), 0.05, 500000), 4326) AS geom"
)


def _enormous(path: Path, driver: str) -> int:
    """A one-village file whose boundary has two million vertices, written by ogr2ogr from PostGIS."""
    _name, conninfo, env = connection_args()
    subprocess.run(
        ["ogr2ogr", "-f", driver, str(path), f"PG:{conninfo}", "-nln", "villages", "-sql", ENORMOUS_SQL],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ST_NPoints(geom) FROM ({ENORMOUS_SQL}) s")
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("driver", "name", "message"),
    [
        ("GPKG", "huge.gpkg", "more than 500000 in one boundary"),  # ours, before any GEOS or SQL work
        ("GeoJSON", "huge.geojson", "too complex/large"),  # GDAL's own size limit, now in the message
    ],
)
def test_an_enormous_geometry_is_refused_with_a_size_error_quickly_and_writes_nothing(tmp_path, driver, name, message):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    path = tmp_path / name
    vertices = _enormous(path, driver)
    assert vertices > 2_000_000
    before = fingerprint()
    started = time.monotonic()
    with pytest.raises(CommandError) as caught:
        call_command("import_areas", "villages", str(path), "--commit", stdout=StringIO(), stderr=StringIO())
    seconds = time.monotonic() - started
    text = str(caught.value)
    assert message in text, text
    if driver == "GPKG":
        assert "row 1" in text and "150622106202" in text and f"{vertices} vertices" in text, text
    assert seconds < 60, seconds
    assert not changed(before, fingerprint())


BAD_INPUTS["import_areas"] += 2  # the enormous geometries above

# --- import_case (case-exchange packages) ---------------------------------------------------------------------------

_SHA_A = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"  # sha256(b"a")


def _exchange_package(world) -> bytes:
    """A valid package of the world's accepted case, as the neighbouring county's system would send it."""

    from geo_disputes.services.cases.exchange import Source, package_bytes

    return package_bytes(world["accepted"], world["admin"], source=Source("geo-disputes", "150627", "伊金霍洛旗"))


def _rezip(data: bytes, edit=None, members: dict | None = None, drop: str = "") -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename == drop:
                continue
            content = source.read(info)
            if info.filename == "manifest.json" and edit is not None:
                manifest = json.loads(content)
                edit(manifest)
                content = json.dumps(manifest, ensure_ascii=False).encode()
            target.writestr(info.filename, content)
        for name, content in (members or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def _listed(path: str, content: bytes, sha: str = _SHA_A):
    """An edit listing one more file (with `sha`), and the member holding `content`."""
    return lambda m: m["files"].append({"path": path, "sha256": sha, "size": len(content)})


_FUTURE = (timezone.now() + dt.timedelta(days=30)).isoformat()
_PACKAGES = [
    ("not-a-zip", lambda d: b"PK but not a zip", "not a zip"),
    ("no-manifest", lambda d: _rezip(d, drop="manifest.json"), "no manifest.json"),
    ("manifest-not-json", lambda d: _rezip(d, drop="manifest.json", members={"manifest.json": b"{"}), "JSON"),
    ("other-schema", lambda d: _rezip(d, lambda m: m.update(schema="x")), "schema"),
    ("version-2", lambda d: _rezip(d, lambda m: m.update(version=2)), "unsupported package version 2"),
    ("version-true", lambda d: _rezip(d, lambda m: m.update(version=True)), "version True"),
    ("no-case", lambda d: _rezip(d, lambda m: m.pop("case")), "'case' is a required property"),
    ("lon-as-text", lambda d: _rezip(d, lambda m: m["case"]["location"].update(lon="111")), "case.location.lon"),
    (
        "outside-banner",
        lambda d: _rezip(d, lambda m: m["case"]["location"].update(lon=100.0, lat=30.0)),
        "case.location.lon",
    ),
    ("unknown-category", lambda d: _rezip(d, lambda m: m["case"].update(category="x")), "case.category"),
    (
        "received-on-feb-30",
        lambda d: _rezip(d, lambda m: m["case"].update(received_at="2024-02-30T10:00:00+08:00")),
        "case.received_at",
    ),
    ("received-in-future", lambda d: _rezip(d, lambda m: m["case"].update(received_at=_FUTURE)), "case.received_at"),
    (
        "bad-id-number",
        lambda d: _rezip(d, lambda m: m.update(petitioners=[{"name": "王某", "id_number": "1"}])),
        "petitioners[0].id_number",
    ),
    ("unlisted-file", lambda d: _rezip(d, members={"x.txt": b"a"}), "x.txt"),
    (
        "hash-mismatch",
        lambda d: _rezip(d, _listed(f"files/{_SHA_A}", b"b"), members={f"files/{_SHA_A}": b"b"}),
        "SHA-256 mismatch",
    ),
    ("listed-but-missing", lambda d: _rezip(d, _listed(f"files/{_SHA_A}", b"a")), "missing from the package"),
    ("path-traversal", lambda d: _rezip(d, _listed("../../etc/passwd", b"a")), "files[0].path"),
]
IMPORT_CASE_INPUTS = table("import_case", _PACKAGES)


@pytest.mark.parametrize(("make", "message"), IMPORT_CASE_INPUTS)
def test_import_case_refuses_bad_packages_naming_the_field_and_writes_nothing(world, tmp_path, make, message):
    path = tmp_path / "package.zip"
    path.write_bytes(make(_exchange_package(world)))
    before = fingerprint()
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_case", str(path), "--commit", "--as", world["admin"].username, stdout=StringIO(), stderr=StringIO()
        )
    assert message in str(caught.value), str(caught.value)
    assert not changed(before, fingerprint())


# --- add_staff, restore, tick, link_cases ----------------------------------------------------------------------------

_STAFF = [
    ("role-unknown", ["x1", "--role", "god"], "invalid choice"),
    ("role-injection", ["x1", "--role", "' OR 1=1 --"], "invalid choice"),
    ("role-missing", ["x1"], "--role"),
    ("scope-unknown-village", ["x1", "--role", "village_officer", "--scope", "150622999999"], "150622999999"),
    ("scope-wrong-shape", ["x1", "--role", "village_officer", "--scope", "150622106"], "needs scope: village"),
    ("scope-injection", ["x1", "--role", "township_officer", "--scope", "' OR 1=1 --"], "OR 1=1"),
    ("scope-for-banner-role", ["x1", "--role", "banner_admin", "--scope", "150622106"], "needs scope: banner"),
    ("scope-long", ["x1", "--role", "grid_worker", "--scope", "1" * 5000], "111111"),
    ("unit-unknown", ["x1", "--role", "township_officer", "--scope", "150622106", "--unit", "XX-nope"], "XX-nope"),
    ("username-blank", ["   ", "--role", "planner"], "username"),
    ("username-too-long", ["u" * 151, "--role", "planner"], "username"),
    ("username-nul", ["wang\x00", "--role", "planner"], "username"),
    ("password-weak", ["x1", "--role", "planner", "--password", "123"], "password"),
    ("password-common", ["x1", "--role", "planner", "--password", "password123"], "password"),
]
STAFF_INPUTS = table("add_staff", _STAFF)


@pytest.mark.parametrize(("args", "message"), STAFF_INPUTS)
def test_add_staff_refuses_bad_roles_scopes_and_names_and_writes_nothing(world, args, message):
    before = fingerprint()
    with pytest.raises(CommandError) as caught:
        call_command("add_staff", *args, stdout=StringIO(), stderr=StringIO())
    assert message in str(caught.value), str(caught.value)
    assert not changed(before, fingerprint())


def test_the_add_staff_control_is_accepted(world):
    call_command(
        "add_staff",
        "x1",
        "--role",
        "village_officer",
        "--scope",
        "150622106202",
        "--password",
        "Grass-land-2024",
        stdout=StringIO(),
    )
    assert fingerprint()["geo_disputes_staffprofile"][0] == 2


_RESTORE = [
    ("garbage-text", "garbage", ["--yes"], "is not a backup made by manage.py backup"),
    ("empty-file", "empty", ["--yes"], "is not a backup made by manage.py backup"),
    ("magic-then-junk", "magic", ["--yes"], "pg_restore failed"),
    ("plain-sql-dump", "sql", ["--yes"], "is not a backup made by manage.py backup"),
    ("tar-of-something-else", "tar", ["--yes"], "unexpected entry 'notes.txt'"),
    ("bundle-of-a-later-version", "version", ["--yes"], "backup bundle version 2"),
    ("bundle-with-a-damaged-file", "damaged", ["--yes"], "is damaged"),
    ("missing-file", "missing", ["--yes"], "no such file"),
    ("dot-dot-missing", "dotdot", ["--yes"], "no such file"),
    ("a-directory", "directory", ["--yes"], "is not a file"),
    ("without-yes", "magic", [], "--yes"),
]
RESTORE_INPUTS = table("restore", _RESTORE)


def _restore_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.dump"
    if kind == "garbage":
        path.write_text("not a backup at all\n" * 100)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "magic":
        path.write_bytes(b"PGDMP" + bytes(range(256)) * 40)
    elif kind == "sql":
        path.write_text("DROP TABLE geo_disputes_case;\n")
    elif kind in ("tar", "version", "damaged"):
        path = tmp_path / f"{kind}.tar"
        manifest = {"format": "geo-disputes-backup", "version": 2 if kind == "version" else 1, "attachments": 1}
        members = {"notes.txt": b"hello"} if kind == "tar" else {"BACKUP.json": json.dumps(manifest).encode()}
        if kind == "damaged":  # a file whose bytes are not what its name (the SHA-256) says
            members["attachments/" + "ab" * 32] = b"not the bytes of that hash"
        with tarfile.open(path, "w") as bundle:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                bundle.addfile(info, io.BytesIO(data))
    elif kind == "dotdot":
        path = tmp_path / ".." / ".." / "nowhere" / "x.dump"
    elif kind == "directory":
        path.mkdir()
    return path


@pytest.mark.parametrize(("kind", "args", "message"), RESTORE_INPUTS)
def test_restore_refuses_what_is_not_a_backup_and_changes_nothing(world, tmp_path, kind, args, message):
    path = _restore_file(tmp_path, kind)
    before = fingerprint()
    with pytest.raises(CommandError) as caught:
        call_command("restore", str(path), *args, stdout=StringIO(), stderr=StringIO())
    assert message in str(caught.value), str(caught.value)
    assert not changed(before, fingerprint())


_OTHER_COMMANDS = [
    ("tick-today-month-13", "tick", ["--today", "2024-13-01"], "--today"),
    ("tick-today-words", "tick", ["--today", "yesterday"], "--today"),
    ("tick-today-injection", "tick", ["--today", "' OR 1=1 --"], "--today"),
    ("link-unknown-reference", "link_cases", ["--reference", "ZGE-2099-99999"], "ZGE-2099-99999"),
    ("link-injection-reference", "link_cases", ["--reference", "' OR 1=1 --"], "OR 1=1"),
]
OTHER_COMMAND_INPUTS = table("tick / link_cases", _OTHER_COMMANDS)


@pytest.mark.parametrize(("command", "args", "message"), OTHER_COMMAND_INPUTS)
def test_tick_and_link_cases_refuse_bad_arguments_and_change_nothing(world, command, args, message):
    before = fingerprint()
    with pytest.raises(CommandError) as caught:
        call_command(command, *args, stdout=StringIO(), stderr=StringIO())
    assert message in str(caught.value), str(caught.value)
    assert not changed(before, fingerprint())


# --- the counts --------------------------------------------------------------------------------------------------


def test_every_endpoint_was_tried_with_enough_bad_inputs():
    width = max(map(len, BAD_INPUTS))
    lines = [f"{endpoint:<{width}}  {count:>4}" for endpoint, count in BAD_INPUTS.items()]
    print(
        "\nbad inputs tried per endpoint / command:\n" + "\n".join(lines) + f"\n{'total':<{width}}  "
        f"{sum(BAD_INPUTS.values()):>4}"
    )
    short = {e: (BAD_INPUTS[e], floor) for e, floor in MINIMUM.items() if BAD_INPUTS[e] < floor}
    assert not short, short
    assert set(BAD_INPUTS) == set(MINIMUM)
