"""Leaders' cases (包案) and leaders' receptions and visits (领导接访/约访/下访): registering, closing, listing.

Who registers is one rule, `may_register`: the banner admin anywhere, township officers within their township
(the cases they see; a visit held in their township) — the offices that arrange a leader's diary. Planners
only look; village officers, grid workers, field staff and the court do not register leaders' acts.

Every list starts from access.visible_cases, so an accusation never reaches the accused unit, its staff, grid
workers or anyone acting for it — not as a register row, not as a case on a visit's list. A visit is shown to a
user only when they see at least one of its cases (or, with none listed, when it is in their area). Plans and
outcomes are free text that can name a household: only roles that may read the case's text get them
(access.case_text_filter); others get WITHHELD. Every act is also one CaseEvent in the case's history.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from geo_disputes.models import Case, CaseEvent, LeaderCase, LeaderVisit, Role, VisitCase
from geo_disputes.models.bounds import NAME_MAX, REASON_MAX, TITLE_MAX, plausible_date, text_problem
from geo_disputes.services.cases.access import (
    WITHHELD,
    can_act,
    case_text_filter,
    scope_kind,
    staff_profile,
    visible_cases,
)
from geo_disputes.services.cases.clock import local_date

MAX_PLAN_DAYS = 366  # a plan's deadline at most a year ahead: a 包案 is for a hard case, not a standing duty


class LeaderError(ValueError):
    """A refused registration: `field` names the input (shown beside it), the message is Chinese / English."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# -- who may register -------------------------------------------------------------------------


def may_register(user, case: Case | None = None) -> bool:
    """Whether `user` registers leaders' cases and visits (for `case`, when given): the banner admin
    and township officers (within what they see and may act on). Planners only look."""
    if user is None or not user.is_authenticated:
        return False
    if not user.is_superuser:
        profile = staff_profile(user)
        if profile is None or profile.role not in (Role.BANNER_ADMIN, Role.TOWNSHIP_OFFICER):
            return False
    return can_act(user, case) if case is not None else True


def _township_scope(user) -> str:
    """The township a township officer is confined to ("" for the banner-wide roles)."""
    if user.is_superuser:
        return ""
    profile = staff_profile(user)
    return profile.scope_code.strip() if profile and profile.role == Role.TOWNSHIP_OFFICER else ""


# -- 包案 -------------------------------------------------------------------------------------------


def take_on(
    case: Case,
    user,
    *,
    leader_name: str,
    leader_post: str,
    plan: str,
    deadline: dt.date | None,
    now: dt.datetime | None = None,
) -> LeaderCase:
    """A leader takes on `case` with a plan and a deadline; recorded in the case history. Raises LeaderError."""
    if not may_register(user, case):
        raise LeaderError("当前角色不能为此事项登记领导包案 / your role cannot register a leader for this case", "case")
    now = now or timezone.now()
    name = _text(leader_name, "leader_name", "包案领导", NAME_MAX)
    post = _text(leader_post, "leader_post", "职务", TITLE_MAX)
    plan = _text(plan, "plan", "化解方案", REASON_MAX)
    deadline = _deadline(deadline, local_date(now))
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        if locked.leader_cases.filter(status=LeaderCase.Status.ACTIVE, leader_name=name).exists():
            raise LeaderError(f"{name} 已在包案此事项 / {name} already has this case", "leader_name")
        record = LeaderCase.objects.create(
            case=locked,
            leader_name=name,
            leader_post=post,
            plan=plan,
            deadline=deadline,
            taken_at=now,
            registered_by=user,
        )
        _event(
            locked, user, now, "leader_case", {"leader": f"{name}({post})", "plan_deadline": deadline.isoformat()}, plan
        )
    return record


def close_leader_case(
    record: LeaderCase, user, *, status: str, outcome: str, now: dt.datetime | None = None
) -> LeaderCase:
    """End a 包案 as resolved or ended, with the outcome in words; recorded in the case history."""
    if not may_register(user, record.case):
        raise LeaderError("当前角色不能结束此包案 / your role cannot close this leader's case", "case")
    if status not in (LeaderCase.Status.RESOLVED, LeaderCase.Status.ENDED):
        raise LeaderError("请选择结果:已化解或已结束 / status must be resolved or ended", "status")
    outcome = _text(outcome, "outcome", "结果", REASON_MAX)
    now = now or timezone.now()
    with transaction.atomic():
        locked = LeaderCase.objects.select_for_update().get(pk=record.pk)
        if locked.status != LeaderCase.Status.ACTIVE:
            raise LeaderError("此包案已结束 / this leader's case is already closed", "status")
        locked.status, locked.outcome, locked.closed_at = status, outcome, now
        locked.save(update_fields=["status", "outcome", "closed_at"])
        _event(
            locked.case,
            user,
            now,
            "leader_case_closed",
            {"leader": locked.leader_name, "leader_status": status},
            outcome,
        )
    return locked


