"""Every role × scope against every way out of the system: API list and detail, case pages, CSV export.

The visibility table lives in test_access.py (the service); here the same table is checked
through each surface a user or client program actually touches, so no surface can leak
what the service withholds.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.test_access import ALL, ROLE_SCOPE_SEES, banner, staff  # noqa: F401 — `banner` is a fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("banner")]

IDS = [f"{r}:{s or '-'}" for r, s, _ in ROLE_SCOPE_SEES]


def _clients(role: str, scope: str) -> tuple[APIClient, Client]:
    user = staff(role, scope)
    api = APIClient()
    api.force_authenticate(user)
    page = Client()
    page.force_login(user)
    return api, page


@pytest.mark.parametrize(("role", "scope", "expected"), ROLE_SCOPE_SEES, ids=IDS)
def test_api_list_and_detail(role, scope, expected):
    api, _ = _clients(role, scope)
    listed = api.get("/api/cases/", {"page_size": 100}).json()
    assert {f["properties"]["reference"] for f in listed["features"]} == expected
    assert listed["count"] == len(expected)
    for reference in sorted(ALL):
        status = api.get(f"/api/cases/{reference}/").status_code
        assert status == (200 if reference in expected else 404), reference


@pytest.mark.parametrize(("role", "scope", "expected"), ROLE_SCOPE_SEES, ids=IDS)
def test_case_pages(role, scope, expected):
    _, page = _clients(role, scope)
    listing = page.get("/cases/").content.decode()
    assert {ref for ref in ALL if f"/cases/{ref}/" in listing} == expected
    for reference in sorted(ALL):
        assert page.get(f"/cases/{reference}/").status_code == (200 if reference in expected else 404), reference


@pytest.mark.parametrize(("role", "scope", "expected"), ROLE_SCOPE_SEES, ids=IDS)
def test_csv_export(role, scope, expected):
    _, page = _clients(role, scope)
    response = page.get("/cases/export.csv")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    references = {row[0] for row in rows[1:]}
    assert references == expected
    assert "史文华" not in body.decode("utf-8-sig") and "13812340000" not in body.decode("utf-8-sig")


@pytest.mark.parametrize(("role", "scope", "expected"), ROLE_SCOPE_SEES, ids=IDS)
def test_exchange_package(role, scope, expected):
    """The case-exchange zip carries the petitioners whole: only for cases the role sees and handles (reads the
    text of); the same 404 for a case out of scope and for one seen but not handled."""
    from geo_disputes.models import Case
    from geo_disputes.services.cases.access import can_read_case_text

    user = staff(role, scope)
    page = Client()
    page.force_login(user)
    for reference in sorted(ALL):
        handled = reference in expected and can_read_case_text(user, Case.objects.get(reference=reference))
        assert page.get(f"/cases/{reference}/exchange.zip").status_code == (200 if handled else 404), reference
