"""The five matters as a state machine with the law's states (说事 → 理事/办事 → 议事 → 评事).

One table, `TRANSITIONS`, says which action moves a case from which status to which.
`apply` is the only way a case changes status: it checks the caller edited the current
version (optimistic locking, so two officers never silently overwrite each other), checks
the action is allowed and its parameters are complete, sets the facts the clock derives
deadlines from, and appends one CaseEvent — all in one transaction, so a refusal writes nothing.
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

from geo_disputes.models import Case, CaseEvent, Unit
from geo_disputes.models.cases import ResolutionMethod, Satisfaction, Status, Tier
from geo_disputes.services.clock import (
    MAX_EXTENSION_DAYS,
    REVIEW_DECISION_DAYS,
    REVIEW_REQUEST_DAYS,
    DueState,
    deadline_key,
    due_dates,
    local_date,
    next_joint_meeting,
)
from geo_disputes.services.units import tier_above, tier_of_unit, unit_code_for_tier, unit_for_tier

MAX_REVIEW_ROUNDS = 2  # review (复查) then re-review (复核); then the same facts are not accepted again (Art. 36)


class Action(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    TRANSFER = "transfer"
    ASSIGN = "assign"
    EXTEND = "extend"
    PUT_ON_AGENDA = "put_on_agenda"
    RESOLVE = "resolve"
    EVALUATE = "evaluate"
    CLOSE = "close"
    REQUEST_REVIEW = "request_review"
    ESCALATE = "escalate"


S, A = Status, Action
TRANSITIONS: dict[tuple[str, str], str] = {
    # 说事: the receiving body decides within 15 days whether it accepts the matter.
    (S.REPORTED, A.ACCEPT): S.ACCEPTED,
    (S.REPORTED, A.REJECT): S.NOT_ACCEPTED,
    (S.REPORTED, A.TRANSFER): S.TRANSFERRED,
    (S.REPORTED, A.ESCALATE): S.REPORTED,
    (S.TRANSFERRED, A.ACCEPT): S.ACCEPTED,
    (S.TRANSFERRED, A.REJECT): S.NOT_ACCEPTED,
    (S.TRANSFERRED, A.TRANSFER): S.TRANSFERRED,
    (S.TRANSFERRED, A.ESCALATE): S.TRANSFERRED,
    # 理事/办事: a named person handles it, jointly with departments where needed.
    (S.ACCEPTED, A.ASSIGN): S.IN_HANDLING,
    (S.ACCEPTED, A.EXTEND): S.ACCEPTED,
    (S.ACCEPTED, A.PUT_ON_AGENDA): S.ON_AGENDA,
    (S.ACCEPTED, A.RESOLVE): S.RESOLVED,
    (S.ACCEPTED, A.ESCALATE): S.ACCEPTED,
    (S.IN_HANDLING, A.ASSIGN): S.IN_HANDLING,
    (S.IN_HANDLING, A.EXTEND): S.IN_HANDLING,
    (S.IN_HANDLING, A.PUT_ON_AGENDA): S.ON_AGENDA,
    (S.IN_HANDLING, A.RESOLVE): S.RESOLVED,
    (S.IN_HANDLING, A.ESCALATE): S.IN_HANDLING,
    # 议事: the joint meeting sets a plan, a responsible unit and person, and a deadline.
    (S.ON_AGENDA, A.ASSIGN): S.ON_AGENDA,
    (S.ON_AGENDA, A.EXTEND): S.ON_AGENDA,
    (S.ON_AGENDA, A.RESOLVE): S.RESOLVED,
    (S.ON_AGENDA, A.ESCALATE): S.ON_AGENDA,
    # 评事: the petitioner (and deputies) evaluate the reply; dissatisfied → review one tier up.
    (S.RESOLVED, A.EVALUATE): S.EVALUATED,
    (S.RESOLVED, A.REQUEST_REVIEW): S.REVIEW_REQUESTED,
    (S.EVALUATED, A.CLOSE): S.CLOSED,
    (S.EVALUATED, A.REQUEST_REVIEW): S.REVIEW_REQUESTED,
    (S.CLOSED, A.REQUEST_REVIEW): S.REVIEW_REQUESTED,
    # 复查/复核: the body above takes the review on, or decides it directly.
    (S.REVIEW_REQUESTED, A.ASSIGN): S.IN_HANDLING,
    (S.REVIEW_REQUESTED, A.PUT_ON_AGENDA): S.ON_AGENDA,
    (S.REVIEW_REQUESTED, A.RESOLVE): S.RESOLVED,
    (S.REVIEW_REQUESTED, A.ESCALATE): S.REVIEW_REQUESTED,
}

# Parameters each action takes; anything else is refused so a typo never passes silently.
PARAMETERS: dict[str, frozenset[str]] = {
    A.ACCEPT: frozenset({"person", "reason"}),
    A.REJECT: frozenset({"reason"}),
    A.TRANSFER: frozenset({"unit", "reason"}),
    A.ASSIGN: frozenset({"person", "unit", "reason"}),
    A.EXTEND: frozenset({"days", "reason"}),
    A.PUT_ON_AGENDA: frozenset({"plan", "unit", "person", "deadline", "reason"}),
    A.RESOLVE: frozenset({"method", "outcome", "reason"}),
    A.EVALUATE: frozenset({"satisfaction", "deputies_reviewed", "reason"}),
    A.CLOSE: frozenset({"reason"}),
    A.REQUEST_REVIEW: frozenset({"reason"}),
    A.ESCALATE: frozenset({"reason"}),
}

# Case fields an action may change; the event records each that did, as [old, new].
TRACKED_FIELDS = (
    "status",
    "tier",
    "unit",
    "responsible_person",
    "accepted_at",
    "not_accepted_reason",
    "extension_days",
    "extension_reason",
    "agenda_date",
    "agenda_plan",
    "agenda_deadline",
    "resolution_method",
    "outcome",
    "replied_at",
    "satisfaction",
    "deputies_reviewed",
    "review_requested_at",
    "review_round",
)


class WorkflowError(ValueError):
    """An action refused: illegal in this status, or a parameter missing or invalid (`field` names it)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class StaleEditError(Exception):
    """The case changed since the caller loaded it; nothing was written."""