@dataclass
class LeaderRow:
    record: LeaderCase
    plan: str
    outcome: str
    overdue: bool
    days_over: int


@dataclass
class LeaderGroup:
    leader_name: str
    leader_post: str
    rows: list[LeaderRow] = field(default_factory=list)

    @property
    def active(self) -> int:
        return sum(1 for r in self.rows if r.record.status == LeaderCase.Status.ACTIVE)

    @property
    def overdue(self) -> int:
        return sum(1 for r in self.rows if r.overdue)


def leader_register(user, today: dt.date, *, leader: str = "", open_only: bool = False) -> list[LeaderGroup]:
    """The 包案 of the cases `user` sees, per leader: a plan is overdue when it is still open after its deadline."""
    qs = LeaderCase.objects.filter(case__in=visible_cases(user)).select_related("case", "case__unit")
    qs = qs.annotate(readable=_readable(user))
    if leader:
        qs = qs.filter(leader_name=leader)
    if open_only:
        qs = qs.filter(status=LeaderCase.Status.ACTIVE)
    groups: dict[str, LeaderGroup] = {}
    for record in qs.order_by("leader_name", "status", "deadline", "id"):
        group = groups.setdefault(record.leader_name, LeaderGroup(record.leader_name, record.leader_post))
        overdue = record.status == LeaderCase.Status.ACTIVE and record.deadline < today
        group.rows.append(
            LeaderRow(
                record=record,
                plan=record.plan if record.readable else WITHHELD,
                outcome=record.outcome if record.readable or not record.outcome else WITHHELD,
                overdue=overdue,
                days_over=(today - record.deadline).days if overdue else 0,
            )
        )
    return list(groups.values())


def leader_cases_for(user, case: Case) -> list[LeaderCase]:
    """The 包案 of one case for its page (the caller checked `user` sees the case)."""
    return list(case.leader_cases.order_by("taken_at", "id"))


# -- 接访 / 约访 / 下访 ------------------------------------------------------------------------------


def schedule_visit(
    user,
    *,
    kind: str,
    on: dt.date | None,
    starts: dt.time | None,
    place: str,
    leader_name: str,
    leader_post: str,
    references: Iterable[str],
    township_code: str = "",
    now: dt.datetime | None = None,
) -> LeaderVisit:
    """Put a leader's reception or visit in the calendar with the cases to discuss (each written in its history)."""
    if not may_register(user):
        raise LeaderError("当前角色不能登记领导接访 / your role cannot schedule leaders' visits", "kind")
    now = now or timezone.now()
    if kind not in LeaderVisit.Kind.values:
        raise LeaderError("请选择类型:接访、约访或下访 / kind must be reception, invited or field", "kind")
    if on is None or not plausible_date(on):
        raise LeaderError("请填写日期(1901–2200年) / on: a date is required", "on")
    place = _text(place, "place", "地点", TITLE_MAX)
    name = _text(leader_name, "leader_name", "领导", NAME_MAX)
    post = _text(leader_post, "leader_post", "职务", TITLE_MAX)
    township_code = _township(user, township_code)
    refs = list(dict.fromkeys(r.strip() for r in references if r and r.strip()))
    cases = list(visible_cases(user).filter(reference__in=refs).select_related("unit"))
    unknown = sorted(set(refs) - {c.reference for c in cases})
    if unknown:
        raise LeaderError(f"无此事项或不在您的辖区:{'、'.join(unknown[:5])} / no such case in your scope", "references")
    refused = [c.reference for c in cases if not may_register(user, c)]
    if refused:
        raise LeaderError(
            f"不能为这些事项安排接访:{'、'.join(refused[:5])} / you may not act on these cases", "references"
        )
    with transaction.atomic():
        visit = LeaderVisit.objects.create(
            kind=kind,
            on=on,
            starts=starts,
            place=place,
            leader_name=name,
            leader_post=post,
            township_code=township_code,
            registered_by=user,
        )
        for case in cases:
            VisitCase.objects.create(visit=visit, case=case)
            changes = {"visit": f"{LeaderVisit.Kind(kind).label} {on.isoformat()}", "leader": f"{name}({post})"}
            _event(case, user, now, "visit_scheduled", changes, "")
    return visit


def record_visit_outcome(
    visit: LeaderVisit, reference: str, user, *, outcome: str, now: dt.datetime | None = None
) -> VisitCase:
    """After the visit: what came of it for one case (recorded in the case's history). Not before the day."""
    now = now or timezone.now()
    entry = (
        visit.visit_cases.filter(case__in=visible_cases(user), case__reference=reference).select_related("case").first()
    )
    if entry is None:
        raise LeaderError("此次接访没有该事项 / the case is not on this visit's list", "reference")
    if not may_register(user, entry.case):
        raise LeaderError("当前角色不能登记接访结果 / your role cannot record the outcome", "reference")
    if visit.on > local_date(now):
        raise LeaderError("接访尚未进行,不能登记结果 / the visit has not taken place yet", "outcome")
    outcome = _text(outcome, "outcome", "接访结果", REASON_MAX)
    with transaction.atomic():
        entry = VisitCase.objects.select_for_update().get(pk=entry.pk)
        entry.outcome, entry.outcome_at = outcome, now
        entry.save(update_fields=["outcome", "outcome_at"])
        changes = {"visit": f"{LeaderVisit.Kind(visit.kind).label} {visit.on.isoformat()}", "leader": visit.leader_name}
        _event(entry.case, user, now, "visit_outcome", changes, outcome)
    return entry


