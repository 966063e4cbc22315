"""Shared fixtures. Tests run against a real PostGIS database (the project cluster)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_client(db, django_user_model) -> APIClient:
    """An authenticated API client (role-less staff user; roles arrive with issue 3)."""
    user = django_user_model.objects.create_user("tester", password="pw-for-tests-only")
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture(scope="session")
def demo_areas(django_db_setup, django_db_blocker) -> dict[str, int]:
    """The Zhungeer demo areas and units, loaded into the test database once per session.

    They are committed outside any test's transaction and stay for the rest of the
    session, so tests requesting this fixture run after all others (see the hook below)
    and must not use `transactional_db`, whose flush would remove them. Returns the rows
    loaded (all zero when the database already held them, e.g. with --reuse-db).
    """
    import importlib

    from django.apps import apps

    from fixtures.demo_loader import load_demo_areas
    from geo_disputes.models import RoutingRule

    with django_db_blocker.unblock():
        # Demo tests run after the transactional ones, whose flush also removed the rows the
        # default-rules data migration created: replay that migration's data step first.
        if not RoutingRule.objects.exists():
            importlib.import_module("geo_disputes.migrations.0002_default_routing_rules").create_rules(apps, None)
        return load_demo_areas()


@pytest.fixture(scope="session", autouse=True)
def _no_stray_connections_at_teardown(django_db_setup, django_db_blocker):
    """End any connection to the test database still open when the session ends.

    Transactional tests (live server, threads) can leave an idle connection whose Python object
    is gone but whose socket is not closed yet; the database drop at teardown would then fail
    with "being accessed by other users" (a PytestWarning). This runs just before that drop.
    """
    yield
    from django.db import connection

    # Only client connections of our own roles (the owner, and the app role it is a member of): the suite
    # runs as the owner, which may not end a superuser's process such as an autovacuum worker.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
            "AND pg_has_role(current_user, usesysid, 'MEMBER')"
        )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run tests that use the demo areas last, so tests expecting empty area tables never see them."""
    items.sort(key=lambda item: "demo_areas" in getattr(item, "fixturenames", ()))
