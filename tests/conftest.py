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


@pytest.fixture(scope="session", autouse=True)
def _attachment_root(tmp_path_factory):
    """Attachments of the test session go to a directory of their own (per parallel worker), never the checkout's."""
    from django.conf import settings

    settings.ATTACHMENT_ROOT = tmp_path_factory.mktemp("attachments")
    return settings.ATTACHMENT_ROOT


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
    if connection.settings_dict["NAME"] != connection.settings_dict.get("TEST", {}).get("NAME"):
        # No test of this session (or of this parallel worker) asked for a database, so pytest-django set none
        # up and the connection names the configured one: the dev database, perhaps with `make run` serving it.
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
            "AND pg_has_role(current_user, usesysid, 'MEMBER')"
        )


# Tests that share an expensive fixture, each set run whole by one parallel worker (`make test` runs pytest -n):
# node-id prefix -> group.
WORKER_GROUPS = {
    "tests/test_demo_data.py::TestDemoCases::": "demo_cases",  # the demo cases, loaded once for the class
}

# The longest tests (10-30 s each, measured with --durations): handed out first and one per chunk, so the two
# workers share them instead of one worker finishing alone. None of them uses the demo areas.
LONG_TESTS = (
    "tests/test_interrupts.py::",  # a module-scoped scratch database per worker (named by the worker's pid)
    "tests/test_crash.py::",
    "tests/test_security.py::test_backup_and_restore_round_trip",
    "tests/test_security.py::test_a_database_outage_answers_503",
    "tests/test_linking.py::test_the_case_table_has_no_like_indexes",
    "tests/test_bad_input.py::test_an_enormous_geometry_is_refused",
    "tests/test_bad_input.py::test_html_pages_never_answer_500_to_hostile_query_parameters",
)


# Modules whose tests (some of them) use the committed demo areas; the scheduler holds them back while long tests
# are still to be handed out, since a long test that found the demo banner committed would fail (its own Banner).
DEMO_MODULES = ("tests/test_demo_data.py", "tests/test_locate_demo.py", "tests/test_bench_smoke.py")


def worker_group(nodeid: str) -> str | None:
    return next((group for prefix, group in WORKER_GROUPS.items() if nodeid.startswith(prefix)), None)


def is_long(nodeid: str) -> bool:
    return nodeid.startswith(LONG_TESTS)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run tests that use the demo areas last, so tests expecting empty area tables never see them.

    Within each of the two parts, the long tests and the tests of a worker group come first. Parallel workers
    (`make test`) are handed work in this order, so each worker, with its own database, still runs its demo tests
    after all its others, and the long tests start early rather than keep one worker busy at the end.
    """

    def key(item: pytest.Item) -> tuple[bool, bool]:
        first = is_long(item.nodeid) or worker_group(item.nodeid) is not None
        return "demo_areas" in getattr(item, "fixturenames", ()), not first

    items.sort(key=key)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """With parallel workers (-n, --dist load, the default): xdist's load scheduling, with two changes.

    A chunk carries at most one of LONG_TESTS (the first still pending) and otherwise the next tests in collection
    order, and it never ends inside one of WORKER_GROUPS. xdist's own chunks are consecutive: the first worker
    would get every long test at once. Not xdist's loadgroup either: it reads `xdist_group` marks through a
    node-id suffix that pytest 9.2 no longer lets it set (pytest-dev/pytest-xdist#1386: the marks are silently
    ignored), and it schedules by node id, so it runs only one of the schemathesis tests in test_openapi_fuzz.py,
    which share one node id (18 tests, one id).
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScheduling

    class SpreadLoadScheduling(LoadScheduling):
        def _send_tests(self, node, num: int) -> None:
            pending, collection = self.pending, self.collection
            longs = [i for i in pending if is_long(collection[i])]
            rest = [i for i in pending if not is_long(collection[i])]
            if longs:  # the demo tests commit the demo areas for the rest of the worker's session: longs go first
                rest = [i for i in rest if not collection[i].startswith(DEMO_MODULES)]
            chunk = longs[:1]
            take = min(max(num - len(chunk), 0), len(rest))
            if take > 0:
                group = worker_group(collection[rest[take - 1]])
                while group is not None and take < len(rest) and worker_group(collection[rest[take]]) == group:
                    take += 1
            chunk += rest[:take]
            if not chunk:
                return
            chosen = set(chunk)
            pending[:] = [i for i in pending if i not in chosen]
            self.node2pending[node].extend(chunk)
            node.send_runtest_some(chunk)

    return SpreadLoadScheduling(config, log)
