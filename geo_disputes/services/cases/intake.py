"""Intake (村民说事): record a case where it happens and hand it to the tier that must resolve it.

One function for the form, the API and the demo loader: validate, locate (datum-aware),
number, store petitioners (a group visit: at most 5 representatives, Art. 20), attach parcels,
route, choose the procedure (services.cases.procedures), detect a repeat petition (Art. 19 ¶3) or a
matter already re-reviewed (Art. 36), and write the history — in one transaction, so a refused
intake leaves nothing behind.

`received_at` may lie in the past (a letter is registered on the day it arrived); a matter that
arrives forwarded or assigned names the forwarding unit (`forwarded_by`), and then the holder may
object within 5 working days of its receipt (Art. 23). `above_banner` records a matter that went
above the banner (赴市、赴区、进京) or came down assigned from above (上级交办): 矛盾不上交 counts them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from geo_disputes.models import Case, CaseEvent, CaseGroup, CaseParcel, Parcel, Party, Unit
from geo_disputes.models.bounds import NAME_MAX, TEXT_MAX, date_range_message, plausible_date
from geo_disputes.models.cases import AboveBanner, Category, Channel, PetitionKind, Procedure, Status
from geo_disputes.services.areas.area_scope import banner_visible
from geo_disputes.services.areas.coords import Datum, DatumError, parse_datum
from geo_disputes.services.areas.locate import OutsideBanner, locate, outside_banner
from geo_disputes.services.cases.access import visible_cases
from geo_disputes.services.cases.clock import local_date
from geo_disputes.services.cases.groups import visible_group
from geo_disputes.services.cases.procedures import choose_procedure, holder_for
from geo_disputes.services.cases.recusal import may_note_match, name_accused
from geo_disputes.services.cases.references import next_reference
from geo_disputes.services.cases.repeats import find_original
from geo_disputes.services.cases.routing import DEPARTMENTS, route_case
from geo_disputes.services.cases.units import tier_of_unit

MAX_DESCRIPTION = TEXT_MAX
MAX_PETITIONERS = 200
MAX_ACCUSED_PERSONS = 20
MAX_REPRESENTATIVES = 5  # 条例 Art. 20: a group visit sends at most 5 representatives


class IntakeError(ValueError):
    """Bad intake data; `field` names the offending field for forms and the API."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class AccusedPersonInput:
    """An official an accusation names: a name, and where known the post, unit code and staff account."""

    name: str
    position: str = ""
    unit_code: str = ""
    username: str = ""


@dataclass
class Petitioner:
    name: str
    phone: str = ""
    id_number: str = ""
    representative: bool | None = None


@dataclass
class IntakeRequest:
    category: str
    channel: str
    description: str
    kind: str = PetitionKind.CLAIM
    lon: float | None = None
    lat: float | None = None
    datum: str = Datum.WGS84.value
    accuracy_m: float | None = None
    parcel_code: str = ""
    households_affected: int = 1
    departments: list[str] = field(default_factory=list)
    legacy: bool = False
    petitioners: list[Petitioner] = field(default_factory=list)
    received_at: dt.datetime | None = None
    accused_unit_code: str = ""
    accused_persons: list[AccusedPersonInput] = field(default_factory=list)
    group_id: int | None = None
    procedure: str = ""
    forwarded_by_code: str = ""
    above_banner: str = ""


