"""Login throttling on the real login pages and API (login_throttle): a sprayer or a guesser is
stopped, and nobody can lock someone else out of their own account."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from geo_disputes.models import LoginFailure
from geo_disputes.services.ops import tokens

from .factories import UserFactory

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
PASSWORD = "Correct-horse-9"
HOME = "10.1.1.1"  # where the victim usually logs in
ATTACKER = "10.6.6.6"


@pytest.fixture(autouse=True)
def rules(settings):
    """The default rules, stated here so the tests read against them; MD5 so hashing takes no time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOGIN_THROTTLE_FAILURES = 5
    settings.LOGIN_THROTTLE_ADDRESS_FAILURES = 20
    settings.LOGIN_THROTTLE_LOCKOUT_SECONDS = 15 * 60
    settings.LOGIN_THROTTLE_KNOWN_ADDRESS_DAYS = 30


def _user(username: str):
    user = UserFactory(username=username, is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def victim(db):
    return _user("officer")


def _attempt(username: str, password: str, ip: str, url: str = LOGIN) -> tuple[bool, str]:
    """(logged in?, the page's text) for one login attempt from `ip`."""
    client = Client()
    response = client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)
    return "_auth_user_id" in client.session, response.content.decode()


def _locked(text: str) -> bool:
    return "登录失败次数过多" in text and "Too many failed login attempts" in text


def _asked_to_wait(text: str) -> int | None:
    found = re.search(r"please wait (\d+) seconds", text)
    return int(found.group(1)) if found else None


def _age(key_prefix: str, seconds: int) -> None:
    """Move the last failure of the matching counts `seconds` into the past (time passing)."""
    rows = LoginFailure.objects.filter(key__startswith=key_prefix, last_failure_at__isnull=False)
    rows.update(last_failure_at=F("last_failure_at") - timedelta(seconds=seconds))


def test_a_sprayer_is_stopped_even_logging_into_their_own_account_between_guesses(victim):
    _user("mallory")  # the sprayer's own account
    for n in range(20):
        _user(f"staff{n}")
    for n in range(20):  # one guess per account, and every fourth guess a login to their own account
        assert not _attempt(f"staff{n}", "Guess-1234", ATTACKER)[0]
        if n % 4 == 3 and n < 19:
            assert _attempt("mallory", PASSWORD, ATTACKER)[0]  # before the fix this cleared the address's count
    # 20 failures from one address, whatever succeeded in between: the address is locked, for every account.
    for username in ("officer", "mallory"):
        logged_in, text = _attempt(username, PASSWORD, ATTACKER)
        assert not logged_in and _locked(text)
    # Nobody else is: the victim logs in from their own address.
    assert _attempt("officer", PASSWORD, HOME)[0]
    # The lock ends 15 minutes after the address's last failure.
    _age("ip:", 15 * 60 + 1)
    assert _attempt("mallory", PASSWORD, ATTACKER)[0]


def test_a_stranger_cannot_lock_the_victim_out_of_their_own_address(victim):
    assert _attempt("officer", PASSWORD, HOME)[0]  # the victim has logged in from home before
    # 40 wrong passwords for the victim from 10 addresses (4 each: no address or pair is locked).
    for n in range(40):
        assert not _attempt("officer", "wrong-password", f"10.6.6.{n % 10}")[0]
    for url in (LOGIN, ADMIN_LOGIN):
        logged_in, text = _attempt("officer", PASSWORD, HOME, url)
        assert logged_in, text


