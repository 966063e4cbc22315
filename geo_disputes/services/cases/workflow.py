"""The five matters as three state machines, one per kind of procedure (DOMAIN.md "Three procedures").

* **petition** (信访工作条例): accept within 15 days of the holder's own receipt (or object to a
  forwarded matter within 5 working days), `route` it under Art. 31 — items 1–5 lead it into a legal
  procedure and stop the petition clock, item 6 is answered by a handling `opinion` within 60 days
  (+ one `extend` ≤ 30 approved before expiry) — `serve` the written reply, and from service the
  petitioner has 30 days to `request_review` (复查) and then re-review (复核), each decided by the
  body above with `review_decision`; after 复核 the same request is not accepted again (Art. 36).
* **mediation** (人民调解法): mediators and `session`s, an `agreement` or a `fail`ure, judicial
  `confirm`ation applied for within 30 days; no petition clock and no review ladder. A failed
  mediation may be `convert`ed into a petition or `route`d into litigation or arbitration.
* **legal** (courts, arbitration, administrative and discipline procedures): their facts — `pre_mediate`
  (诉前调解), `file`, `conclude` (mediated / judged / withdrawn / decided) — with dates and numbers;
  never supervised by leaders or reviewed by them (诉访分离, Art. 28).
On every track `follow_up` (回访) records what the petitioner said, or that they could not be reached;
satisfaction comes only from there. Overdue petition matters get `supervise` acts (督办, 约谈, 通报,
挂牌督办) against the unit that holds them; nothing moves a matter up a tier because it is late —
responsibility moves only by `transfer`, `assign`, `lead` (Art. 24), `put_on_agenda`, `object` or a review request.

`apply` is the only way a case changes status: it checks the caller edited the current version
(optimistic locking), that the action is allowed on the case's track and status and its parameters
are complete, sets the facts the clock derives deadlines from, and appends one CaseEvent — all in
one transaction, so a refusal writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone

from geo_disputes.models import Case, CaseEvent, FollowUp, SupervisionAct, Unit
from geo_disputes.models.bounds import REASON_MAX, TEXT_MAX, ascii_integer, plausible_date, text_problem
from geo_disputes.models.cases import (
    LegalOutcome,
    MediationOutcome,
    OpinionOutcome,
    PetitionRoute,
    Procedure,
    ResolutionMethod,
    ReviewOutcome,
    Satisfaction,
    ServiceMethod,
    Status,
    Tier,
)
from geo_disputes.services.cases.clock import (
    CONCLUSION_DAYS,
    MAX_EXTENSION_DAYS,
    MAX_REVIEW_ROUNDS,
    REVIEW_REQUEST_DAYS,
    STATUTE_TZ,
    due_dates,
    local_date,
    period_end,
)
from geo_disputes.services.cases.procedures import LED_INTO, Track, holder_for, track_of
from geo_disputes.services.cases.recusal import names_accused, unit_on_accused_side
from geo_disputes.services.cases.units import tier_above, tier_of_unit, unit_banner, unit_for_tier


class Action(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    TRANSFER = "transfer"
    OBJECT = "object"
    ASSIGN = "assign"
    LEAD = "lead"
    ROUTE = "route"
    EXTEND = "extend"
    PUT_ON_AGENDA = "put_on_agenda"
    OPINION = "opinion"
    SERVE = "serve"
    REQUEST_REVIEW = "request_review"
    REVIEW_DECISION = "review_decision"
    SESSION = "session"
    AGREEMENT = "agreement"
    FAIL = "fail"
    CONFIRM = "confirm"
    CONVERT = "convert"
    PRE_MEDIATE = "pre_mediate"
    FILE = "file"
    CONCLUDE = "conclude"
    FOLLOW_UP = "follow_up"
    SUPERVISE = "supervise"
    CLOSE = "close"


S, A = Status, Action
_AWAITING = (S.REPORTED, S.TRANSFERRED)
_FINISHED = (S.RESOLVED, S.SERVED, S.CLOSED, S.EVALUATED, S.MEDIATION_FAILED)

PETITION: dict[tuple[str, str], str] = {
    # Acceptance (Art. 23): by the holder within 15 days of its own receipt; a forwarded matter may be objected to.
    **{(s, A.ACCEPT): S.ACCEPTED for s in _AWAITING},
    **{(s, A.REJECT): S.NOT_ACCEPTED for s in _AWAITING},
    **{(s, A.TRANSFER): S.TRANSFERRED for s in _AWAITING},
    **{(s, A.OBJECT): S.TRANSFERRED for s in _AWAITING},
    **{(s, A.SUPERVISE): s for s in (*_AWAITING, S.ACCEPTED, S.IN_HANDLING, S.ON_AGENDA, S.REVIEW_REQUESTED)},
    # Art. 24: a matter for several bodies — they agree who leads, or the common superior decides.
    **{(s, A.LEAD): s for s in (*_AWAITING, S.ACCEPTED, S.IN_HANDLING)},
    # Handling: the Art. 31 route, a named person (or 交办 to another body), extension, the joint meeting.
    (S.ACCEPTED, A.ROUTE): S.IN_HANDLING,
    (S.IN_HANDLING, A.ROUTE): S.IN_HANDLING,
    (S.ACCEPTED, A.ASSIGN): S.IN_HANDLING,
    (S.IN_HANDLING, A.ASSIGN): S.IN_HANDLING,
    (S.ON_AGENDA, A.ASSIGN): S.ON_AGENDA,
    (S.REVIEW_REQUESTED, A.ASSIGN): S.IN_HANDLING,
    **{(s, A.EXTEND): s for s in (S.ACCEPTED, S.IN_HANDLING, S.ON_AGENDA)},
    **{(s, A.PUT_ON_AGENDA): S.ON_AGENDA for s in (S.ACCEPTED, S.IN_HANDLING, S.REVIEW_REQUESTED)},
    # Art. 32–34: the written handling opinion, then its service on the petitioner.
    (S.ACCEPTED, A.OPINION): S.RESOLVED,
    (S.IN_HANDLING, A.OPINION): S.RESOLVED,
    (S.ON_AGENDA, A.OPINION): S.RESOLVED,
    (S.RESOLVED, A.SERVE): S.SERVED,
    # Arts. 35–36: review and re-review, requested from service, decided by the body above.
    (S.SERVED, A.REQUEST_REVIEW): S.REVIEW_REQUESTED,
    (S.CLOSED, A.REQUEST_REVIEW): S.REVIEW_REQUESTED,
    (S.EVALUATED, A.REQUEST_REVIEW): S.REVIEW_REQUESTED,
    **{(s, A.REVIEW_DECISION): S.RESOLVED for s in (S.REVIEW_REQUESTED, S.IN_HANDLING, S.ON_AGENDA)},
    **{(s, A.FOLLOW_UP): s for s in (S.RESOLVED, S.SERVED, S.CLOSED, S.EVALUATED)},
    (S.SERVED, A.CLOSE): S.CLOSED,
    (S.EVALUATED, A.CLOSE): S.CLOSED,
}

MEDIATION: dict[tuple[str, str], str] = {
    **{(s, A.ACCEPT): S.ACCEPTED for s in _AWAITING},
    **{(s, A.REJECT): S.NOT_ACCEPTED for s in _AWAITING},
    **{(s, A.TRANSFER): S.TRANSFERRED for s in (*_AWAITING, S.ACCEPTED)},
    **{(s, A.ASSIGN): S.IN_HANDLING for s in (S.ACCEPTED, S.IN_HANDLING)},
    (S.ON_AGENDA, A.ASSIGN): S.ON_AGENDA,
    **{(s, A.LEAD): s for s in (*_AWAITING, S.ACCEPTED, S.IN_HANDLING)},
    **{(s, A.SESSION): S.IN_HANDLING for s in (S.ACCEPTED, S.IN_HANDLING)},
    (S.ON_AGENDA, A.SESSION): S.ON_AGENDA,
    **{(s, A.PUT_ON_AGENDA): S.ON_AGENDA for s in (S.ACCEPTED, S.IN_HANDLING)},
    (S.ON_AGENDA, A.SUPERVISE): S.ON_AGENDA,
    **{(s, A.AGREEMENT): S.RESOLVED for s in (S.ACCEPTED, S.IN_HANDLING, S.ON_AGENDA)},
    **{(s, A.FAIL): S.MEDIATION_FAILED for s in (S.ACCEPTED, S.IN_HANDLING, S.ON_AGENDA)},
    (S.RESOLVED, A.CONFIRM): S.RESOLVED,
    (S.CLOSED, A.CONFIRM): S.CLOSED,
    # A failed mediation: into a petition, or led into litigation/arbitration, or closed.
    (S.MEDIATION_FAILED, A.CONVERT): S.REPORTED,
    (S.REPORTED, A.CONVERT): S.REPORTED,
    (S.MEDIATION_FAILED, A.ROUTE): S.LED_INTO,
    **{(s, A.FOLLOW_UP): s for s in _FINISHED},
    **{(s, A.CLOSE): S.CLOSED for s in (S.RESOLVED, S.MEDIATION_FAILED, S.EVALUATED)},
}

_LEGAL_OPEN = (S.REPORTED, S.TRANSFERRED, S.ACCEPTED, S.LED_INTO)
LEGAL: dict[tuple[str, str], str] = {
    **{(s, A.TRANSFER): S.TRANSFERRED for s in (S.REPORTED, S.TRANSFERRED)},
    **{(s, A.PRE_MEDIATE): S.IN_HANDLING for s in _LEGAL_OPEN},
    **{(s, A.FILE): S.FILED for s in (*_LEGAL_OPEN, S.IN_HANDLING)},
    **{(s, A.CONCLUDE): S.RESOLVED for s in (*_LEGAL_OPEN, S.IN_HANDLING, S.FILED, S.ON_AGENDA)},
    **{(s, A.FOLLOW_UP): s for s in (S.RESOLVED, S.CLOSED, S.EVALUATED)},
    **{(s, A.CLOSE): S.CLOSED for s in (S.RESOLVED, S.EVALUATED)},
}

TRANSITIONS: dict[Track, dict[tuple[str, str], str]] = {
    Track.PETITION: PETITION,
    Track.MEDIATION: MEDIATION,
    Track.LEGAL: LEGAL,
}

# Parameters each action takes; anything else is refused so a typo never passes silently.
PARAMETERS: dict[str, frozenset[str]] = {
    A.ACCEPT: frozenset({"person", "reason"}),
    A.REJECT: frozenset({"reason"}),
    A.TRANSFER: frozenset({"unit", "reason"}),
    A.OBJECT: frozenset({"reason", "consent_by"}),
    A.ASSIGN: frozenset({"person", "unit", "reason"}),
    A.LEAD: frozenset({"unit", "decided_by", "reason"}),
    A.ROUTE: frozenset({"route", "body", "reason"}),
    A.EXTEND: frozenset({"days", "reason", "approved_by", "told_at"}),
    A.PUT_ON_AGENDA: frozenset({"plan", "unit", "person", "deadline", "reason"}),
    A.OPINION: frozenset({"outcome", "text", "reason"}),
    A.SERVE: frozenset({"served_at", "method", "reason"}),
    A.REQUEST_REVIEW: frozenset({"reason"}),
    A.REVIEW_DECISION: frozenset({"outcome", "text", "reason"}),
    A.SESSION: frozenset({"at", "mediators", "deputies_reviewed", "reason"}),
    A.AGREEMENT: frozenset({"text", "agreement_at", "mediators", "reason"}),
    A.FAIL: frozenset({"reason"}),
    A.CONFIRM: frozenset({"court", "number", "applied_at", "ruled_at", "reason"}),
    A.CONVERT: frozenset({"reason"}),
    A.PRE_MEDIATE: frozenset({"body", "at", "reason"}),
    A.FILE: frozenset({"body", "number", "filed_at", "reason"}),
    A.CONCLUDE: frozenset({"outcome", "number", "at", "text", "reason"}),
    A.FOLLOW_UP: frozenset({"satisfaction", "unreachable", "by", "method", "at", "deputies_reviewed", "reason"}),
    A.SUPERVISE: frozenset({"kind", "reason", "deadline"}),
    A.CLOSE: frozenset({"reason"}),
}

# Case fields an action may change; the event records each that did, as [old, new].
TRACKED_FIELDS = (
    "status",
    "procedure",
    "tier",
    "unit",
    "responsible_person",
    "holder_received_at",
    "forwarded_by",
    "objected_at",
    "accepted_at",
    "not_accepted_reason",
    "petition_route",
    "led_into_at",
    "extension_days",
    "extension_reason",
    "extension_approved_by",
    "extension_told_at",
    "agenda_date",
    "agenda_plan",
    "agenda_deadline",
    "opinion_outcome",
    "resolution_method",
    "outcome",
    "replied_at",
    "served_at",
    "served_method",
    "review_requested_at",
    "review_round",
    "review_external",
    "review_outcome",
    "review_decided_at",
    "mediators",
    "mediation_outcome",
    "agreement_at",
    "confirmation_applied_at",
    "confirmation_court",
    "confirmation_number",
    "confirmation_ruled_at",
    "legal_body",
    "legal_number",
    "pre_mediation_at",
    "filed_at",
    "legal_outcome",
    "legal_outcome_at",
    "satisfaction",
    "deputies_reviewed",
)


class WorkflowError(ValueError):
    """An action refused: illegal in this status, or a parameter missing or invalid (`field` names it)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# Chinese for the (English) refusals, by the field they name: the pages and the API say both.
