"""Repeat petitions (条例 Art. 19 ¶3): the same matter, while it is being handled, is not a new case.

A new case repeats an earlier one when both are of the same category, the earlier one is
still open, and they share a petitioner (same ID number, or same name and phone). Same
place or parcel alone is not enough: 41 neighbours with cracked houses are 41 petitioners
of one event (a case group), not repeats. The repeat is linked to the original (and counted once in
statistics) rather than refused: the petitioner's new words are kept on record.
"""

from __future__ import annotations

from django.db.models import Q

from geo_disputes.models import Case
from geo_disputes.models.cases import Status

OPEN_STATUSES = (
    Status.REPORTED,
    Status.ACCEPTED,
    Status.TRANSFERRED,
    Status.IN_HANDLING,
    Status.ON_AGENDA,
    Status.REVIEW_REQUESTED,
)


def find_repeat_of(case: Case) -> Case | None:
    """The earliest open case this one repeats, or None. The original itself is never a repeat."""
    same_person = Q()
    for party in case.petitioners.all():
        if party.id_number:
            same_person |= Q(petitioners__id_number=party.id_number)
        elif party.phone:
            same_person |= Q(petitioners__name=party.name, petitioners__phone=party.phone)
    if not same_person:
        return None
    earlier = (
        Case.objects.filter(same_person, category=case.category, status__in=OPEN_STATUSES, repeat_of__isnull=True)
        .exclude(pk=case.pk)
        .filter(received_at__lte=case.received_at)
        .order_by("received_at", "pk")
        .distinct()
    )
    return earlier.first()
