"""Daily supervision (督办, 条例 Chapter 5): overdue matters are supervised where they are, never moved up.

`run_tick(today)` selects, in SQL with the clock's `annotate_dues`, every open matter past the
deadline that binds its holder — a petition's statutory clock or a joint meeting's deadline (the
courts and arbitration are never supervised by leaders: 诉访分离; a repeat petition runs no clock) —
and records a **supervision act** against the unit holding it, ordered by the body above that unit:
a village committee by its township, a township by the banner petitions bureau (the joint meeting's
office), a banner body by the joint meeting through banner leadership.

Acts climb a ladder while the matter stays overdue: 督办 `urge` (report within 7 days), then 约谈
`summon` (7 days), 通报 `notice` (15 days), 挂牌督办 `listed` (30 days, repeated while it lasts). The
next step comes only once the previous act's deadline has passed; each act names the missed deadline
("conclude_by:2026-05-01"), so a second run the same day — or the next — changes nothing until a
step falls due. The case's status, tier, unit and version are never touched: an officer editing the
case is not bounced by the night's run, and the rankings blame the unit that let its own clock run out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from geo_disputes.models import Banner, Case, CaseEvent, Role, SupervisionAct, Unit
from geo_disputes.models.cases import Procedure, Status, Tier
from geo_disputes.services.cases.access import banner_prefix, staff_profile, visible_cases
from geo_disputes.services.cases.clock import (
    DEADLINE_LABELS,
    OPEN_STATUSES,
    STATUTE_TZ,
    DueState,
    annotate_dues,
    deadline_key,
    local_date,
)
from geo_disputes.services.cases.recusal import unit_on_accused_side
from geo_disputes.services.cases.units import department_code, unit_banner
from geo_disputes.services.cases.workdays import sync_calendar
from geo_disputes.services.cases.workflow import record_supervision

K = SupervisionAct.Kind
LADDER: tuple[str, ...] = (K.URGE, K.SUMMON, K.NOTICE, K.LISTED)
STEP_DAYS: dict[str, int] = {K.URGE: 7, K.SUMMON: 7, K.NOTICE: 15, K.LISTED: 30}


@dataclass
class TickReport:
    """What one run did, one line per case, for the command's output and the operator's log."""

    today: dt.date
    supervised: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def supervisable(qs: QuerySet[Case]) -> QuerySet[Case]:
    """The open matters leaders may supervise at all: a petition's statutory clock or a joint meeting's deadline,
    never a court's or an arbitration's matter (诉访分离), never a repeat (it runs no clock)."""
    clocked = Q(procedure=Procedure.PETITION) | Q(status=Status.ON_AGENDA)
    return qs.filter(clocked, status__in=OPEN_STATUSES).exclude(tier=Tier.MINING_COURT)


def overdue_cases(today: dt.date) -> QuerySet[Case]:
    """Open matters past the deadline that binds their holder on `today`, with the dues annotated."""
    return (
        annotate_dues(supervisable(Case.objects.all()), today)
        .filter(due_state=DueState.OVERDUE)
        .select_related("unit")
        .order_by("next_due", "id")
    )


def next_step(case: Case, missed: str, today: dt.date) -> str | None:
    """The kind of act `case` is due for on `today`, or None while the last act's deadline runs."""
    last = SupervisionAct.objects.filter(case=case, missed=missed).order_by("-at", "-id").first()
    if last is None:
        return K.URGE
    if last.deadline >= today:
        return None
    position = LADDER.index(last.kind) if last.kind in LADDER else 0
    return LADDER[min(position + 1, len(LADDER) - 1)]


def supervising_body(case: Case, names: dict[str, tuple[Unit | None, str]] | None = None) -> str:
    """The code and name of the body above the holder, which orders the supervision (`names`: a run's cache).

    A body on the accused side of an accusation never supervises it (回避): the next one up does.
    """
    bodies = {} if names is None else names  # code -> (unit or None, "code name"), looked up once per run
    accusation = case.accused_unit_id is not None or case.accused_persons.exists()
    for code in _bodies_above(case):
        if code not in bodies:
            unit = Unit.objects.filter(code=code).first()
            bodies[code] = (unit, f"{code} {unit.name}" if unit else code)
        unit, name = bodies[code]
        if not (accusation and unit_on_accused_side(case, unit)):
            return name
    return "上级(市)人民政府 / the city government"


def _bodies_above(case: Case) -> list[str]:
    """The supervising bodies of the holder, nearest first: township → petitions bureau → banner leadership."""
    unit = case.unit
    bureau, leadership = _banner_bodies(case.banner_code)
    if unit.kind == Unit.Kind.VILLAGE_COMMITTEE and case.township_code:
        return [f"TC-{case.township_code}", bureau, leadership]
    if unit.code == bureau or unit.kind == Unit.Kind.BANNER_LEADERSHIP:
        return [leadership]
    return [bureau, leadership]


def _banner_bodies(banner_code: str) -> tuple[str, str]:
    """The codes of a banner's petitions bureau and its leadership: the supervisors above the townships."""
    return department_code("petitions", banner_code), f"BL-{banner_code or settings.BANNER_CODE}"