REFUSALS = {
    "action": "当前程序或状态下不能办理此项",
    "days": "延期只能一次、不超过30日,且须在办结期限届满前批准(条例第34条)",
    "deadline": "限期不能早于今天,也不能超过一年",
    "by": "回访须由承办人以外的人员进行",
    "satisfaction": "请填写满意度,或勾选未能联系到信访人(二选一)",
    "applied_at": "司法确认须在协议生效之日起30日内申请(人民调解法第33条)",
    "route": "请选择办理途径;已确定途径的事项不再重复分流",
    "unit": "请核对单位",
    "tier": "法院的裁判不按信访复查(诉访分离)",
}
DATE_REFUSAL = "日期不能晚于今天,也不能早于上一环节"


def refusal_text(exc: WorkflowError) -> str:
    """The refusal with a Chinese lead: "延期只能一次… / extend: …"."""
    field = exc.field or ""
    if field in REFUSALS:
        lead = REFUSALS[field]
    elif field.endswith("_at") or field == "at":
        lead = DATE_REFUSAL
    else:
        lead = "未能办理,请核对"
    return f"{lead} / {exc}"


class StaleEditError(Exception):
    """The case changed since the caller loaded it; nothing was written."""


@dataclass(frozen=True)
class _Context:
    now: dt.datetime
    today: dt.date
    actor: AbstractBaseUser | None


