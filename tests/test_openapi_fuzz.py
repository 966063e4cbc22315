"""Property-based fuzzing of every API operation from our OpenAPI schema: no input may cause a 5xx.

Schemathesis generates requests (valid and invalid: wrong types, huge numbers, odd strings,
NaN-like text) from the schema that `geo_disputes/api/schema.py` writes, and sends them
in-process through Django's WSGI app as an authenticated banner admin. Bounded by a fixed
number of examples per operation so `make test` stays fast.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from geo_disputes.models import Banner
from geo_disputes.services.ops import tokens

from .factories import ParcelFactory, StaffFactory, box, seed_places

EXAMPLES_PER_OPERATION = 30


def _schema() -> dict:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(document, default=str))


SCHEMA = schemathesis.openapi.from_dict(_schema())
SCHEMA.app = get_wsgi_application()


@pytest.fixture
def token(db):
    """A banner admin's token, in a world with the seed places; requests share the test's transaction."""
    # Like Django's test Client: keep the test's connection open across the in-process WSGI requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield _world()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _world() -> str:
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    ParcelFactory(code="150622106202JD00001", geom=box(111.04, 39.54, 111.06, 39.56))
    admin = StaffFactory(role="banner_admin").user
    return tokens.issue(admin)[1]


def test_the_schema_documents_every_api_route():
    paths = set(_schema()["paths"])
    for expected in ("/api/locate/", "/api/cases/", "/api/cases/{reference}/transitions/", "/api/stats/"):
        assert expected in paths
    assert len(paths) >= 13


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
def test_no_input_causes_a_server_error(case, token):
    response = case.call(headers={"Authorization": f"Token {token}"})
    case.validate_response(response, checks=[not_a_server_error])
