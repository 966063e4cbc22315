"""Durability is relaxed per transaction for bulk work only, never for intake or transitions (issue 19).

`services.sql.relaxed_commit()` sets `synchronous_commit = off` for the one transaction of an area import,
a re-link or the demo load. Each test first sets the session's value to `on` (PostgreSQL's default and the
served cluster's; the cluster these tests run on may have been started otherwise) and resets it at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_save

from geo_disputes.models import Banner, CaseEvent
from geo_disputes.services.areas import linking
from geo_disputes.services.sql import relaxed_commit
from tests.factories import as_role, box, intake_body, seed_places

pytestmark = pytest.mark.django_db(transaction=True)

# The only modules that may relax a commit: the helper and the bulk work that calls it.
BULK = {
    "geo_disputes/services/sql.py",
    "geo_disputes/services/areas/imports.py",
    "geo_disputes/services/areas/linking.py",
    "fixtures/demo_loader.py",
    "fixtures/demo_cases.py",
}


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.fixture
def durable_session():
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = on")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def test_relaxed_for_its_transaction_only(durable_session):
    with transaction.atomic():
        assert relaxed_commit() is True
        assert synchronous_commit() == "off"
        with transaction.atomic():  # a savepoint inside it: still the same transaction
            assert synchronous_commit() == "off"
    assert synchronous_commit() == "on"


def test_inside_someone_elses_transaction_it_changes_nothing(durable_session):
    with transaction.atomic(), transaction.atomic():
        assert relaxed_commit() is False
        assert synchronous_commit() == "on"
    assert synchronous_commit() == "on"


def test_link_cases_relaxes_its_own_transaction(durable_session, monkeypatch):
    seen = []

    def spy() -> bool:
        relaxed = relaxed_commit()
        seen.append((relaxed, synchronous_commit()))
        return relaxed

    monkeypatch.setattr(linking, "relaxed_commit", spy)
    linking.link_cases()
    assert seen == [(True, "off")]
    assert synchronous_commit() == "on"


def test_intake_and_transitions_commit_durably(durable_session):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    seen = []

    def record(sender, instance, **kwargs):
        seen.append((instance.action, synchronous_commit()))

    post_save.connect(record, sender=CaseEvent, dispatch_uid="test_relaxed_commit")
    try:
        admin = as_role("banner_admin")
        created = admin.post("/api/cases/", intake_body(), format="json")
        assert created.status_code == 201, created.json()
        reference = created.json()["reference"]
        accepted = admin.post(f"/api/cases/{reference}/transitions/", {"action": "accept"}, format="json")
        assert accepted.status_code == 200, accepted.json()
    finally:
        post_save.disconnect(dispatch_uid="test_relaxed_commit", sender=CaseEvent)
    assert {action for action, _ in seen} >= {"report", "route", "accept"}
    assert {value for _, value in seen} == {"on"}, seen


def test_only_bulk_modules_use_the_helper():
    root = Path(settings.BASE_DIR)
    users = {
        str(path.relative_to(root))
        for folder in ("geo_disputes", "fixtures", "maps")
        for path in (root / folder).rglob("*.py")
        if "relaxed_commit" in path.read_text("utf-8") or "synchronous_commit" in path.read_text("utf-8")
    }
    assert users == BULK
