"""Proposed case groups: one event raised by many petitioners, found in the open cases, decided by a person.

Two open cases of the same category are linked when they are
  * near in space and time — within `eps_m` metres (EPSG:4546) and `days` days of each other;
  * about the same parcel — both concern one parcel (at their point or named at intake);
  * from the same petitioner — the same ID number, or the same name and phone.
Linked cases form a proposal by connected components (A near B, B near C: one proposal), so a
proposal is a candidate, never an automatic merge: a person confirms it (the cases become one
CaseGroup, routed by the group's scale, services.cases.groups) or rejects it.

What is left out: closed cases (their matter is concluded; regrouping would re-route them) and
repeat petitions (`repeat_of` set: already linked to their original and counted once, Art. 19 ¶3), and
accusations (检举控告: one accuser's matter for the discipline commission, never one event with the claims
beside it — a group would route it again, and its title and members reach readers on the accused side).
A component holding cases of two different groups is not proposed — merging groups is not done
here. A component whose cases all belong to one group already is not proposed either; one that
adds ungrouped cases to one group proposes extending it.

Proposals are computed from the cases each time (no stale rows to keep in step); their id is the
signature of the member set. Only decisions are stored (GroupProposal, by signature), so a set
once confirmed or rejected is not proposed again; a set with a new member is a new proposal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from geo_disputes.models import Case, CaseEvent, CaseGroup
from geo_disputes.models.areas import METRIC_SRID
from geo_disputes.models.bounds import REASON_MAX, TITLE_MAX, text_problem
from geo_disputes.models.cases import Category, GroupProposal
from geo_disputes.services.cases.access import may_decide, visible_cases
from geo_disputes.services.cases.clock import OPEN_STATUSES
from geo_disputes.services.cases.groups import form_group
from geo_disputes.services.cases.routing import route_case

DEFAULT_EPS_M = 300.0
DEFAULT_DAYS = 30
REASONS = {
    "near": "同类、时空相近 / same category, near in space and time",
    "same_parcel": "同一地块 / same parcel",
    "same_petitioner": "同一信访人 / same petitioner",
}

# Pairs (a < b) of open, non-repeat cases of one category, with the rule that links them.
_EDGES_SQL = f"""
    WITH open AS (
        SELECT id, category, received_at, ST_Transform(location, {METRIC_SRID}) AS g
        FROM geo_disputes_case
        WHERE status = ANY(%(open)s) AND repeat_of_id IS NULL AND kind <> 'accusation'
    )
    SELECT a.id, b.id, 'near' FROM open a JOIN open b
        ON a.id < b.id AND a.category = b.category
       AND abs(extract(epoch FROM a.received_at - b.received_at)) <= %(seconds)s
       AND ST_DWithin(a.g, b.g, %(eps)s)
    UNION
    SELECT a.id, b.id, 'same_parcel' FROM open a
        JOIN geo_disputes_caseparcel pa ON pa.case_id = a.id
        JOIN geo_disputes_caseparcel pb ON pb.parcel_id = pa.parcel_id AND pb.case_id > a.id
        JOIN open b ON b.id = pb.case_id AND b.category = a.category
    UNION
    SELECT a.id, b.id, 'same_petitioner' FROM open a
        JOIN open b ON b.id > a.id AND b.category = a.category
        JOIN geo_disputes_party pa ON pa.case_id = a.id
        JOIN geo_disputes_party pb ON pb.case_id = b.id
         AND ((pa.id_number <> '' AND pb.id_number = pa.id_number)
              OR (pa.phone <> '' AND pb.name = pa.name AND pb.phone = pa.phone))
