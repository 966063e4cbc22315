"""Near-identical intakes: the same matter registered again minutes later, most likely a double submission.

A new case is *near-identical* to an earlier one registered (created) at most NEAR_IDENTICAL_MINUTES
before it, within NEAR_IDENTICAL_METRES, of the same category, with a shared petitioner (ID number,
or name and phone) or the same description text.

The new case is registered all the same: 41 households of one event give the same place and often the
same words, and a person, not a rule, tells a double submission from a neighbour (the Idempotency-Key
and the form's one-time token stop true double sends). The person registering is warned, naming the
earlier case, only when they may see it (services.cases.access). When they may not, the answer says
nothing — a warning, even without a reference, would tell them that this person has a matter here
they may not see, perhaps an accusation against their own unit (Art. 30; as services.cases.intake
does for a repeat) — and the match goes to the earlier case's holders as a `possible_duplicate` note.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.measure import D
from django.db.models import Q
from django.utils import timezone

from geo_disputes.models import Case, CaseEvent
from geo_disputes.services.cases.access import visible_cases
from geo_disputes.services.cases.recusal import may_note_match

MAX_WARNINGS = 5


@dataclass(frozen=True)
class NearIdentical:
    """An earlier case the registering person may see, and how many minutes before the new one it came."""

    reference: str
    minutes: int

    def as_warning(self) -> dict:
        return {"code": "near_identical", "reference": self.reference, "message": warning_text(self)}


def warning_text(match: NearIdentical) -> str:
    """The warning in Chinese, then English (the page shows it as is)."""
    return (
        f"{match.minutes}分钟前已在同一地点登记同类事项 {match.reference}(同一信访人或相同描述),"
        f"请核实是否重复提交;如确属重复,请在原事项中办理。 / a near-identical case {match.reference} was "
        f"registered {match.minutes} minutes ago at the same place: check this is not a double submission"
    )


def check_near_identical(case: Case, actor) -> list[NearIdentical]:
    """The near-identical earlier cases `actor` may see (newest first); the others get a note for their holders."""
    earlier = list(_candidates(case)[: MAX_WARNINGS * 4])
    if not earlier:
        return []
    seen = set(visible_cases(actor, Case.objects.filter(pk__in=[c.pk for c in earlier])).values_list("pk", flat=True))
    found = []
    for other in earlier:
        if other.pk in seen:
            minutes = max(0, int((case.created_at - other.created_at).total_seconds() // 60))
            found.append(NearIdentical(other.reference, minutes))
        elif may_note_match(case, other) and not _noted_as_repeat(other, case):
            _note_for_holders(other, case)
    return found[:MAX_WARNINGS]


def _candidates(case: Case):
    since = case.created_at - dt.timedelta(minutes=settings.NEAR_IDENTICAL_MINUTES)
    same_words = Q(description=case.description)
    same_person = Q()
    for party in case.petitioners.all():
        if party.id_number:
            same_person |= Q(petitioners__id_number=party.id_number)
        if party.phone:
            same_person |= Q(petitioners__name=party.name, petitioners__phone=party.phone)
    matches = (
        Case.objects.filter(same_words | same_person if same_person else same_words)
        .filter(category=case.category, created_at__gte=since, created_at__lte=case.created_at)
        .filter(location__distance_lte=(case.location, D(m=settings.NEAR_IDENTICAL_METRES)))
        .exclude(pk=case.pk)
        .values("pk")
    )
    return Case.objects.filter(pk__in=matches).order_by("-created_at", "-pk")


def _noted_as_repeat(earlier: Case, case: Case) -> bool:
    """Whether intake already handed this match to the earlier case's holders (a `possible_repeat` note)."""
    return CaseEvent.objects.filter(case=earlier, action="possible_repeat", changes__case=case.reference).exists()


def _note_for_holders(earlier: Case, case: Case) -> None:
    CaseEvent.objects.create(
        case=earlier,
        at=timezone.now(),
        actor=None,
        action="possible_duplicate",
        from_status=earlier.status,
        to_status=earlier.status,
        changes={"case": case.reference},
        reason="数分钟内在同一地点另行登记了相近事项,请核实是否重复 / "
        "a near-identical case was registered here minutes later: check whether it is the same",
    )
