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