def open_case(req: IntakeRequest, actor=None) -> Case:
    """Validate, locate, store and route a new case; raise IntakeError naming the field."""
    _validate(req)
    received_at = req.received_at or timezone.now()
    with transaction.atomic():
        named_parcel = _named_parcel(req, local_date(received_at))
        lon, lat, datum = _position(req, named_parcel)
        try:
            loc = locate(lon, lat, datum, on=local_date(received_at))
        except OutsideBanner as exc:
            raise IntakeError("lon", str(exc)) from None
        _check_actors_banner(loc, actor)
        accused = _accused_unit(req.accused_unit_code)
        named = _accused_persons(req)
        forwarded_by = _forwarding_unit(req.forwarded_by_code)
        group = _group(req.group_id, req.category, actor, req.kind)
        mining = loc.mining_area
        case = Case.objects.create(
            reference=next_reference(local_date(received_at).year, loc.banner_code),
            banner_code=loc.banner_code,
            category=req.category,
            channel=req.channel,
            kind=req.kind,
            description=req.description.strip(),
            location=loc.point,
            datum=datum.value,
            submitted_lon=lon,
            submitted_lat=lat,
            accuracy_m=req.accuracy_m,
            households_affected=req.households_affected,
            departments=list(dict.fromkeys(req.departments)),
            legacy=req.legacy,
            township_code=loc.township.code if loc.township else "",
            village_code=loc.village.code if loc.village else "",
            grid_code=loc.grid.code if loc.grid else "",
            mining_area_code=mining.area.code if mining else "",
            mining_relation=mining.relation if mining else "",
            linked_at=timezone.now(),
            received_at=received_at,
            accused_unit=accused,
            forwarded_by=forwarded_by,
            above_banner=req.above_banner,
            group=group,
            status=Status.REPORTED,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        CaseParcel.objects.bulk_create(
            [CaseParcel(case=case, parcel=p, source=CaseParcel.Source.POINT) for p in loc.parcels]
        )
        if named_parcel is not None and named_parcel not in loc.parcels:
            CaseParcel.objects.create(case=case, parcel=named_parcel, source=CaseParcel.Source.NAMED)
        for name, position, unit, user in named:  # before routing: no co-handler may stand on the accused side
            name_accused(case, name, position, unit, user)
        representatives = _representatives(req)
        Party.objects.bulk_create(
            [
                Party(
                    case=case,
                    name=p.name.strip(),
                    phone=p.phone.strip(),
                    id_number=p.id_number.strip(),
                    representative=i in representatives,
                )
                for i, p in enumerate(req.petitioners)
            ]
        )
        CaseEvent.objects.create(
            case=case,
            at=_event_time(case),
            actor=case.created_by,
            action="report",
            to_status=Status.REPORTED,
            changes={"channel": case.channel, "datum": case.datum, "village": case.village_code},
            reason="登记(说事) / reported",
        )
        route_case(case, case.created_by, at=_event_time(case))
        _choose_procedure(case, req.procedure)
        _link_repeat(case)
    case.refresh_from_db()
    return case


def _validate(req: IntakeRequest) -> None:
    for name, choices in (("category", Category), ("channel", Channel), ("kind", PetitionKind)):
        value = getattr(req, name)
        if value not in choices.values:
            raise IntakeError(name, f"unknown {name} {value!r}; use one of: {', '.join(choices.values)}")
    if not isinstance(req.description, str) or not req.description.strip():
        raise IntakeError("description", "required / 请填写事项描述")
    if len(req.description) > MAX_DESCRIPTION:
        raise IntakeError("description", f"至多 {MAX_DESCRIPTION} 字 / at most {MAX_DESCRIPTION} characters")
    try:
        parse_datum(req.datum)
    except DatumError as exc:
        raise IntakeError("datum", str(exc)) from None
    for name in ("lon", "lat", "accuracy_m"):
        value = getattr(req, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
        ):
            raise IntakeError(name, f"must be a finite number, got {value!r}")
    if req.lon is not None and not -180 <= req.lon <= 180:
        raise IntakeError("lon", "out of range [-180, 180]")
    if req.lat is not None and not -90 <= req.lat <= 90:
        raise IntakeError("lat", "out of range [-90, 90]")
    if (req.lon is None) != (req.lat is None):
        raise IntakeError(
            "lat" if req.lat is None else "lon",
            "经度和纬度须同时填写，或填写地块编码 / give both lon and lat, or a parcel_code",
        )
    if req.lon is None and not req.parcel_code:
        raise IntakeError(
            "lon",
            "请填写位置：在地图上点选、输入经纬度（及坐标系）或填写地块编码"
            " / a location is required: lon/lat with datum, or parcel_code",
        )
    if req.received_at is not None and req.received_at > timezone.now() + dt.timedelta(minutes=5):
        raise IntakeError("received_at", "cannot be in the future")
    if req.received_at is not None and not plausible_date(req.received_at):
        raise IntakeError("received_at", date_range_message("received_at"))
    if req.accuracy_m is not None and req.accuracy_m < 0:
        raise IntakeError("accuracy_m", "must not be negative")
    if isinstance(req.households_affected, bool) or not isinstance(req.households_affected, int):
        raise IntakeError("households_affected", "must be an integer")
    if not 0 <= req.households_affected <= 100000:
        raise IntakeError("households_affected", "must be between 0 and 100000")
    if not isinstance(req.departments, list) or any(d not in DEPARTMENTS for d in req.departments):
        raise IntakeError("departments", f"unknown department; use: {', '.join(sorted(DEPARTMENTS))}")
    if not isinstance(req.legacy, bool):
        raise IntakeError("legacy", "must be true or false")
    if req.procedure and req.procedure not in Procedure.values:
        raise IntakeError(
            "procedure", f"unknown procedure {req.procedure!r}; use one of: {', '.join(Procedure.values)}"
        )
    if req.above_banner not in AboveBanner.values:
        raise IntakeError("above_banner", f"use one of: {', '.join(v for v in AboveBanner.values if v)}")
    flagged = sum(1 for p in req.petitioners if p.representative)
    if flagged > MAX_REPRESENTATIVES:
        raise IntakeError(
            "petitioners",
            f"{flagged} representatives: a group visit sends at most {MAX_REPRESENTATIVES} (条例 Art. 20); "
            "record the others as members (representative: false)",
        )
    if len(req.petitioners) > MAX_PETITIONERS:
        raise IntakeError("petitioners", f"at most {MAX_PETITIONERS}; a group visit sends representatives")
    for i, p in enumerate(req.petitioners):
        if not p.name or not p.name.strip() or len(p.name) > NAME_MAX:
            raise IntakeError(
                f"petitioners[{i}].name", f"必填,至多 {NAME_MAX} 字 / required, at most {NAME_MAX} characters"
            )
        if len(p.phone) > 20:
            raise IntakeError(f"petitioners[{i}].phone", "at most 20 characters")
        if p.id_number and not _valid_id_number(p.id_number):
            raise IntakeError(f"petitioners[{i}].id_number", "not an 18-character resident ID number")


def _valid_id_number(value: str) -> bool:
    value = value.strip().upper()
    return len(value) == 18 and value[:17].isdigit() and (value[17].isdigit() or value[17] == "X")


def _named_parcel(req: IntakeRequest, on: dt.date) -> Parcel | None:
    if not req.parcel_code:
        return None
    parcel = Parcel.objects.in_force(on).filter(code=req.parcel_code).first()
    if parcel is None:
        raise IntakeError("parcel_code", f"no parcel with code {req.parcel_code!r}")
    return parcel


def _position(req: IntakeRequest, parcel: Parcel | None) -> tuple[float, float, Datum]:
    """The submitted point, or — when only a parcel is named — a point inside that parcel (WGS84)."""
    if req.lon is not None:
        return float(req.lon), float(req.lat), parse_datum(req.datum)
    inside = parcel.geom.point_on_surface
    return inside.x, inside.y, Datum.WGS84


def _check_actors_banner(loc, actor) -> None:
    """A banner's staff register cases in their own banner(s) only (several banners per deployment): a point in
    another banner is answered exactly as a point outside every banner — the answer would otherwise hand them
    that banner's unit, grid worker and reference count. Commands acting for nobody (actor None) are not limited."""
    if actor is not None and not banner_visible(actor, loc.banner_code):
        raise IntakeError("lon", str(outside_banner(loc.lon, loc.lat)))


def _accused_unit(code: str) -> Unit | None:
    if not code:
        return None
    unit = Unit.objects.filter(code=code).first()
    if unit is None:
        raise IntakeError("accused_unit", f"no unit with code {code!r}")
    return unit


def _accused_persons(req: IntakeRequest) -> list[tuple[str, str, Unit | None, object]]:
    """The accused persons as (name, post, unit, account); only an accusation names any (条例 Art. 30)."""
    if req.accused_persons and req.kind != PetitionKind.ACCUSATION:
        raise IntakeError("accused_persons", "only an accusation (kind: accusation) names accused persons")
    if len(req.accused_persons) > MAX_ACCUSED_PERSONS:
        raise IntakeError("accused_persons", f"at most {MAX_ACCUSED_PERSONS}")
    people = []
    for i, p in enumerate(req.accused_persons):
        where = f"accused_persons[{i}]"
        if not p.name.strip() or len(p.name) > 50:
            raise IntakeError(f"{where}.name", "required, at most 50 characters / 姓名必填,不超过50字")
        if len(p.position) > 100:
            raise IntakeError(f"{where}.position", "at most 100 characters / 职务不超过100字")
        unit = Unit.objects.filter(code=p.unit_code).first() if p.unit_code else None
        if p.unit_code and unit is None:
            raise IntakeError(f"{where}.unit", f"no unit with code {p.unit_code!r}")
        user = get_user_model().objects.filter(username=p.username).first() if p.username else None
        if p.username and user is None:
            raise IntakeError(f"{where}.user", f"no staff account {p.username!r}")
        people.append((p.name.strip(), p.position.strip(), unit, user))
    return people


def _event_time(case: Case) -> dt.datetime:
    """Intake's events happen when the matter was received (a letter registered later, a replayed year)."""
    return min(case.received_at, timezone.now())


def _forwarding_unit(code: str) -> Unit | None:
    if not code:
        return None
    unit = Unit.objects.filter(code=code).first()
    if unit is None:
        raise IntakeError("forwarded_by", f"no unit with code {code!r}")
    return unit


def _representatives(req: IntakeRequest) -> set[int]:
    """Indexes of the representatives: as flagged, else on a visit the first five who came (Art. 20)."""
    flagged = {i for i, p in enumerate(req.petitioners) if p.representative}
    if flagged or any(p.representative is False for p in req.petitioners):
        return flagged
    if req.channel == Channel.VISIT and len(req.petitioners) > 1:  # a group visit: its first five speak for it
        return set(range(min(len(req.petitioners), MAX_REPRESENTATIVES)))
    return set()


def _choose_procedure(case: Case, requested: str) -> None:
    """Set the procedure (services.cases.procedures) and say why, in the case's routing reason and history.

    A petition routed to a village goes to its township: the village committee helps (代办), but a
    written handling opinion comes from a government body (乡镇人民政府), not a self-governing committee.
    """
    rule_procedure = case.routing_rule.procedure if case.routing_rule_id else ""
    procedure, why = choose_procedure(
        kind=case.kind, channel=case.channel, tier=case.tier, rule_procedure=rule_procedure, requested=requested
    )
    case.procedure = procedure
    changes: dict = {"procedure": procedure}
    holder = holder_for(case, procedure)
    if holder is not None:
        unit, because = holder
        changes["tier"] = [case.tier, tier_of_unit(unit)]
        changes["unit"] = [case.unit.code if case.unit_id else "", unit.code]
        case.tier, case.unit, case.responsible_person = tier_of_unit(unit), unit, unit.head_name
        why += f"; {because}"
    case.routing_reason = f"{case.routing_reason}; 程序 procedure: {Procedure(procedure).label}({why})"
    case.save(update_fields=["procedure", "routing_reason", "tier", "unit", "responsible_person"])
    CaseEvent.objects.create(
        case=case,
        at=_event_time(case),
        actor=case.created_by,
        action="procedure",
        from_status=case.status,
        to_status=case.status,
        changes=changes,
        reason=why,
    )


def _link_repeat(case: Case) -> None:
    """Link a repeat to its open original (no clock of its own), or refuse a matter already re-reviewed.

    Only when the person registering may see the original: otherwise the answer itself (a `repeat`, a
    refusal) would tell them that this person has a matter elsewhere — perhaps an accusation against
    their own unit (Art. 30). Then the new case goes on as any other, and the match is handed to those
    who hold the original: a `possible_repeat` note in the original's history names the new case.
    """
    original, final = find_original(case)
    if original is None:
        return
    # An accusation and an ordinary matter are never one matter (条例 Arts. 29–31): linked, an accusation would
    # run no clock and be answered by the original's holder (perhaps the accused), and an ordinary repeat of an
    # accusation would show its readers — perhaps the accused village — an original hidden from them.
    same_kind = (case.kind == PetitionKind.ACCUSATION) == (original.kind == PetitionKind.ACCUSATION)
    unseen = case.created_by is not None and not visible_cases(case.created_by).filter(pk=original.pk).exists()
    if unseen or not same_kind:
        if not may_note_match(case, original):
            return  # the original's readers may stand on this accusation's accused side: its own holders decide
        CaseEvent.objects.create(
            case=original,
            at=_event_time(case),
            actor=None,
            action="possible_repeat",
            from_status=original.status,
            to_status=original.status,
            changes={"case": case.reference, "final": final},
            reason="同一信访人就同一事项另行登记,请核实并案(条例第19条、第36条) / "
            "the same person registered the same matter elsewhere: check and link",
        )
        return
    before = case.status
    case.repeat_of = original
    if final:
        case.status = Status.NOT_ACCEPTED
        case.not_accepted_reason = (
            "同一事项已经复核,不再受理(条例第36条) / the same matter was already re-reviewed and is not accepted again"
        )
        reason = case.not_accepted_reason
    else:
        case.status = Status.REPEAT
        reason = "重复信访:同一事项正在办理(条例第19条第3款),并入原事项,不另计时限 / repeat of an open matter: no clock"
    case.save(update_fields=["repeat_of", "status", "not_accepted_reason"])
    CaseEvent.objects.create(
        case=case,
        at=_event_time(case),
        actor=case.created_by,
        action="link_repeat",
        from_status=before,
        to_status=case.status,
        changes={"repeat_of": original.reference},
        reason=reason,
    )


def _group(group_id: int | None, category: str, actor, kind: str = PetitionKind.CLAIM) -> CaseGroup | None:
    """The group the new case joins: one the actor may see (else answered as missing) and of its category.

    Joining re-routes the case by the group's scale, so a group out of scope or of another matter
    would send the case elsewhere; the answer never echoes the title of a group the actor cannot see.
    """
    if group_id is None:
        return None
    if kind == PetitionKind.ACCUSATION:
        raise IntakeError(
            "group",
            "an accusation is not one event with other matters: it goes to the discipline commission alone "
            "/ 检举控告不并入事项组(条例第22条、第30条)",
        )
    group = visible_group(actor, group_id)
    if group is None:
        raise IntakeError("group", f"no case group {group_id} / 无此事项组")
    if group.category != category:
        raise IntakeError(
            "group",
            f"case group {group_id} is of category {group.category!r}, not {category!r}: a group is one matter "
            "/ 事项组类别不同,不能并入",
        )
    return group