def allowed_actions(case: Case) -> list[str]:
    """The actions the case's track allows from its status and its own facts permit, in the table's order.

    The facts filter (`_applies`) mirrors the refusals of the effects, so a client is offered only what
    can succeed; the effects still check, with the reason.
    """
    table = TRANSITIONS[track_of(case.procedure)]
    return [action for (from_status, action) in table if from_status == case.status and _applies(case, action)]


def _applies(case: Case, action: str) -> bool:
    petition = case.procedure == Procedure.PETITION
    if action == A.OBJECT:
        return case.forwarded_by_id is not None
    if action == A.LEAD:
        return case.partner_units.exists()
    if action == A.ROUTE:
        return not (petition and case.petition_route)
    if action == A.EXTEND:
        return petition and case.accepted_at is not None and not case.extension_days and case.review_round == 0
    if action == A.OPINION:
        return case.petition_route in ("", PetitionRoute.HANDLING_OPINION) and case.review_round == 0
    if action == A.REQUEST_REVIEW:
        return (
            petition
            and case.served_at is not None
            and case.review_round < MAX_REVIEW_ROUNDS
            and case.tier != Tier.MINING_COURT
        )
    if action == A.REVIEW_DECISION:
        return case.review_round > 0
    if action == A.CONFIRM:
        return case.agreement_at is not None and case.confirmation_ruled_at is None
    if action == A.PRE_MEDIATE:
        return case.procedure in (Procedure.LITIGATION, Procedure.ARBITRATION)
    return True


def apply(
    case: Case,
    action: str,
    actor: AbstractBaseUser | None,
    expected_version: int,
    /,
    *,
    now: dt.datetime | None = None,
    **params: Any,
) -> Case:
    """Perform `action` on `case` as `actor` (a user, or None for the system) and return the saved case.

    `expected_version` is the version the actor saw; `now` (default: the current time) is
    when the action happens, for replays and tests. Raises WorkflowError or StaleEditError
    and writes nothing when refused. Code calls this; a request's parameters go to `perform`.
    """
    return perform(case, action, actor, expected_version, params, now=now)


def perform(
    case: Case,
    action: str,
    actor: AbstractBaseUser | None,
    expected_version: int,
    params: dict[str, Any],
    *,
    now: dt.datetime | None = None,
) -> Case:
    """`apply` with the parameters as a dict: what a client sends never becomes a Python keyword argument,
    so a body naming `now`, `actor` or `case` is an unknown parameter (400), not a TypeError or a replay."""
    action = _parse_action(action)
    unexpected = sorted(set(params) - PARAMETERS[action])
    if unexpected:
        allowed = ", ".join(sorted(PARAMETERS[action]))
        raise WorkflowError(f"{action} does not take {', '.join(unexpected)}; it takes: {allowed}", unexpected[0])
    _check_text_parameters(action, params)
    now = now or timezone.now()
    context = _Context(now=now, today=local_date(now), actor=actor)
    with transaction.atomic():
        current = Case.objects.select_for_update(of=("self",)).select_related("unit").get(pk=case.pk)
        if current.version != expected_version:
            raise StaleEditError(_stale_message(current, expected_version))
        new_status = _next_status(current, action)
        before = _snapshot(current)
        current.status = new_status  # an effect may settle on another status (a hand-over, a route)
        notes = EFFECTS[action](current, params, context) or {}
        after = _snapshot(current)
        changed = [name for name in TRACKED_FIELDS if before[name] != after[name]]
        current.version += 1
        current.save(update_fields=[*changed, "version", "updated_at"])
        CaseEvent.objects.create(
            case=current,
            at=now,
            actor=actor,
            action=action,
            from_status=before["status"],
            to_status=current.status,
            changes={**{name: [before[name], after[name]] for name in changed}, **notes},
            reason=str(params.get("reason", "") or ""),
        )
    return current


