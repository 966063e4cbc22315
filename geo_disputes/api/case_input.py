"""Parsing of case requests: query filters and the intake JSON body, each error naming its field."""

from __future__ import annotations

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

from geo_disputes.models.bounds import text_problem
from geo_disputes.services.cases.case_queries import CHOICES, DONE, OPEN, CaseFilter
from geo_disputes.services.cases.intake import AccusedPersonInput, IntakeRequest, Petitioner

from . import params

_CODE_MAX = 40


def case_filter(query) -> CaseFilter:
    return CaseFilter(
        bbox=params.bbox(query),
        category=_choice(query, "category"),
        status=_choice(query, "status", extra=(OPEN, DONE)),
        tier=_choice(query, "tier"),
        township=_code(query, "township"),
        village=_code(query, "village"),
        grid=_code(query, "grid"),
        mining_area=_code(query, "mining_area"),
        since=params.date(query, "since"),
        until=params.date(query, "until"),
        mining=_flag(query, "mining"),
        parcel=_code(query, "parcel"),
    )


def _flag(query, name: str) -> bool:
    value = query.get(name)
    if value in (None, "", "0", "false"):
        return False
    if value in ("1", "true"):
        return True
    raise ValidationError({name: f"use 1 or 0 / 应为 1 或 0: {value!r}"})


def intake_request(data) -> IntakeRequest:
    """An IntakeRequest from the POSTed JSON; types are checked here, domain rules in the intake service."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": "expected a JSON object"})
    known = {
        "category",
        "channel",
        "kind",
        "description",
        "lon",
        "lat",
        "datum",
        "accuracy_m",
        "parcel_code",
        "households_affected",
        "departments",
        "legacy",
        "petitioners",
        "received_at",
        "accused_unit",
        "accused_persons",
        "group",
        "procedure",
        "forwarded_by",
        "above_banner",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationError({unknown[0]: f"unknown field; fields: {', '.join(sorted(known))}"})
    for name in ("category", "channel", "description"):
        if name not in data:
            raise ValidationError({name: "required / 必填"})
    petitioners = data.get("petitioners", [])
    if not isinstance(petitioners, list) or not all(isinstance(p, dict) for p in petitioners):
        raise ValidationError({"petitioners": "expected a list of {name, phone, id_number}"})
    return IntakeRequest(
        category=_text(data, "category"),
        channel=_text(data, "channel"),
        kind=_text(data, "kind", "claim"),
        description=_text(data, "description"),
        lon=_number(data, "lon"),
        lat=_number(data, "lat"),
        datum=_text(data, "datum", "wgs84"),
        accuracy_m=_number(data, "accuracy_m"),
        parcel_code=_text(data, "parcel_code", ""),
        households_affected=_integer(data, "households_affected", 1),
        departments=_list_of_text(data, "departments"),
        legacy=_boolean(data, "legacy"),
        petitioners=[_petitioner(p, i) for i, p in enumerate(petitioners)],
        received_at=_received_at(data),
        accused_unit_code=_text(data, "accused_unit", ""),
        accused_persons=_accused_persons(data.get("accused_persons", [])),
        group_id=_integer(data, "group", None),
        procedure=_text(data, "procedure", ""),
        forwarded_by_code=_text(data, "forwarded_by", ""),
        above_banner=_text(data, "above_banner", ""),
    )


def _accused_persons(value) -> list[AccusedPersonInput]:
    """[{name, position, unit, user}] → AccusedPersonInput; texts only, the intake service checks the rest."""
    if not isinstance(value, list) or not all(isinstance(p, dict) for p in value):
        raise ValidationError({"accused_persons": "expected a list of {name, position, unit, user}"})
    people = []
    for i, p in enumerate(value):
        unknown = sorted(set(p) - {"name", "position", "unit", "user"})
        if unknown:
            raise ValidationError(
                {f"accused_persons[{i}].{unknown[0]}": "unknown field; fields: name, position, unit, user"}
            )
        texts = {}
        for key in ("name", "position", "unit", "user"):
            item = p.get(key, "")
            if not isinstance(item, str):
                raise ValidationError({f"accused_persons[{i}].{key}": "must be text / 应为文本"})
            texts[key] = item
        people.append(
            AccusedPersonInput(
                name=texts["name"], position=texts["position"], unit_code=texts["unit"], username=texts["user"]
            )
        )
    return people


def _choice(query, name: str, extra: tuple[str, ...] = ()) -> str | None:
    value = query.get(name)
    if not value:
        return None
    allowed = (*CHOICES[name].values, *extra)
    if value not in allowed:
        raise ValidationError({name: f"unknown {name} {value!r}; use one of: {', '.join(allowed)}"})
    return value


def _code(query, name: str) -> str | None:
    value = query.get(name)
    if not value:
        return None
    if len(value) > _CODE_MAX or not all(c.isalnum() or c == "-" for c in value):
        raise ValidationError({name: f"not a code: {value!r}"})
    return value


def _text(data: dict, name: str, default: str | None = None) -> str:
    value = data.get(name, default)
    if value is None:
        value = default if default is not None else ""
    if not isinstance(value, str):
        raise ValidationError({name: "expected a string"})
    problem = text_problem(value)
    if problem:
        raise ValidationError({name: problem})
    return value


def _number(data: dict, name: str) -> float | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError({name: "expected a number"})
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValidationError({name: f"not a number: {value!r}"}) from None
    if not isinstance(value, int | float):
        raise ValidationError({name: "expected a number"})
    return float(value)


def _integer(data: dict, name: str, default: int | None) -> int | None:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({name: "expected an integer"})
    return value


def _boolean(data: dict, name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ValidationError({name: "expected true or false"})
    return value


def _list_of_text(data: dict, name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError({name: "expected a list of strings"})
    return value


def _petitioner(item: dict, index: int) -> Petitioner:
    unknown = sorted(set(item) - {"name", "phone", "id_number", "representative"})
    if unknown:
        raise ValidationError(
            {f"petitioners[{index}].{unknown[0]}": "unknown field; use name, phone, id_number, representative"}
        )
    representative = item.get("representative")
    if representative is not None and not isinstance(representative, bool):
        raise ValidationError({f"petitioners[{index}].representative": "expected true or false"})
    values = {}
    for key in ("name", "phone", "id_number"):
        value = item.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ValidationError({f"petitioners[{index}].{key}": "expected a string"})
        problem = text_problem(value)
        if problem:
            raise ValidationError({f"petitioners[{index}].{key}": problem})
        values[key] = value
    return Petitioner(**values, representative=representative)


def _received_at(data: dict):
    value = data.get("received_at")
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well formed but no such moment, e.g. month 13 or 30 February
        parsed = None
    if parsed is None:
        raise ValidationError({"received_at": "expected an ISO 8601 date-time"})
    if parsed.tzinfo is None:
        parsed = timezone.make_aware(parsed)
    return parsed
