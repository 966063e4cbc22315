"""API tokens (services/ops/tokens.py, api/auth.py): hashed, expiring, revoked when the password changes."""

from __future__ import annotations

import hashlib
import importlib
import io
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from geo_disputes.models import ApiToken
from geo_disputes.services.ops import tokens

from .factories import UserFactory

OLD, NEW = "Correct-horse-9", "Another-horse-77"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db):
    made = UserFactory(username="officer")
    made.set_password(OLD)
    made.save()
    return made


def _status(secret: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client.get("/api/cases/").status_code


def _via_page(user) -> None:
    client = Client()
    client.force_login(user)
    form = {"old_password": OLD, "new_password1": NEW, "new_password2": NEW}
    assert client.post("/accounts/password_change/", form).status_code == 302


def _via_admin(user) -> None:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    form = {"password1": NEW, "password2": NEW, "usable_password": "true"}
    response = client.post(f"/admin/auth/user/{user.pk}/password/", form)
    assert response.status_code == 302, response.content.decode()[:2000]


def _via_changepassword(user, monkeypatch=None) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW)
    call_command("changepassword", user.username, stdout=io.StringIO())


def _via_add_staff(user) -> None:
    call_command("add_staff", user.username, "--role", "banner_admin", "--password", NEW, stdout=io.StringIO())


def _via_set_password(user) -> None:
    user.set_password(NEW)
    user.save()


def _via_unusable_password(user) -> None:
    user.set_unusable_password()
    user.save(update_fields=["password"])


@pytest.mark.parametrize(
    "change",
    [_via_page, _via_admin, _via_changepassword, _via_add_staff, _via_set_password, _via_unusable_password],
)
def test_a_password_change_revokes_every_token_of_that_user(user, change, monkeypatch):
    secrets_ = [tokens.issue(user)[1], tokens.issue(user, name="script")[1]]
    other = tokens.issue(UserFactory(username="colleague"))[1]
    assert [_status(s) for s in secrets_] == [200, 200]
    if change is _via_changepassword:
        change(user, monkeypatch)
    else:
        change(user)
    assert [_status(s) for s in secrets_] == [401, 401]
    assert not ApiToken.objects.filter(user=user).exists()
    assert _status(other) == 200
    # A new token works after the change.
    assert _status(tokens.issue(user)[1]) == 200


def test_saving_a_user_without_changing_the_password_keeps_the_tokens(user):
    _, secret = tokens.issue(user)
    user.first_name = "王"
    user.save()
    assert Client().post("/accounts/login/", {"username": "officer", "password": OLD}).status_code == 302
    assert _status(secret) == 200


def test_a_hash_upgrade_at_login_is_not_a_password_change(user, settings):
    """Django re-hashes a password on login when the preferred hasher changed; that keeps the tokens."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    user.password = make_password(OLD, hasher="md5")
    user.save()
    _, secret = tokens.issue(user)
    assert Client().post("/accounts/login/", {"username": "officer", "password": OLD}).status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$")  # upgraded
    assert _status(secret) == 200


def test_tokens_expire_after_api_token_days(user, settings):
    token, secret = tokens.issue(user)
    assert abs(token.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    settings.API_TOKEN_DAYS = 7
    short, _ = tokens.issue(user)
    assert abs(short.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)

    assert _status(secret) == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    response = client.get("/api/cases/")
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    assert response["WWW-Authenticate"] == "Token"


def test_the_database_holds_no_usable_token(user):
    out = io.StringIO()
    call_command("api_token", "officer", "--name", "field tablet", stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    assert _status(secret) == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(t)::text FROM geo_disputes_apitoken t")
        stored = cursor.fetchone()[0]
    assert secret not in stored and hashlib.sha256(secret.encode()).hexdigest() in stored
    token = ApiToken.objects.get()
    for value in (token.digest, token.prefix, str(token.pk)):
        assert _status(value) == 401
    # The secret is shown only once: listing shows the prefix, never the secret.
    listed = io.StringIO()
    call_command("api_token", "officer", "--list", stdout=listed)
    assert token.prefix in listed.getvalue() and secret not in listed.getvalue()
    call_command("api_token", "officer", "--revoke", stdout=io.StringIO())
    assert _status(secret) == 401


def test_an_inactive_users_token_is_refused(user):
    _, secret = tokens.issue(user)
    user.is_active = False
    user.save()
    assert _status(secret) == 401


def test_the_migration_hashes_existing_plain_tokens(user, settings):
    """0013_api_tokens: each rest_framework.authtoken key keeps working, stored only as its hash."""
    plain = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # DRF's format: 40 hex digits
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz, user_id int)")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now() - interval '1 year', %s)", [plain, user.pk])
    migration = importlib.import_module("geo_disputes.migrations.0013_api_tokens")
    with connection.schema_editor() as editor:
        migration.hash_plain_tokens(apps, editor)
    assert _status(plain) == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
    token = ApiToken.objects.get(user=user)
    assert token.digest == hashlib.sha256(plain.encode()).hexdigest()
    assert token.expires_at > timezone.now() + timedelta(days=29)  # a month to replace it, from the migration