def _parse_action(action: str) -> Action:
    try:
        return Action(action)
    except ValueError as exc:
        raise WorkflowError(f"unknown action {action!r}; actions: {', '.join(Action)}", "action") from exc


def _next_status(case: Case, action: Action) -> str:
    new_status = TRANSITIONS[track_of(case.procedure)].get((case.status, action))
    if new_status is None:
        allowed = ", ".join(allowed_actions(case)) or "none (the matter is finished)"
        raise WorkflowError(
            f"cannot {action} {case.reference}: it is {case.status} ({case.get_status_display()}) "
            f"in the {case.procedure} procedure; allowed: {allowed}",
            "action",
        )
    return new_status


def _stale_message(case: Case, expected_version: int) -> str:
    last = case.events.select_related("actor").order_by("-at", "-id").first()
    if last is None:
        who, when = "another user", "an unknown time"
    else:
        who = last.actor.get_username() if last.actor else "the system (daily tick)"
        when = timezone.localtime(last.at).strftime("%Y-%m-%d %H:%M")
    return (
        f"{case.reference} was changed by {who} at {when} (it is now version {case.version}; "
        f"you edited version {expected_version}); reload the case and try again"
    )


def _snapshot(case: Case) -> dict[str, Any]:
    """The tracked fields as JSON values (units by their code)."""
    values: dict[str, Any] = {}
    for name in TRACKED_FIELDS:
        value = getattr(case, name)
        if isinstance(value, Unit):
            value = value.code
        values[name] = value.isoformat() if isinstance(value, dt.date | dt.datetime) else value
    return values


# Parameter readers: each names the field it refuses, so the API can answer 400 with it.

# Text parameters and the longest value each may have. A list, a number or a NUL
# character is refused before any reader str()-s it into the case or its history (issue 6).
TEXT_PARAMETERS: dict[str, int | None] = {
    "person": Case._meta.get_field("responsible_person").max_length,
    "reason": REASON_MAX,
    "plan": REASON_MAX,
    "text": TEXT_MAX,
    "unit": Unit._meta.get_field("code").max_length,
    "by": FollowUp._meta.get_field("by").max_length,
    "approved_by": Case._meta.get_field("extension_approved_by").max_length,
    "consent_by": 100,
    "decided_by": 100,
    "mediators": Case._meta.get_field("mediators").max_length,
    "court": Case._meta.get_field("confirmation_court").max_length,
    "number": Case._meta.get_field("legal_number").max_length,
    "body": Case._meta.get_field("legal_body").max_length,
}
DATE_PARAMETERS = ("deadline", "told_at", "agreement_at", "applied_at", "ruled_at", "filed_at")
MOMENT_PARAMETERS = ("served_at", "at")


def _check_text_parameters(action: str, params: dict[str, Any]) -> None:
    for name, limit in TEXT_PARAMETERS.items():
        value = params.get(name)
        if value is None or (name == "unit" and isinstance(value, Unit)):
            continue
        if not isinstance(value, str):
            raise WorkflowError(f"{action}: '{name}' must be text; got {type(value).__name__}", name)
        problem = text_problem(value)
        if problem:
            raise WorkflowError(f"{action}: '{name}' {problem}", name)
        if limit is not None and len(value.strip()) > limit:
            raise WorkflowError(f"{action}: '{name}' has at most {limit} characters; got {len(value.strip())}", name)
    for name in (*DATE_PARAMETERS, *MOMENT_PARAMETERS):
        value = params.get(name)
        if value is not None and not isinstance(value, str | dt.date):
            raise WorkflowError(f"{action}: '{name}' is a date YYYY-MM-DD; got {type(value).__name__}", name)


def _text(params: dict[str, Any], name: str, action: str, why: str) -> str:
    value = str(params.get(name) or "").strip()
    if not value:
        raise WorkflowError(f"{action} needs '{name}': {why}", name)
    return value


def _optional_text(params: dict[str, Any], name: str) -> str:
    return str(params.get(name) or "").strip()


def _unit(params: dict[str, Any], name: str, action: str, case: Case) -> Unit:
    """The unit `params[name]` names, of the case's own banner: a matter is never handed to another banner's body
    (one deployment may serve several banners; a case crosses to another only by services.cases.exchange)."""
    value = params.get(name)
    if isinstance(value, Unit):
        unit = value
    else:
        code = str(value or "").strip()
        if not code:
            raise WorkflowError(f"{action} needs '{name}': the code of the responsible unit", name)
        unit = Unit.objects.filter(code=code).first()
        if unit is None:
            raise WorkflowError(f"{action}: no unit with code {code!r}", name)
    if unit_banner(unit) != case.banner_code:
        raise WorkflowError(
            f"{action}: 单位 {unit.code} 不属于本案所在旗 {case.banner_code} / unit {unit.code} is not of the case's "
            f"banner {case.banner_code}",
            name,
        )
    return unit


def _choice(params: dict[str, Any], name: str, action: str, choices: type[TextChoices] | list[str]) -> str:
    values = choices if isinstance(choices, list) else choices.values
    value = params.get(name)
    if value not in values:
        raise WorkflowError(f"{action} needs '{name}', one of: {', '.join(values)}; got {value!r}", name)
    return value


def _date(params: dict[str, Any], name: str, action: str, default: dt.date | None = None) -> dt.date:
    value = params.get(name)
    if value in (None, "") and default is not None:
        return default
    if isinstance(value, dt.datetime):
        day = local_date(value)
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError as exc:
            raise WorkflowError(f"{action} needs '{name}' as a date (YYYY-MM-DD); got {value!r}", name) from exc
    if not plausible_date(day):
        raise WorkflowError(f"{action}: '{name}' {day} is not a plausible date", name)
    return day


MAX_DEADLINE_DAYS = 366  # a supervision or joint-meeting deadline is set within a year, not for 9999


def _deadline(params: dict[str, Any], action: str, context: _Context) -> dt.date:
    deadline = _date(params, "deadline", action)
    if deadline < context.today:
        raise WorkflowError(f"{action}: the deadline {deadline} is already past", "deadline")
    if (deadline - context.today).days > MAX_DEADLINE_DAYS:
        raise WorkflowError(f"{action}: the deadline {deadline} is more than a year away", "deadline")
    return deadline