@dataclass
class VisitEntry:
    reference: str
    case: Case
    outcome: str


@dataclass
class VisitView:
    visit: LeaderVisit
    entries: list[VisitEntry]
    past: bool


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    """First and last day of a month."""
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def visits_in(user, start: dt.date, end: dt.date, today: dt.date) -> list[VisitView]:
    """The visits between `start` and `end` (inclusive) that `user` may know of, each with the cases they see."""
    seen = visible_cases(user)
    listed = VisitCase.objects.filter(case__in=seen).select_related("case", "case__unit").order_by("id")
    listed = listed.annotate(readable=_readable(user, "case"))
    qs = visible_visits(user).filter(on__gte=start, on__lte=end)
    qs = qs.prefetch_related(Prefetch("visit_cases", queryset=listed, to_attr="shown"))
    views = []
    for visit in qs.order_by("on", "starts", "id"):
        entries = [
            VisitEntry(e.case.reference, e.case, e.outcome if e.readable or not e.outcome else WITHHELD)
            for e in visit.shown
        ]
        views.append(VisitView(visit, entries, visit.on <= today))
    return views


def visible_visits(user) -> QuerySet[LeaderVisit]:
    """Visits `user` may know of: one of its cases is visible to them; with no case listed, it is in their area."""
    if user is None or not user.is_authenticated:
        return LeaderVisit.objects.none()
    any_case = LeaderVisit.objects.filter(visit_cases__isnull=False)
    with_seen = Exists(VisitCase.objects.filter(visit=OuterRef("pk"), case__in=visible_cases(user)))
    qs = LeaderVisit.objects.annotate(seen=with_seen, listed=Exists(any_case.filter(pk=OuterRef("pk"))))
    area = _area_of(user)
    if area is None:
        return qs.filter(seen=True)
    no_cases = Q(listed=False) if area == "" else Q(listed=False, township_code=area)
    return qs.filter(Q(seen=True) | no_cases)


# -- helpers ------------------------------------------------------------------------------------


def _readable(user, prefix: str = "case") -> Exists:
    """Per row: may `user` read the text of the row's case (access.case_text_filter)."""
    allowed = case_text_filter(user)
    if allowed is None:
        return Exists(Case.objects.none())
    return Exists(visible_cases(user).filter(allowed, pk=OuterRef(f"{prefix}_id")))


def _area_of(user) -> str | None:
    """ "" for banner-wide roles, a township code for township roles, None for those who see only listed cases."""
    if user.is_superuser:
        return ""
    profile = staff_profile(user)
    if profile is None:
        return None
    if profile.role in (Role.BANNER_ADMIN, Role.PLANNER):
        return ""
    if profile.role == Role.TOWNSHIP_OFFICER:
        return profile.scope_code.strip()
    return None


def _township(user, code: str) -> str:
    code = (code or "").strip()
    confined = _township_scope(user)
    if confined:
        if code and code != confined:
            raise LeaderError("只能在本乡镇安排接访 / only in your own township", "township_code")
        return confined
    if code:
        try:
            kind = scope_kind(code)
        except ValueError:
            kind = ""
        if kind != "township":
            raise LeaderError("乡镇代码应为9位数字 / township_code must be a 9-digit code", "township_code")
    return code


def _text(value: str | None, name: str, label: str, limit: int) -> str:
    value = " ".join((value or "").split()) if limit <= TITLE_MAX else (value or "").strip()
    if not value:
        raise LeaderError(f"请填写{label} / {name} is required", name)
    problem = text_problem(value)
    if problem:
        raise LeaderError(f"{label}: {problem}", name)
    if len(value) > limit:
        raise LeaderError(f"{label}不能超过 {limit} 字 / {name}: at most {limit} characters", name)
    return value


def _deadline(day: dt.date | None, today: dt.date) -> dt.date:
    if day is None or not plausible_date(day):
        raise LeaderError("请填写化解期限 / deadline is required", "deadline")
    if day < today or day > today + dt.timedelta(days=MAX_PLAN_DAYS):
        raise LeaderError("化解期限不能早于今天,也不能超过一年 / deadline: from today to a year ahead", "deadline")
    return day


def _event(case: Case, user, now: dt.datetime, action: str, changes: dict, reason: str) -> None:
    CaseEvent.objects.create(
        case=case,
        at=now,
        actor=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        from_status=case.status,
        to_status=case.status,
        changes=changes,
        reason=reason,
    )