def run_tick(today: dt.date) -> TickReport:
    """Supervise overdue matters as of `today` (Asia/Shanghai); safe to run any number of times."""
    _sync_calendar_once_a_day()
    report = TickReport(today=today)
    now = dt.datetime.combine(today, dt.time(1, 0), tzinfo=STATUTE_TZ)
    names: dict[str, tuple[Unit | None, str]] = {}  # supervising bodies, looked up once per run
    for case in list(overdue_cases(today)):
        if case.unit is None:
            report.skipped.append(f"{case.reference}: no responsible unit to supervise")
            continue
        missed = deadline_key(case.next_due_kind, case.next_due)
        kind = next_step(case, missed, today)
        if kind is None:
            continue
        reason = _reason(case, kind)
        deadline = today + dt.timedelta(days=STEP_DAYS[kind])
        with transaction.atomic():
            locked = Case.objects.select_for_update(of=("self",)).select_related("unit").get(pk=case.pk)
            act = record_supervision(
                locked,
                kind=kind,
                reason=reason,
                deadline=deadline,
                at=now,
                ordered_by=supervising_body(locked, names),
                missed=missed,
            )
            CaseEvent.objects.create(
                case=locked,
                at=now,
                actor=None,
                action="supervise",
                from_status=locked.status,
                to_status=locked.status,
                changes={"supervision": act.pk, "kind": kind, "missed": missed, "ordered_by": act.ordered_by},
                reason=reason,
            )
        report.supervised.append(
            f"{case.reference}: {SupervisionAct.Kind(kind).label} {case.unit.code} by {act.ordered_by}, "
            f"report by {deadline}; {reason}"
        )
    return report


_synced_on: dt.date | None = None


def _sync_calendar_once_a_day() -> None:
    """Refresh the working-day table from the library (a new year's arrangement), once per process and day."""
    global _synced_on
    today = dt.date.today()
    if _synced_on != today:
        sync_calendar()
        _synced_on = today


def _reason(case: Case, kind: str) -> str:
    """The missed deadline in words, from the dues annotated on `case`."""
    late = -case.days_left
    label = SupervisionAct.Kind(kind).label
    missed_zh, _sep, missed_en = DEADLINE_LABELS[case.next_due_kind].partition(" / ")
    # One Chinese half, one English half (the page shows the one of its language): not a chain of bilingual parts.
    return (
        f"{label}:逾期{late}日,{missed_zh}期限为{case.next_due} / "
        f"overdue by {late} day(s): {missed_en} was due {case.next_due}"
    )


def supervised_cases(unit: Unit, user, on: dt.date | None = None) -> list[Case]:
    """The open matters `unit` must supervise on `on`: overdue or due soon, held by the units below it (a township
    committee over its villages' committees; the petitions bureau over townships and banner departments; banner
    leadership over the bureau) — the same `supervising_body` the daily run records acts for, so an accusation
    against a holder is supervised by the next body up, never by a body on the accused side. Only cases `user`
    may see. Each case comes with its recorded acts (`acts`), newest first; the case stays where it is."""
    on = on or local_date(timezone.now())
    below = _held_below(unit)
    if below is None:
        return []
    candidates = (
        annotate_dues(visible_cases(user, supervisable(Case.objects.filter(below))), on)
        .filter(due_state__in=[DueState.OVERDUE, DueState.DUE_SOON])
        .select_related("unit")
        .order_by(F("next_due").asc(nulls_last=True), "received_at", "id")
    )
    names: dict[str, tuple[Unit | None, str]] = {}
    chosen = [c for c in candidates if supervising_body(c, names).split(" ", 1)[0] == unit.code]
    acts: dict[int, list[SupervisionAct]] = {}
    for act in SupervisionAct.objects.filter(case__in=[c.pk for c in chosen]).order_by("-at", "-id"):
        acts.setdefault(act.case_id, []).append(act)
    for case in chosen:
        case.acts = acts.get(case.pk, [])
    return chosen


def supervising_units(user) -> list[Unit]:
    """The supervising bodies above the townships whose lists `user` keeps: the banner admin (and a superuser) acts
    for the petitions bureau and banner leadership, which no staff account belongs to."""
    profile = staff_profile(user)
    if not (user.is_superuser or getattr(profile, "role", "") == Role.BANNER_ADMIN):
        return []
    seen = banner_prefix(user)
    banners = [seen] if len(seen) == 6 else Banner.objects.filter(code__startswith=seen).values_list("code", flat=True)
    codes = [code for banner in sorted(set(banners) or {settings.BANNER_CODE}) for code in _banner_bodies(banner)]
    return sorted(Unit.objects.filter(code__in=codes), key=lambda unit: codes.index(unit.code))


def _held_below(unit: Unit) -> Q | None:
    """Which cases `unit` may be the supervisor of, as a Q (supervising_body then decides each one): a township
    committee its villages' committees; the petitions bureau and banner leadership any holder, since a body on the
    accused side of an accusation hands the supervision up to them."""
    if unit.kind == Unit.Kind.TOWNSHIP_COMMITTEE and unit.area_code:
        return Q(unit__kind=Unit.Kind.VILLAGE_COMMITTEE, township_code=unit.area_code)
    banner = unit_banner(unit)
    if unit.code in _banner_bodies(banner):
        return Q(unit__isnull=False, banner_code=banner)
    return None