def _moment(params: dict[str, Any], name: str, action: str, default: dt.datetime | None = None) -> dt.datetime:
    """An aware date-time from an ISO date-time (local time when naive) or a date (its start, Beijing time)."""
    value = params.get(name)
    if value in (None, "") and default is not None:
        return default
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time.min)
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise WorkflowError(
                f"{action} needs '{name}' as a date or date-time (ISO 8601); got {value!r}", name
            ) from exc
    if not plausible_date(moment):
        raise WorkflowError(f"{action}: '{name}' {value!r} is not a plausible date", name)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=STATUTE_TZ)
    return moment


def _not_future(day: dt.date, name: str, action: str, context: _Context) -> None:
    if day > context.today:
        raise WorkflowError(f"{action}: '{name}' {day} is in the future", name)


def _not_before(day: dt.date, earliest: dt.date | None, name: str, action: str, what: str) -> None:
    if earliest is not None and day < earliest:
        raise WorkflowError(f"{action}: '{name}' {day} is before {what} ({earliest})", name)


def _whole_number(value: Any) -> int | None:
    """An int from an int or a digit string; None for anything else (bools, fractions, words)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return ascii_integer(str(value or ""))


def _hand_over(case: Case, unit: Unit, context: _Context) -> None:
    """A transfer or assignment (转送/交办): the receiving body's own 15 days start at its receipt (Art. 23)."""
    previous = case.unit
    _hand_to_unit(case, unit)
    case.forwarded_by = previous
    case.holder_received_at = context.now
    case.accepted_at = None
    case.status = Status.TRANSFERRED


def _hand_to_unit(case: Case, unit: Unit, field: str = "unit") -> None:
    """Every change of holder comes here: never to the accused side of an accusation (条例 Arts. 28, 30)."""
    if unit_on_accused_side(case, unit):
        raise WorkflowError(
            f"{unit.code} 为被检举控告方或其辖区单位,须回避,不得承办 / {unit.code} is on the accused side of "
            f"{case.reference} and must recuse itself: an accusation never goes to the accused (条例 Arts. 28, 30)",
            field,
        )
    case.unit = unit
    case.tier = tier_of_unit(unit)
    _make_responsible(case, unit.head_name, field)


def _make_responsible(case: Case, person: str, field: str = "person") -> None:
    """Name the person responsible — never an accused person or the head of an accused unit (回避)."""
    if names_accused(case, person):
        raise WorkflowError(
            f"{person} 为被检举控告人或被检举控告单位负责人,须回避 / {person} is accused or heads the accused unit "
            "and must recuse themselves (条例 Arts. 28, 30)",
            field,
        )
    case.responsible_person = person


def _require_petition(case: Case, action: str) -> None:
    if case.procedure != Procedure.PETITION:
        raise WorkflowError(f"{action}: only a petition (信访) has this step; {case.reference} is {case.procedure}")


# Effects: set the facts of each action on the locked case; return extra notes for the event.

Effect = Callable[[Case, dict[str, Any], _Context], dict[str, Any] | None]


def _accept(case: Case, params: dict[str, Any], context: _Context) -> None:
    case.accepted_at = context.now
    if params.get("person"):
        _make_responsible(case, str(params["person"]).strip())


def _reject(case: Case, params: dict[str, Any], context: _Context) -> None:
    case.not_accepted_reason = _text(
        params, "reason", A.REJECT, "the petitioner is told in writing why the matter is not accepted (条例 Art. 23)"
    )


def _transfer(case: Case, params: dict[str, Any], context: _Context) -> None:
    unit = _unit(params, "unit", A.TRANSFER, case)
    _text(params, "reason", A.TRANSFER, "why the matter belongs to that unit (条例 Art. 22–23)")
    if unit == case.unit:
        raise WorkflowError(f"transfer: {case.reference} is already with {unit.code}", "unit")
    _hand_over(case, unit, context)


def _object(case: Case, params: dict[str, Any], context: _Context) -> dict[str, Any]:
    """Art. 23: a matter outside the remit goes back to the forwarding body, with its consent, in 5 working days."""
    if case.forwarded_by_id is None:
        raise WorkflowError(
            f"object: {case.reference} was not forwarded or assigned to its holder;"
            " only a forwarded or assigned matter can be objected to (条例 Art. 23)",
            "action",
        )
    object_by = due_dates(case, context.today).object_by
    if object_by is not None and context.today > object_by:
        raise WorkflowError(
            f"object: the 5 working days to object ran out on {object_by} (条例 Art. 23); accept or transfer it",
            "action",
        )
    _text(params, "reason", A.OBJECT, "why the matter is outside this body's remit")
    consent = _text(params, "consent_by", A.OBJECT, "who at the forwarding body agreed (条例 Art. 23)")
    _hand_over(case, case.forwarded_by, context)  # back to the forwarding body, its own 15 days from now
    case.forwarded_by = None
    case.objected_at = context.now
    return {"consent_by": consent}


def _assign(case: Case, params: dict[str, Any], context: _Context) -> None:
    person = _text(params, "person", A.ASSIGN, "the named person responsible")
    if params.get("unit"):
        unit = _unit(params, "unit", A.ASSIGN, case)
        if unit != case.unit:
            if case.review_round == 0 and case.status in (Status.ACCEPTED, Status.IN_HANDLING):
                _hand_over(case, unit, context)  # 交办: the receiving body accepts within its own 15 days
            else:
                _hand_to_unit(case, unit)
    _make_responsible(case, person)


def _lead(case: Case, params: dict[str, Any], context: _Context) -> dict[str, Any]:
    """Art. 24: one of the bodies handling the matter together leads; the holder becomes a co-handler."""
    unit = _unit(params, "unit", A.LEAD, case)
    decided_by = _text(
        params, "decided_by", A.LEAD, "'agreed' by the bodies, or the common superior who decided (条例 Art. 24)"
    )
    partners = list(case.partner_units.all())
    if unit == case.unit:
        raise WorkflowError(f"lead: {unit.code} already leads {case.reference}", "unit")
    if unit not in partners:
        codes = ", ".join(p.code for p in partners) or "none"
        raise WorkflowError(f"lead: {unit.code} does not handle {case.reference}; co-handling bodies: {codes}", "unit")
    previous = case.unit
    _hand_to_unit(case, unit)
    case.partner_units.remove(unit)
    if previous is not None:
        case.partner_units.add(previous)
    return {"lead": [previous.code if previous else None, unit.code], "decided_by": decided_by}