@dataclass(frozen=True)
class _Context:
    now: dt.datetime
    today: dt.date


def allowed_actions(status: str) -> list[str]:
    """The actions the table allows from `status`, in the table's order."""
    return [action for (from_status, action) in TRANSITIONS if from_status == status]


def apply(
    case: Case,
    action: str,
    actor: AbstractBaseUser | None,
    expected_version: int,
    *,
    now: dt.datetime | None = None,
    **params: Any,
) -> Case:
    """Perform `action` on `case` as `actor` (a user, or None for the system) and return the saved case.

    `expected_version` is the version the actor saw; `now` (default: the current time) is
    when the action happens, for replays and tests. Raises WorkflowError or StaleEditError
    and writes nothing when refused.
    """
    action = _parse_action(action)
    unexpected = sorted(set(params) - PARAMETERS[action])
    if unexpected:
        allowed = ", ".join(sorted(PARAMETERS[action]))
        raise WorkflowError(f"{action} does not take {', '.join(unexpected)}; it takes: {allowed}", unexpected[0])
    _check_text_parameters(action, params)
    now = now or timezone.now()
    context = _Context(now=now, today=local_date(now))
    with transaction.atomic():
        current = Case.objects.select_for_update(of=("self",)).select_related("unit").get(pk=case.pk)
        if current.version != expected_version:
            raise StaleEditError(_stale_message(current, expected_version))
        new_status = _next_status(current, action)
        before = _snapshot(current)
        notes = EFFECTS[action](current, params, context) or {}
        current.status = new_status
        after = _snapshot(current)
        changed = [name for name in TRACKED_FIELDS if before[name] != after[name]]
        current.version += 1
        current.save(update_fields=[*changed, "version", "updated_at"])
        CaseEvent.objects.create(
            case=current,
            actor=actor,
            action=action,
            from_status=before["status"],
            to_status=new_status,
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
    new_status = TRANSITIONS.get((case.status, action))
    if new_status is None:
        allowed = ", ".join(allowed_actions(case.status)) or "none (the matter is finished)"
        raise WorkflowError(
            f"cannot {action} {case.reference}: it is {case.status} ({case.get_status_display()}); allowed: {allowed}",
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
    """The tracked fields as JSON values (the unit by its code)."""
    values: dict[str, Any] = {}
    for name in TRACKED_FIELDS:
        value = case.unit.code if name == "unit" and case.unit else getattr(case, name)
        values[name] = value.isoformat() if isinstance(value, dt.date | dt.datetime) else value
    return values


# Parameter readers: each names the field it refuses, so the API can answer 400 with it.

# Text parameters and the longest value each may have (None: free text). A list, a number or a NUL
# character is refused before any reader str()-s it into the case or its history (issue 6).
TEXT_PARAMETERS: dict[str, int | None] = {
    "person": Case._meta.get_field("responsible_person").max_length,
    "reason": None,
    "plan": None,
    "outcome": None,
    "unit": Unit._meta.get_field("code").max_length,
}


def _check_text_parameters(action: str, params: dict[str, Any]) -> None:
    for name, limit in TEXT_PARAMETERS.items():
        value = params.get(name)
        if value is None or (name == "unit" and isinstance(value, Unit)):
            continue
        if not isinstance(value, str):
            raise WorkflowError(f"{action}: '{name}' must be text; got {type(value).__name__}", name)
        if "\x00" in value:
            raise WorkflowError(f"{action}: '{name}' contains a NUL character", name)
        if limit is not None and len(value.strip()) > limit:
            raise WorkflowError(f"{action}: '{name}' has at most {limit} characters; got {len(value.strip())}", name)
    deadline = params.get("deadline")
    if deadline is not None and not isinstance(deadline, str | dt.date):
        raise WorkflowError(f"{action}: 'deadline' is a date YYYY-MM-DD; got {type(deadline).__name__}", "deadline")


def _text(params: dict[str, Any], name: str, action: str, why: str) -> str:
    value = str(params.get(name) or "").strip()
    if not value:
        raise WorkflowError(f"{action} needs '{name}': {why}", name)
    return value


def _unit(params: dict[str, Any], name: str, action: str) -> Unit:
    value = params.get(name)
    if isinstance(value, Unit):
        return value
    code = str(value or "").strip()
    if not code:
        raise WorkflowError(f"{action} needs '{name}': the code of the responsible unit", name)
    unit = Unit.objects.filter(code=code).first()
    if unit is None:
        raise WorkflowError(f"{action}: no unit with code {code!r}", name)
    return unit


def _choice(params: dict[str, Any], name: str, action: str, choices: type[TextChoices]) -> str:
    value = params.get(name)
    if value not in choices.values:
        raise WorkflowError(f"{action} needs '{name}', one of: {', '.join(choices.values)}; got {value!r}", name)
    return value


def _date(params: dict[str, Any], name: str, action: str) -> dt.date:
    value = params.get(name)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise WorkflowError(f"{action} needs '{name}' as a date (YYYY-MM-DD); got {value!r}", name) from exc


def _whole_number(value: Any) -> int | None:
    """An int from an int or a digit string; None for anything else (bools, fractions, words)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _move_to_tier(case: Case, tier: str) -> None:
    """Hand the case to the unit of `tier` for its place (None when that unit is not registered)."""
    case.tier = tier
    case.unit = unit_for_tier(tier, case.township_code, case.village_code)
    case.responsible_person = case.unit.head_name if case.unit else ""


def _hand_to_unit(case: Case, unit: Unit) -> None:
    case.unit = unit
    case.tier = tier_of_unit(unit)


# Effects: set the facts of each action on the locked case; return extra notes for the event.

Effect = Callable[[Case, dict[str, Any], _Context], dict[str, Any] | None]


def _accept(case: Case, params: dict[str, Any], context: _Context) -> None:
    case.accepted_at = context.now
    if params.get("person"):
        case.responsible_person = str(params["person"]).strip()


def _reject(case: Case, params: dict[str, Any], context: _Context) -> None:
    case.not_accepted_reason = _text(
        params, "reason", A.REJECT, "the petitioner is told in writing why the matter is not accepted (条例 Art. 23)"
    )


def _transfer(case: Case, params: dict[str, Any], context: _Context) -> None:
    unit = _unit(params, "unit", A.TRANSFER)
    _text(params, "reason", A.TRANSFER, "why the matter belongs to that unit (条例 Art. 22–23)")
    if unit == case.unit:
        raise WorkflowError(f"transfer: {case.reference} is already with {unit.code}", "unit")
    _hand_to_unit(case, unit)
    case.responsible_person = unit.head_name


def _assign(case: Case, params: dict[str, Any], context: _Context) -> None:
    case.responsible_person = _text(params, "person", A.ASSIGN, "the named person responsible")
    if params.get("unit"):
        _hand_to_unit(case, _unit(params, "unit", A.ASSIGN))


def _extend(case: Case, params: dict[str, Any], context: _Context) -> None:
    if case.review_round > 0:
        raise WorkflowError(f"extend: a review is decided within {REVIEW_DECISION_DAYS} days and is not extended")
    if case.extension_days:
        raise WorkflowError(
            f"extend: {case.reference} was already extended by {case.extension_days} days; "
            "the law allows one extension (条例 Art. 34)",
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
    case.extension_days = days


def _put_on_agenda(case: Case, params: dict[str, Any], context: _Context) -> None:
    case.agenda_plan = _text(params, "plan", A.PUT_ON_AGENDA, "the plan the joint meeting agreed")
    unit = _unit(params, "unit", A.PUT_ON_AGENDA)
    person = _text(params, "person", A.PUT_ON_AGENDA, "the named person responsible")
    deadline = _date(params, "deadline", A.PUT_ON_AGENDA)
    if deadline < context.today:
        raise WorkflowError(f"put_on_agenda: the deadline {deadline} is already past", "deadline")
    _hand_to_unit(case, unit)
    case.responsible_person = person
    case.agenda_deadline = deadline
    case.agenda_date = context.today


def _resolve(case: Case, params: dict[str, Any], context: _Context) -> None:
    case.resolution_method = _choice(params, "method", A.RESOLVE, ResolutionMethod)
    case.outcome = _text(params, "outcome", A.RESOLVE, "what was agreed or decided, as told to the petitioner")
    case.replied_at = context.now


def _evaluate(case: Case, params: dict[str, Any], context: _Context) -> None:
    case.satisfaction = _choice(params, "satisfaction", A.EVALUATE, Satisfaction)
    deputies = params.get("deputies_reviewed", False)
    if not isinstance(deputies, bool):
        raise WorkflowError(f"evaluate: 'deputies_reviewed' is true or false; got {deputies!r}", "deputies_reviewed")
    case.deputies_reviewed = deputies


def _close(case: Case, params: dict[str, Any], context: _Context) -> None:
    return None


def _request_review(case: Case, params: dict[str, Any], context: _Context) -> None:
    if case.review_round >= MAX_REVIEW_ROUNDS:
        raise WorkflowError(
            f"request_review: {case.reference} was already re-reviewed (复核); "
            "the same facts are not accepted again (条例 Art. 36)"
        )
    if case.satisfaction in (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED):
        raise WorkflowError(
            f"request_review: the petitioner evaluated the reply as {case.satisfaction}; "
            "a review follows a dissatisfied evaluation",
            "satisfaction",
        )
    window_end = due_dates(case, context.today).review_request_by
    if window_end is None:
        raise WorkflowError(f"request_review: {case.reference} has no reply on record to review")
    if context.today > window_end:
        raise WorkflowError(
            f"request_review: the review window closed on {window_end} "
            f"({REVIEW_REQUEST_DAYS} days after the reply; 条例 Art. 35)"
        )
    above = tier_above(case.tier)
    if case.tier == Tier.BANNER:
        raise WorkflowError(
            "request_review: a banner-level reply is reviewed by the city government above the banner, "
            "outside this system (条例 Art. 35)",
            "tier",
        )
    if above is None:
        raise WorkflowError(f"request_review: {case.reference} has no tier; route it first", "tier")
    case.review_round += 1
    case.review_requested_at = context.now
    _move_to_tier(case, above)


def _escalate(case: Case, params: dict[str, Any], context: _Context) -> dict[str, Any]:
    _text(params, "reason", A.ESCALATE, "why the matter goes up a tier")
    notes: dict[str, Any] = {}
    dues = due_dates(case, context.today)
    if dues.state == DueState.OVERDUE:
        notes["missed"] = deadline_key(dues.next_due_kind, dues.next_due)
    if case.tier == Tier.BANNER:
        # The top tier: the banner's joint meeting takes the case (闭环议事).
        case.agenda_date = next_joint_meeting(context.today)
        return notes
    above = tier_above(case.tier)
    if above is None:
        raise WorkflowError(f"escalate: {case.reference} has no tier; route it first", "tier")
    _move_to_tier(case, above)
    if case.unit is None:
        notes["unit_missing"] = unit_code_for_tier(above, case.township_code, case.village_code)
    return notes


EFFECTS: dict[str, Effect] = {
    A.ACCEPT: _accept,
    A.REJECT: _reject,
    A.TRANSFER: _transfer,
    A.ASSIGN: _assign,
    A.EXTEND: _extend,
    A.PUT_ON_AGENDA: _put_on_agenda,
    A.RESOLVE: _resolve,
    A.EVALUATE: _evaluate,
    A.CLOSE: _close,
    A.REQUEST_REVIEW: _request_review,
    A.ESCALATE: _escalate,
}