"""  # noqa: S608 — only the SRID constant is interpolated; values are parameters


class ProposalError(ValueError):
    """A proposal that cannot be decided: `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Proposal:
    id: str
    category: str
    case_ids: tuple[int, ...]
    references: tuple[str, ...]
    reasons: tuple[str, ...]
    extends_group: int | None


def signature(case_ids) -> str:
    """The id of a proposal: a hash of its sorted member ids."""
    return hashlib.sha256(",".join(str(i) for i in sorted(case_ids)).encode()).hexdigest()[:40]


def proposals(eps_m: float = DEFAULT_EPS_M, days: int = DEFAULT_DAYS) -> list[Proposal]:
    """Every current proposal, largest first (then by earliest member)."""
    with connection.cursor() as cur:
        cur.execute(_EDGES_SQL, {"open": list(OPEN_STATUSES), "seconds": days * 86400, "eps": eps_m})
        edges = cur.fetchall()
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, _ in edges:
        parent[root(a)] = root(b)
    components: dict[int, set[int]] = {}
    for node in list(parent):
        components.setdefault(root(node), set()).add(node)
    reasons: dict[int, set[str]] = {}
    for a, _, why in edges:
        reasons.setdefault(root(a), set()).add(why)
    info = {
        pk: (ref, category, group)
        for pk, ref, category, group in Case.objects.filter(pk__in=list(parent)).values_list(
            "pk", "reference", "category", "group_id"
        )
    }
    decided = set(GroupProposal.objects.values_list("signature", flat=True))
    found = []
    for key, members in components.items():
        groups = {info[m][2] for m in members} - {None}
        if len(groups) > 1 or all(info[m][2] is not None for m in members):
            continue
        sig = signature(members)
        if sig in decided:
            continue
        ordered = tuple(sorted(members))
        found.append(
            Proposal(
                id=sig,
                category=info[ordered[0]][1],
                case_ids=ordered,
                references=tuple(sorted(info[m][0] for m in members)),
                reasons=tuple(r for r in REASONS if r in reasons[key]),
                extends_group=next(iter(groups), None),
            )
        )
    return sorted(found, key=lambda p: (-len(p.case_ids), p.references[0]))


def visible_proposals(user, found: list[Proposal] | None = None) -> list[Proposal]:
    """The proposals all of whose cases `user` may see (a proposal never reveals a case out of scope)."""
    found = proposals() if found is None else found
    every = {pk for p in found for pk in p.case_ids}
    seen = set(visible_cases(user, Case.objects.filter(pk__in=every)).values_list("pk", flat=True))
    return [p for p in found if seen.issuperset(p.case_ids)]


def confirm(proposal_id: str, actor, title: str = "", note: str = "") -> CaseGroup:
    """Group the proposal's cases as one event (or add them to the group it extends); recorded."""
    _check_text(title=title, note=note)
    proposal, cases = _actionable(proposal_id, actor)
    joined = _group_to_extend(proposal)
    with transaction.atomic():
        decision = _record(proposal, GroupProposal.Status.CONFIRMED, actor, note)
        if joined is not None:
            group = extend_group(joined, cases, actor)
        else:
            label = Category(proposal.category).label
            title = title.strip() or f"{label}:{proposal.references[0]} 等 {len(cases)} 件"
            group = form_group(title, cases, actor)
        decision.group = group
        decision.save(update_fields=["group"])
    return group


def reject(proposal_id: str, actor, note: str = "") -> GroupProposal:
    """Record that the proposal's cases are not one event; the same set is not proposed again."""
    _check_text(note=note)
    proposal, _ = _actionable(proposal_id, actor)
    with transaction.atomic():
        return _record(proposal, GroupProposal.Status.REJECTED, actor, note)


def extend_group(group: CaseGroup, cases: list[Case], actor=None) -> CaseGroup:
    """Add ungrouped `cases` to `group` and route every member again by the group's new scale."""
    if any(c.category != group.category for c in cases):
        raise ValueError(f"a case group is one matter of one category ({group.category})")
    with transaction.atomic():
        joining = [c.pk for c in cases if c.group_id is None]
        Case.objects.filter(pk__in=joining).update(group=group)
        for case in Case.objects.filter(pk__in=joining).order_by("received_at", "pk"):
            CaseEvent.objects.create(
                case=case,
                actor=actor,
                action="group",
                from_status=case.status,
                to_status=case.status,
                changes={"group": [None, group.pk]},
                reason=f"并入事项组「{group.title}」/ joined case group",
            )
        for case in Case.objects.filter(group=group).order_by("received_at", "pk"):
            route_case(case, actor)
    return group


TEXT_LIMITS = {"title": TITLE_MAX, "note": REASON_MAX}


def _check_text(**fields: str) -> None:
    """Refuse (400, naming the field) text that cannot be stored or is too long; nothing is cut short."""
    for name, value in fields.items():
        problem = text_problem(value)
        if problem:
            raise ProposalError(f"{name}: {problem}", 400)
        if len(value.strip()) > TEXT_LIMITS[name]:
            raise ProposalError(f"{name}: 至多 {TEXT_LIMITS[name]} 字 / at most {TEXT_LIMITS[name]} characters", 400)


def _actionable(proposal_id: str, actor) -> tuple[Proposal, list[Case]]:
    current = {p.id: p for p in proposals()}
    proposal = current.get(proposal_id)
    if proposal is None:
        if GroupProposal.objects.filter(signature=proposal_id).exists():
            raise ProposalError("该建议已有决定 / this proposal has already been decided", 409)
        raise ProposalError("无此合并建议(案件可能已变化)/ no such proposal (its cases may have changed)", 404)
    visible = visible_cases(actor, Case.objects.filter(pk__in=proposal.case_ids))
    cases = list(visible.order_by("received_at", "pk"))
    if len(cases) != len(proposal.case_ids):
        raise ProposalError("无此合并建议 / no such proposal in your scope", 404)
    # Confirming regroups and re-routes every member (it moves matters, as a transfer does), and a rejection
    # keeps the set from being proposed again: both are decided by each holder's tier or above (item 4).
    if not all(may_decide(actor, case) for case in cases):
        raise ProposalError(
            "其中部分事项由上级层级办理,合并与否由承办层级或上级决定 / some of these matters are held above you: "
            "the holder's tier or above decides whether they are one event",
            403,
        )
    return proposal, cases


def _group_to_extend(proposal: Proposal) -> CaseGroup | None:
    """The group a proposal extends, refused (409) when it holds another matter than the proposal's cases.

    Such a group comes from a case that joined a group of another category (intake once let it):
    extending it would mix two matters, so the person is told instead of the server failing.
    """
    if proposal.extends_group is None:
        return None
    group = CaseGroup.objects.filter(pk=proposal.extends_group).first()
    if group is None or group.category != proposal.category:
        raise ProposalError(
            "事项组与建议中的事项类别不同,不能并入 / the group holds another category than these cases", 409
        )
    return group


def _record(proposal: Proposal, status: str, actor, note: str) -> GroupProposal:
    try:
        with transaction.atomic():
            decision = GroupProposal.objects.create(
                signature=proposal.id,
                category=proposal.category,
                reasons=list(proposal.reasons),
                status=status,
                note=note.strip(),
                decided_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        raise ProposalError("该建议已有决定 / this proposal has already been decided", 409) from None
    decision.cases.set(proposal.case_ids)
    return decision


def proposal_cases(proposal: Proposal) -> QuerySet[Case]:
    """The member cases, oldest first (for listing them)."""
    return Case.objects.filter(pk__in=proposal.case_ids).order_by("received_at", "pk")