def _route(case: Case, params: dict[str, Any], context: _Context) -> dict[str, Any] | None:
    """Art. 31: items 1–5 lead the claim into a legal procedure (the petition clock stops); item 6 → an opinion."""
    if case.procedure == Procedure.MEDIATION:
        choices = [PetitionRoute.LITIGATION, PetitionRoute.ARBITRATION]
    else:
        choices = list(PetitionRoute.values)
        if case.petition_route:
            raise WorkflowError(f"route: {case.reference} was already routed ({case.petition_route})", "route")
    route = _choice(params, "route", A.ROUTE, choices)
    if case.procedure == Procedure.PETITION:
        case.petition_route = route
    if route == PetitionRoute.HANDLING_OPINION:
        case.status = Status.IN_HANDLING
        return None
    case.status = Status.LED_INTO
    case.procedure = LED_INTO[route]
    case.led_into_at = context.now
    case.legal_body = _optional_text(params, "body")
    return {"led_into": case.procedure}


def _extend(case: Case, params: dict[str, Any], context: _Context) -> None:
    _require_petition(case, A.EXTEND)
    if case.review_round > 0:
        raise WorkflowError("extend: a review is decided within 30 days and is not extended (条例 Art. 35)")
    if case.accepted_at is None:
        raise WorkflowError(f"extend: {case.reference} has not been accepted; nothing runs to extend", "action")
    if case.extension_days:
        raise WorkflowError(
            f"extend: {case.reference} was already extended by {case.extension_days} days; "
            "the law allows one extension (条例 Art. 34)",
            "days",
        )
    conclude_by = period_end(local_date(case.accepted_at), CONCLUSION_DAYS)
    if context.today > conclude_by:
        raise WorkflowError(
            f"extend: the time to conclude ran out on {conclude_by}; an extension must be approved before it "
            "runs out (条例 Art. 34)",
            "days",
        )
    days = _whole_number(params.get("days"))
    if days is None or not 1 <= days <= MAX_EXTENSION_DAYS:
        raise WorkflowError(
            f"extend needs 'days', a whole number from 1 to {MAX_EXTENSION_DAYS} (条例 Art. 34); "
            f"got {params.get('days')!r}",
            "days",
        )
    case.extension_reason = _text(params, "reason", A.EXTEND, "the petitioner is told why (条例 Art. 34)")
    case.extension_approved_by = _text(
        params, "approved_by", A.EXTEND, "the head of the body who approved it (条例 Art. 34)"
    )
    told = _date(params, "told_at", A.EXTEND)
    _not_future(told, "told_at", A.EXTEND, context)
    _not_before(told, local_date(case.accepted_at), "told_at", A.EXTEND, "the acceptance")
    case.extension_told_at = told
    case.extension_days = days


def _put_on_agenda(case: Case, params: dict[str, Any], context: _Context) -> None:
    case.agenda_plan = _text(params, "plan", A.PUT_ON_AGENDA, "the plan the joint meeting agreed")
    unit = _unit(params, "unit", A.PUT_ON_AGENDA, case)
    person = _text(params, "person", A.PUT_ON_AGENDA, "the named person responsible")
    deadline = _deadline(params, A.PUT_ON_AGENDA, context)
    _hand_to_unit(case, unit)
    _make_responsible(case, person)
    case.agenda_deadline = deadline
    case.agenda_date = context.today


def _opinion(case: Case, params: dict[str, Any], context: _Context) -> None:
    """Art. 32: the written handling opinion — support, explanation, or not supported."""
    if case.review_round > 0:
        raise WorkflowError("opinion: a review is answered by review_decision", "action")
    if case.petition_route not in ("", PetitionRoute.HANDLING_OPINION):
        raise WorkflowError(
            f"opinion: {case.reference} was led into {case.petition_route} (Art. 31); only a matter under item 6 "
            "is answered by a handling opinion",
            "action",
        )
    case.petition_route = PetitionRoute.HANDLING_OPINION  # an opinion is the Art. 31(6) decision, recorded as such
    case.opinion_outcome = _choice(params, "outcome", A.OPINION, OpinionOutcome)
    case.outcome = _text(params, "text", A.OPINION, "the opinion as written to the petitioner (条例 Art. 32)")
    case.resolution_method = ResolutionMethod.HANDLING_OPINION
    case.replied_at = context.now


def _serve(case: Case, params: dict[str, Any], context: _Context) -> None:
    """The written reply reaches the petitioner: the review window runs from here (Art. 35)."""
    served = _moment(params, "served_at", A.SERVE)
    _not_future(local_date(served), "served_at", A.SERVE, context)
    written = case.review_decided_at if case.review_round else case.replied_at
    _not_before(local_date(served), local_date(written) if written else None, "served_at", A.SERVE, "the written reply")
    case.served_at = served
    case.served_method = _choice(params, "method", A.SERVE, ServiceMethod)


def _request_review(case: Case, params: dict[str, Any], context: _Context) -> dict[str, Any]:
    """Arts. 35–36: within 30 days of service, to the body above; a satisfied answer takes no right away."""
    _require_petition(case, A.REQUEST_REVIEW)
    if case.review_round >= MAX_REVIEW_ROUNDS:
        raise WorkflowError(
            f"request_review: {case.reference} was already re-reviewed (复核); "
            "the same request is not accepted again (条例 Art. 36)"
        )
    if case.served_at is None:
        raise WorkflowError(f"request_review: no written reply of {case.reference} has been served yet (条例 Art. 35)")
    window_end = period_end(local_date(case.served_at), REVIEW_REQUEST_DAYS)
    if context.today > window_end:
        raise WorkflowError(
            f"request_review: the review window closed on {window_end} "
            f"({REVIEW_REQUEST_DAYS} days after the written reply was served; 条例 Art. 35)"
        )
    if case.tier == Tier.MINING_COURT:
        raise WorkflowError("request_review: a court's decision is not reviewed as a petition (诉访分离)", "tier")
    case.review_round += 1
    case.review_requested_at = context.now
    case.review_outcome = ""
    case.review_decided_at = None
    above = tier_above(case.tier)
    if above is None:
        # The banner's body is reviewed by the city government: outside this system, recorded here.
        case.review_external = True
        return {"reviewing_body": "上级(市)人民政府 / the city government"}
    reviewer = unit_for_tier(above, case.township_code, case.village_code, case.banner_code)
    while reviewer is not None and unit_on_accused_side(case, reviewer) and tier_above(above):
        above = tier_above(above)  # the body above an accused reviewer reviews instead (回避)
        reviewer = unit_for_tier(above, case.township_code, case.village_code, case.banner_code)
    if reviewer is not None and unit_on_accused_side(case, reviewer):
        case.review_external = True  # the banner itself is accused: the city reviews
        return {"reviewing_body": "上级(市)人民政府 / the city government"}
    case.review_external = False
    if reviewer is None:
        case.tier, case.unit, case.responsible_person = above, None, ""
        return {"reviewing_body": above}
    _hand_to_unit(case, reviewer, "action")
    return {"reviewing_body": reviewer.code}


