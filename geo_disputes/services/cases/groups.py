"""Case groups: one event raised by many petitioners (the 41 households), handled together.

Each member keeps its own petitioners and history; an action on the group is the same
workflow action applied to every member in one transaction, so the group moves as one
and a refusal on any member leaves all of them as they were.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from geo_disputes.models import Case, CaseEvent, CaseGroup
from geo_disputes.services.cases.access import visible_cases
from geo_disputes.services.cases.routing import route_case
from geo_disputes.services.cases.workflow import apply


def form_group(title: str, cases: list[Case], actor=None, at: dt.datetime | None = None) -> CaseGroup:
    """Group `cases` (same category) as one event and route them together by the group's scale.

    `at` is when the group was formed (default now; a replayed history gives its own time).
    """
    if not cases:
        raise ValueError("a case group needs at least one case")
    categories = {c.category for c in cases}
    if len(categories) != 1:
        raise ValueError(f"a case group is one matter of one category, got {sorted(categories)}")
    with transaction.atomic():
        group = CaseGroup.objects.create(title=title, category=cases[0].category)
        Case.objects.filter(pk__in=[c.pk for c in cases]).update(group=group)
        for case in Case.objects.filter(group=group).order_by("received_at", "pk"):
            CaseEvent.objects.create(
                case=case,
                at=at or timezone.now(),
                actor=actor,
                action="group",
                from_status=case.status,
                to_status=case.status,
                changes={"group": [None, group.pk]},
                reason=f"并入事项组「{title}」/ joined case group",
            )
            route_case(case, actor, at)
    return group


def visible_group(user, group_id: int) -> CaseGroup | None:
    """The group `group_id` when `user` may see one of its cases, else None — exactly as if it did not exist.

    A group has no scope of its own: its title and members are known only through its cases, so a
    group none of whose cases the caller may see must not be joined, named or told apart from a
    missing one. `user=None` is the system itself (demo loader, commands).
    """
    group = CaseGroup.objects.filter(pk=group_id).first()
    if group is None or user is None:
        return group
    if not visible_cases(user, Case.objects.filter(group_id=group_id)).exists():
        return None
    return group


def apply_to_group(group: CaseGroup, action: str, actor=None, **params: Any) -> list[Case]:
    """Apply one workflow action to every member of `group`; all or nothing."""
    with transaction.atomic():
        members = list(Case.objects.filter(group=group).order_by("received_at", "pk"))
        return [apply(case, action, actor, case.version, **params) for case in members]
