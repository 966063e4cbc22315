"""Reference numbers: ZGE-YYYY-NNNNNN, counted per year, never shared by two concurrent intakes."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction

from geo_disputes.models import Case
from geo_disputes.services.cases.clock import STATUTE_TZ
from geo_disputes.services.cases.references import ReferenceNumberError, next_reference
from tests.factories import CaseFactory


@pytest.mark.django_db
def test_numbers_count_up_within_a_year_and_restart_in_the_next():
    with transaction.atomic():
        assert next_reference(2026) == "ZGE-2026-000001"
    CaseFactory(reference="ZGE-2026-000041")  # e.g. loaded by the demo import
    CaseFactory(reference="ZGE-2025-000118")

    with transaction.atomic():
        assert next_reference(2026) == "ZGE-2026-000042"
        assert next_reference(2025) == "ZGE-2025-000119"
        assert next_reference(2027) == "ZGE-2027-000001"


@pytest.mark.django_db(transaction=True)
def test_a_reference_is_only_issued_inside_the_transaction_that_saves_the_case():
    with pytest.raises(ReferenceNumberError, match="inside the transaction"):
        next_reference(2026)


@pytest.mark.django_db(transaction=True)
def test_concurrent_intakes_never_take_the_same_number():
    received = dt.datetime(2026, 3, 1, 10, tzinfo=STATUTE_TZ)
    start = threading.Barrier(4)
    errors: list[Exception] = []

    def intake() -> None:
        try:
            start.wait(timeout=10)
            with transaction.atomic():
                reference = next_reference(2026)
                time.sleep(0.05)  # a slow intake: without the lock, the others would read the same maximum
                CaseFactory(reference=reference, received_at=received)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=intake) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(Case.objects.values_list("reference", flat=True)) == [f"ZGE-2026-{n:06d}" for n in range(1, 5)]