def _review_decision(case: Case, params: dict[str, Any], context: _Context) -> None:
    if case.review_round == 0:
        raise WorkflowError(f"review_decision: no review of {case.reference} was requested", "action")
    case.review_outcome = _choice(params, "outcome", A.REVIEW_DECISION, ReviewOutcome)
    case.outcome = _optional_text(params, "text") or ReviewOutcome(case.review_outcome).label
    case.review_decided_at = context.now
    case.replied_at = context.now


def _deputies(case: Case, params: dict[str, Any], action: str) -> None:
    """People's congress deputies took part (法治评事: in a mediation session or a follow-up)."""
    value = params.get("deputies_reviewed")
    if value is None:
        return
    if not isinstance(value, bool):
        raise WorkflowError(f"{action}: 'deputies_reviewed' is true or false; got {value!r}", "deputies_reviewed")
    case.deputies_reviewed = case.deputies_reviewed or value


def _session(case: Case, params: dict[str, Any], context: _Context) -> dict[str, Any]:
    _deputies(case, params, A.SESSION)
    at = _moment(params, "at", A.SESSION, default=context.now)
    _not_future(local_date(at), "at", A.SESSION, context)
    mediators = _optional_text(params, "mediators")
    if mediators:
        case.mediators = mediators
    return {"session": {"at": at.isoformat(), "mediators": mediators or case.mediators}}


def _agreement(case: Case, params: dict[str, Any], context: _Context) -> None:
    """人民调解法 Arts. 28–29: a written mediation agreement; judicial confirmation may follow (Art. 33)."""
    case.outcome = _text(params, "text", A.AGREEMENT, "what the parties agreed (调解协议书)")
    day = _date(params, "agreement_at", A.AGREEMENT, default=context.today)
    _not_future(day, "agreement_at", A.AGREEMENT, context)
    _not_before(day, local_date(case.received_at), "agreement_at", A.AGREEMENT, "the intake")
    if _optional_text(params, "mediators"):
        case.mediators = _optional_text(params, "mediators")
    case.agreement_at = day
    case.mediation_outcome = MediationOutcome.AGREEMENT
    case.resolution_method = ResolutionMethod.MEDIATION
    case.replied_at = context.now


def _fail(case: Case, params: dict[str, Any], context: _Context) -> None:
    _text(params, "reason", A.FAIL, "why the mediation failed")
    case.mediation_outcome = MediationOutcome.FAILED


def _confirm(case: Case, params: dict[str, Any], context: _Context) -> None:
    """Judicial confirmation (司法确认): applied for within 30 days of the agreement (人民调解法 Art. 33)."""
    if case.agreement_at is None:
        raise WorkflowError(f"confirm: {case.reference} has no mediation agreement to confirm", "action")
    if case.confirmation_ruled_at is not None:
        raise WorkflowError(f"confirm: {case.reference} was already confirmed", "action")
    applied = _date(params, "applied_at", A.CONFIRM)
    _not_before(applied, case.agreement_at, "applied_at", A.CONFIRM, "the agreement")
    window = due_dates(case, context.today).confirm_apply_by
    if window is not None and applied > window:
        raise WorkflowError(
            f"confirm: judicial confirmation must be applied for by {window}, 30 days after the agreement "
            "(人民调解法 Art. 33)",
            "applied_at",
        )
    ruled = _date(params, "ruled_at", A.CONFIRM)
    _not_before(ruled, applied, "ruled_at", A.CONFIRM, "the application")
    _not_future(ruled, "ruled_at", A.CONFIRM, context)
    case.confirmation_applied_at = applied
    case.confirmation_ruled_at = ruled
    case.confirmation_court = _text(params, "court", A.CONFIRM, "the court that ruled")
    case.confirmation_number = _text(params, "number", A.CONFIRM, "the number of the ruling (民事裁定书)")
    case.resolution_method = ResolutionMethod.JUDICIAL_CONFIRMATION


def _convert(case: Case, params: dict[str, Any], context: _Context) -> None:
    """A mediation that failed (or a matter wrongly sent to mediation) becomes a petition, received now."""
    _text(params, "reason", A.CONVERT, "why the matter now goes down the petition procedure")
    case.procedure = Procedure.PETITION
    case.holder_received_at = context.now
    case.accepted_at = None
    holder = holder_for(case, Procedure.PETITION)
    if holder is not None:  # a village committee mediated; the township answers the petition
        _hand_to_unit(case, holder[0], "action")


def _pre_mediate(case: Case, params: dict[str, Any], context: _Context) -> None:
    if case.procedure not in (Procedure.LITIGATION, Procedure.ARBITRATION):
        raise WorkflowError("pre_mediate: only litigation or arbitration has pre-litigation mediation", "action")
    day = _date(params, "at", A.PRE_MEDIATE, default=context.today)
    _not_future(day, "at", A.PRE_MEDIATE, context)
    case.pre_mediation_at = day
    if _optional_text(params, "body"):
        case.legal_body = _optional_text(params, "body")


def _file(case: Case, params: dict[str, Any], context: _Context) -> None:
    day = _date(params, "filed_at", A.FILE, default=context.today)
    _not_future(day, "filed_at", A.FILE, context)
    case.filed_at = day
    case.legal_number = _text(params, "number", A.FILE, "the case number the court or body gave (案号)")
    if _optional_text(params, "body"):
        case.legal_body = _optional_text(params, "body")


