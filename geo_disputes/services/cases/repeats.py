"""Repeat petitions (条例 Art. 19 ¶3, Art. 36): the same person on the same matter is not a new case.

*Same person*: a shared petitioner (same ID number, or same name and phone). *Same matter*: the
place counts, not the label — the cases share a parcel, lie within SAME_PLACE_M of each other, or
are of the same category in the same village; a repeat filed under another category is still seen.
Same place alone is not enough: 41 neighbours with cracked houses are 41 petitioners of one event
(a case group), not repeats.

* While the original is open, the new case is linked to it and runs no clock of its own (status
  `repeat`): the petitioner's new words are kept on record, and the original's holder answers.
* After re-review (复核) the same request is not accepted again (Art. 36): the new case is recorded as
  not accepted, linked to the final one.
What the caller is told about the original is decided by services.cases.access, never here.
"""

from __future__ import annotations

from django.contrib.gis.measure import D
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from geo_disputes.models import Case, CaseParcel
from geo_disputes.models.cases import Status
from geo_disputes.services.cases.clock import MAX_REVIEW_ROUNDS, OPEN_STATUSES

SAME_PLACE_M = 500


def find_original(case: Case) -> tuple[Case | None, bool]:
    """(the earlier matter this one repeats, whether that one is final), or (None, False).

    A matter already re-reviewed and decided wins (Art. 36: not accepted again); otherwise the
    earliest open one (Art. 19 ¶3). One query for both.
    """
    earlier = _same_person_same_matter(case)
    if earlier is None:
        return None, False
    final = Q(review_round__gte=MAX_REVIEW_ROUNDS, review_decided_at__isnull=False)
    candidates = list(
        earlier.filter(final | Q(status__in=OPEN_STATUSES)).annotate(final=ExpressionWrapper(final, BooleanField()))
    )
    for candidate in candidates:
        if candidate.final:
            return candidate, True
    return (candidates[0], False) if candidates else (None, False)


def _same_person_same_matter(case: Case) -> QuerySet[Case] | None:
    same_person = Q()
    for party in case.petitioners.all():
        if party.id_number:
            same_person |= Q(petitioners__id_number=party.id_number)
        elif party.phone:
            same_person |= Q(petitioners__name=party.name, petitioners__phone=party.phone)
    if not same_person:
        return None
    parcels = CaseParcel.objects.filter(case=case).values("parcel_id")
    same_matter = (
        Q(caseparcel__parcel_id__in=parcels)
        | Q(location__distance_lte=(case.location, D(m=SAME_PLACE_M)))
        | Q(category=case.category, village_code=case.village_code)
    )
    candidates = (
        Case.objects.filter(same_person)
        .exclude(pk=case.pk)
        .exclude(status=Status.REPEAT)
        .filter(received_at__lte=case.received_at)
        .values("pk")
    )
    return Case.objects.filter(pk__in=candidates).filter(same_matter).distinct().order_by("received_at", "pk")
