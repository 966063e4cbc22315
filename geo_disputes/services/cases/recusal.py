"""The accused side of an accusation (条例 Arts. 28, 30 ¶3): who must never see, hold or be handed it.

A **unit** is on the accused side when it is the accused unit or the unit of an accused person, or
a committee inside the area of an accused committee (a village committee inside an accused
township: the village branch works under the township committee's leadership). Banner bodies have
the whole banner as their area, so only committees carry an area here — an accused department does
not put every unit of the banner on its side.

A **staff account** is on the accused side when its unit is, when its scope lies inside the area of
an accused committee (the village's officers, the grid workers of its grids, field staff bound to
it), when it is an accused person's account, or when it was recused (回避). The one filter,
`hidden_from`, is what `access.visible_cases` excludes, so every list, page, map layer, export,
proposal and search obeys it; the hand-over checks (`unit_on_accused_side`, `names_accused`) keep
transfer, assignment, the agenda, review, leads and the daily supervision away from that side.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q

from geo_disputes.models import AccusedPerson, Case, CaseEvent, Recusal, StaffProfile, Unit

# Units whose area is a place: an accusation against one reaches everyone working inside it.
COMMITTEES = (Unit.Kind.VILLAGE_COMMITTEE, Unit.Kind.TOWNSHIP_COMMITTEE)


def scope_prefixes(code: str) -> set[str]:
    """The township, village and own codes a scope or area code lies inside ("150622101206-001" → 3 codes)."""
    code = (code or "").strip()
    if not code:
        return set()
    return {code[:n] for n in (9, 12) if len(code) >= n} | {code}


def hidden_from(user, profile: StaffProfile | None) -> Q:
    """The cases `user` (with `profile`) must never see: the accused side of each accusation, and recusals."""
    hidden = Q(recusals__user_id=user.pk) | Q(accused_persons__user_id=user.pk)
    if profile is None:
        return hidden
    if profile.unit_id is not None:
        hidden |= Q(accused_unit_id=profile.unit_id) | Q(accused_persons__unit_id=profile.unit_id)
    inside = scope_prefixes(profile.scope_code)
    if profile.unit_id is not None and profile.unit.kind in COMMITTEES:
        inside |= scope_prefixes(profile.unit.area_code)
    if inside:
        # The accused unit as a sub-select of unit ids, not a join: inside `exclude` a join to the unit
        # table stays in every list's statement and spoils its row estimates (bench/LOAD.md).
        hidden |= Q(accused_unit_id__in=Unit.objects.filter(kind__in=COMMITTEES, area_code__in=inside).values("pk"))
        hidden |= Q(accused_persons__unit__kind__in=COMMITTEES, accused_persons__unit__area_code__in=inside)
    return hidden


def accused_units(case: Case) -> list[Unit]:
    """The accused unit and the units of the accused persons, once each."""
    units = {case.accused_unit_id: case.accused_unit} if case.accused_unit_id else {}
    for person in case.accused_persons.select_related("unit").exclude(unit=None):
        units.setdefault(person.unit_id, person.unit)
    return list(units.values())


def unit_on_accused_side(case: Case, unit: Unit | None) -> bool:
    """Whether handing `case` to `unit` (or sharing it with it) would reach the accused side."""
    if unit is None:
        return False
    for accused in accused_units(case):
        if unit.pk == accused.pk:
            return True
        if accused.kind in COMMITTEES and accused.area_code and unit.area_code.startswith(accused.area_code):
            return True
    return False


def _accused_side(case: Case) -> tuple[set[int], set[int]]:
    """The accused units (by id) and accused persons' accounts (by id) of `case`."""
    units = {u.pk for u in accused_units(case)}
    users = set(case.accused_persons.exclude(user=None).values_list("user_id", flat=True))
    return units, users


def may_note_match(new: Case, earlier: Case) -> bool:
    """Whether a match of `new` (a repeat, a near-identical case) may be noted in `earlier`'s history.

    The note names `new` to everyone who reads `earlier`; when `new` is an accusation whose accused side may
    read `earlier` (the accuser's ordinary matter, held by the accused village), it would tell the accused
    that this person registered something they cannot see (条例 Art. 30). So only when `new`'s accused side
    lies within `earlier`'s (no side at all, or the same accused units and persons) and every reader of
    `earlier` is off it.
    """
    new_units, new_users = _accused_side(new)
    if not new_units and not new_users:
        return True
    earlier_units, earlier_users = _accused_side(earlier)
    return new_units <= earlier_units and new_users <= earlier_users


def names_accused(case: Case, person: str) -> bool:
    """Whether a responsible person's name is an accused person's or the head of an accused unit."""
    person = (person or "").strip()
    if not person:
        return False
    heads = {u.head_name.strip() for u in accused_units(case) if u.head_name}
    names = set(case.accused_persons.values_list("name", flat=True))
    return person in heads | {n.strip() for n in names}


def recuse(case: Case, user, ground: str, reason: str = "", recorded_by=None) -> Recusal:
    """Keep `user` off `case` from now on (idempotent: a second recusal of the same person keeps the first)."""
    try:
        with transaction.atomic():
            return Recusal.objects.create(
                case=case,
                user=user,
                username=user.get_username(),
                ground=ground,
                reason=reason,
                recorded_by=recorded_by if getattr(recorded_by, "is_authenticated", False) else None,
            )
    except IntegrityError:
        return Recusal.objects.get(case=case, user=user)


def name_accused(case: Case, name: str, position: str = "", unit: Unit | None = None, user=None) -> AccusedPerson:
    """Record an official the accusation names; one with an account is recused at once (Art. 30)."""
    person = AccusedPerson.objects.create(case=case, name=name, position=position, unit=unit, user=user)
    if user is not None:
        recuse(case, user, Recusal.Ground.ACCUSED)
    return person


class RecusalError(ValueError):
    """A recusal that cannot be recorded; `field` names the offending input."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def record_recusal(case: Case, actor, username: str, ground: str, reason: str) -> Recusal:
    """Recuse the staff account `username` from `case` and say so in the history (条例 Art. 28).

    Who may do it is the caller's question (access.may_recuse); this checks the input and writes.
    """
    user = get_user_model().objects.filter(username=(username or "").strip()).first()
    if user is None:
        raise RecusalError("user", f"no staff account {username!r} / 无此账号")
    if ground not in Recusal.Ground.values:
        raise RecusalError("ground", f"use one of: {', '.join(Recusal.Ground.values)}")
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise RecusalError("reason", "required, at most 500 characters / 须说明回避事由,不超过500字")
    with transaction.atomic():
        recusal = recuse(case, user, ground, reason, actor)
        CaseEvent.objects.create(
            case=case,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            action="recuse",
            from_status=case.status,
            to_status=case.status,
            changes={"recused": user.get_username(), "ground": ground},
            reason=reason,
        )
    return recusal