_LEGAL_METHOD = {
    LegalOutcome.MEDIATED: ResolutionMethod.MEDIATION,
    LegalOutcome.JUDGED: ResolutionMethod.LITIGATION,
    LegalOutcome.WITHDRAWN: ResolutionMethod.WITHDRAWN,
    LegalOutcome.DECIDED: ResolutionMethod.ADMINISTRATIVE_DECISION,
}


def _conclude(case: Case, params: dict[str, Any], context: _Context) -> None:
    """The court, arbitration or body's own end of the matter, with its date and number."""
    outcome = _choice(params, "outcome", A.CONCLUDE, LegalOutcome)
    day = _date(params, "at", A.CONCLUDE, default=context.today)
    _not_future(day, "at", A.CONCLUDE, context)
    case.legal_outcome = outcome
    case.legal_outcome_at = day
    case.outcome = _text(params, "text", A.CONCLUDE, "what was decided or agreed")
    if _optional_text(params, "number"):
        case.legal_number = _optional_text(params, "number")
    method = _LEGAL_METHOD[outcome]
    if case.procedure == Procedure.ARBITRATION and outcome == LegalOutcome.JUDGED:
        method = ResolutionMethod.ARBITRATION
    case.resolution_method = method
    case.replied_at = context.now


def _follow_up(case: Case, params: dict[str, Any], context: _Context) -> dict[str, Any]:
    """回访: someone other than the handler asks the petitioner; satisfaction is their answer."""
    _deputies(case, params, A.FOLLOW_UP)
    by = _text(params, "by", A.FOLLOW_UP, "who asked the petitioner")
    if case.responsible_person and by.casefold() == case.responsible_person.strip().casefold():
        raise WorkflowError(
            f"follow_up: {by} handled the case; the follow-up is made by someone else (回访由非承办人进行)", "by"
        )
    if _concluded_by(case, context.actor):
        raise WorkflowError(
            "follow_up: you recorded this case's outcome; someone else follows it up (回访由非承办人进行)",
            "by",
        )
    method = _choice(params, "method", A.FOLLOW_UP, FollowUp.Method)
    unreachable = params.get("unreachable", False)
    if not isinstance(unreachable, bool):
        raise WorkflowError(f"follow_up: 'unreachable' is true or false; got {unreachable!r}", "unreachable")
    satisfaction = params.get("satisfaction") or ""
    if unreachable == bool(satisfaction):
        raise WorkflowError(
            "follow_up needs either 'satisfaction' (the petitioner's answer) or 'unreachable': true", "satisfaction"
        )
    if satisfaction:
        satisfaction = _choice(params, "satisfaction", A.FOLLOW_UP, Satisfaction)
    at = _moment(params, "at", A.FOLLOW_UP, default=context.now)
    _not_future(local_date(at), "at", A.FOLLOW_UP, context)
    record = FollowUp.objects.create(
        case=case,
        at=at,
        by=by,
        method=method,
        satisfaction=satisfaction,
        unreachable=unreachable,
        note=_optional_text(params, "reason"),
        actor=context.actor if getattr(context.actor, "is_authenticated", False) else None,
    )
    if satisfaction:
        case.satisfaction = satisfaction
    return {"follow_up": record.pk, "answer": satisfaction or "unreachable"}


_CONCLUDING = (A.OPINION, A.REVIEW_DECISION, A.AGREEMENT, A.CONCLUDE, A.FAIL)


def _concluded_by(case: Case, actor: AbstractBaseUser | None) -> bool:
    """Whether `actor` (a logged-in user) recorded the case's last outcome: then they are its handler."""
    if not getattr(actor, "is_authenticated", False):
        return False
    last = case.events.filter(action__in=_CONCLUDING).order_by("-at", "-id").first()
    return last is not None and last.actor_id == actor.pk


def _supervise(case: Case, params: dict[str, Any], context: _Context) -> dict[str, Any]:
    """A superior's supervision act (督办/约谈/通报/挂牌督办) against the holder; the case stays with it."""
    kind = _choice(params, "kind", A.SUPERVISE, SupervisionAct.Kind)
    reason = _text(params, "reason", A.SUPERVISE, "what the unit must do, and why")
    deadline = _deadline(params, A.SUPERVISE, context)
    act = record_supervision(case, kind=kind, reason=reason, deadline=deadline, at=context.now, actor=context.actor)
    return {"supervision": act.pk, "kind": kind}


def record_supervision(
    case: Case,
    *,
    kind: str,
    reason: str,
    deadline: dt.date,
    at: dt.datetime,
    actor: AbstractBaseUser | None = None,
    ordered_by: str = "",
    missed: str = "",
) -> SupervisionAct:
    """Append one supervision act against the unit holding `case` now (used by `supervise` and the tick)."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return SupervisionAct.objects.create(
        case=case,
        kind=kind,
        unit=case.unit,
        ordered_by=ordered_by or (user.get_username() if user else "系统 system"),
        actor=user,
        at=at,
        deadline=deadline,
        reason=reason,
        missed=missed,
    )


def _close(case: Case, params: dict[str, Any], context: _Context) -> None:
    return None


EFFECTS: dict[str, Effect] = {
    A.ACCEPT: _accept,
    A.REJECT: _reject,
    A.TRANSFER: _transfer,
    A.OBJECT: _object,
    A.ASSIGN: _assign,
    A.LEAD: _lead,
    A.ROUTE: _route,
    A.EXTEND: _extend,
    A.PUT_ON_AGENDA: _put_on_agenda,
    A.OPINION: _opinion,
    A.SERVE: _serve,
    A.REQUEST_REVIEW: _request_review,
    A.REVIEW_DECISION: _review_decision,
    A.SESSION: _session,
    A.AGREEMENT: _agreement,
    A.FAIL: _fail,
    A.CONFIRM: _confirm,
    A.CONVERT: _convert,
    A.PRE_MEDIATE: _pre_mediate,
    A.FILE: _file,
    A.CONCLUDE: _conclude,
    A.FOLLOW_UP: _follow_up,
    A.SUPERVISE: _supervise,
    A.CLOSE: _close,
}