def test_failures_for_an_account_slow_down_new_addresses_more_and_more(victim):
    assert _attempt("officer", PASSWORD, HOME)[0]
    for n in range(5):
        _attempt("officer", "wrong-password", f"10.6.6.{n}")
    # Past 5 failures, an address the account never logged in from waits after each failure: 1 s, 2 s, 4 s …
    waits = []
    for k in range(6):
        LoginFailure.objects.filter(key__startswith="user:").update(last_failure_at=timezone.now())
        logged_in, text = _attempt("officer", PASSWORD, f"10.6.7.{k}")  # not even checked
        assert not logged_in
        waits.append(_asked_to_wait(text))
        _age("user:", 2**k + 1)
        logged_in, text = _attempt("officer", "wrong-password", f"10.6.7.{k}")
        assert not logged_in and _asked_to_wait(text) is None  # judged, and counted
    assert waits == [1, 2, 4, 8, 16, 32]
    logged_in, text = _attempt("officer", PASSWORD, "10.8.8.8")
    assert not logged_in and 63 <= _asked_to_wait(text) <= 64
    # The owner at home never waits; elsewhere they get in once the wait has passed.
    assert _attempt("officer", PASSWORD, HOME)[0]
    _age("user:", 65)
    assert _attempt("officer", PASSWORD, "10.8.8.8")[0]


def test_five_failures_lock_the_account_at_that_address_only(victim):
    assert _attempt("officer", PASSWORD, HOME)[0]
    for _ in range(5):
        logged_in, text = _attempt("officer", "wrong-password", ATTACKER)
        assert not logged_in and not _locked(text)
    logged_in, text = _attempt("officer", PASSWORD, ATTACKER)
    assert not logged_in and _locked(text) and "15" in text
    assert _attempt("officer", PASSWORD, HOME)[0]
    _age("", 15 * 60 + 1)
    assert _attempt("officer", PASSWORD, ATTACKER)[0]


def test_a_successful_login_clears_the_count_at_that_address(victim):
    for _ in range(4):
        _attempt("officer", "wrong-password", HOME)
    assert _attempt("officer", PASSWORD, HOME)[0]
    for _ in range(4):
        _attempt("officer", "wrong-password", HOME)
    assert _attempt("officer", PASSWORD, HOME)[0]


def test_the_admin_login_counts_with_the_accounts_login(victim):
    for _ in range(3):
        _attempt("officer", "wrong-password", ATTACKER, ADMIN_LOGIN)
    for _ in range(2):
        _attempt("officer", "wrong-password", ATTACKER, LOGIN)
    for url in (ADMIN_LOGIN, LOGIN):
        logged_in, text = _attempt("officer", PASSWORD, ATTACKER, url)
        assert not logged_in and _locked(text)


def test_repeated_bad_api_tokens_from_one_address_are_refused(victim):
    _, secret = tokens.issue(victim)
    client = APIClient()
    for n in range(20):
        client.credentials(HTTP_AUTHORIZATION=f"Token guess-{n}")
        assert client.get("/api/cases/", REMOTE_ADDR=ATTACKER).status_code == 401
    # The address is refused for 15 minutes, before any token is looked at — even a valid one.
    for token in ("guess-21", secret):
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        response = client.get("/api/cases/", REMOTE_ADDR=ATTACKER)
        assert response.status_code == 429 and 14 * 60 <= int(response["Retry-After"]) <= 15 * 60
    # Other addresses are not; nor are password logins from that address (a script's expired token
    # does not lock its colleagues out of the login page).
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert client.get("/api/cases/", REMOTE_ADDR=HOME).status_code == 200
    assert _attempt("officer", PASSWORD, ATTACKER)[0]
    _age("api:", 15 * 60 + 1)
    assert client.get("/api/cases/", REMOTE_ADDR=ATTACKER).status_code == 200


def test_counts_no_longer_acting_are_pruned(victim):
    from geo_disputes.services.ops import login_throttle

    _attempt("officer", "wrong-password", ATTACKER)
    assert _attempt("officer", PASSWORD, HOME)[0]
    assert LoginFailure.objects.count() == 4  # ip, user, pair at the attacker; pair at home (its success)
    _age("", 86400 + 1)
    LoginFailure.objects.update(last_success_at=timezone.now() - timedelta(days=31))
    assert login_throttle.prune() == 4
