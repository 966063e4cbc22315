"""Hardening (issue 6): the login wall, CSRF, secure settings, login throttling, sessions,
append-only audit log, a database outage, and backup/restore.

The login-wall test walks the whole URL map, so a page or endpoint added later is covered
without touching this file; only a deliberately public one goes on PUBLIC_URL_NAMES.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from datetime import timedelta
from pathlib import Path
from re import _constants as sre
from re import _parser as sre_parser
from urllib.parse import quote, urlparse

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from geo_disputes.models import CaseEvent, PersonalDataAccess, RoutingRule, RoutingRuleChange
from geo_disputes.services.ops import login_throttle
from tests.factories import CaseFactory, ParcelFactory, UnitFactory

ROOT = Path(settings.BASE_DIR)
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"

# URL names an anonymous visitor may reach, each with its reason. Nothing else.
PUBLIC_URL_NAMES = {
    "login": "the login page",
    "admin:login": "the admin's login page",
    "logout": "ends the visitor's own session; shows no data",
    "admin:logout": "the same for the admin (an anonymous visitor is sent to the admin index, then its login)",
    "healthz": "for monitors: the database's state, the last tick's time and the commit; no personal data",
    "set_language": "the language switch, offered on the login page too; stores a cookie, shows no data",
    "service-worker": "the field app's service worker: the app shell's file names, no data (views/offline.py)",
    "web-manifest": "the field app's manifest: its name, start page and icon, no data",
    "offline-page": "what a page that cannot open offline shows instead: links to the field page and intake, no data",
}
METHODS = ("get", "post", "put", "patch", "delete")


# --- the URL map ----------------------------------------------------------------------------------


def _sample_char(items) -> str:
    """A character that an `[...]` class (sre_parse items) matches."""
    negate = bool(items) and items[0][0] is sre.NEGATE
    body = items[1:] if negate else items

    def member(ch: str) -> bool:
        for op, av in body:
            if op is sre.LITERAL and ch == chr(av):
                return True
            if op is sre.RANGE and av[0] <= ord(ch) <= av[1]:
                return True
            if op is sre.CATEGORY:
                word = ch.isalnum() or ch == "_"
                tests = {
                    sre.CATEGORY_DIGIT: ch.isdigit(),
                    sre.CATEGORY_NOT_DIGIT: not ch.isdigit(),
                    sre.CATEGORY_WORD: word,
                    sre.CATEGORY_NOT_WORD: not word,
                    sre.CATEGORY_SPACE: ch.isspace(),
                    sre.CATEGORY_NOT_SPACE: not ch.isspace(),
                }
                if tests.get(av, False):
                    return True
        return False

    for ch in "a1x-_.Z9":
        if member(ch) != negate:
            return ch
    raise ValueError(f"no sample character for class {items!r}")


def _sample(parsed) -> str:
    """A short string matching a parsed regular expression (the first branch, one repetition)."""
    out = []
    for op, av in parsed:
        if op is sre.LITERAL:
            out.append(chr(av))
        elif op is sre.NOT_LITERAL:
            out.append("a" if av != ord("a") else "b")
        elif op is sre.ANY:
            out.append("a")
        elif op is sre.IN:
            out.append(_sample_char(av))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, _high, sub = av
            out.append(_sample(sub) * max(low, 1))
        elif op is sre.SUBPATTERN:
            out.append(_sample(av[-1]))
        elif op is sre.ATOMIC_GROUP:
            out.append(_sample(av))
        elif op is sre.BRANCH:
            out.append(_sample(av[1][0]))
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue
        else:
            raise ValueError(f"cannot sample regex element {op}")
    return "".join(out)


def sample_regex(regex: str) -> str:
    return _sample(sre_parser.parse(regex))


def _fill(pattern, values: dict[str, str]) -> str:
    """A concrete path for one URL pattern level: plausible converter values, or a regex sample."""
    converters = getattr(pattern, "converters", {})
    route = getattr(pattern, "_route", None)
    if route is None:
        if hasattr(pattern, "language_prefix"):
            return pattern.language_prefix
        return sample_regex(str(pattern))

    def replace(match: re.Match) -> str:
        name = match.group("name")
        regex = converters[name].regex
        for candidate in (values.get(name), *_CONVERTER_SAMPLES.get(type(converters[name]).__name__, ())):
            if candidate is not None and re.fullmatch(regex, candidate):
                return candidate
        return sample_regex(regex)

    return re.sub(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>", replace, route)


_CONVERTER_SAMPLES = {
    "IntConverter": ("1",),
    "SlugConverter": ("townships",),
    "StringConverter": ("x1",),
    "PathConverter": ("a/b",),
    "UUIDConverter": ("3f2c1a9e-8f1b-4c1e-9a55-3b8f6d0c2e11",),
}


def walk_urls(values: dict[str, str]):
    """(url, full name, callback) for every pattern in the URL map, nested includes expanded."""

    def walk(resolver: URLResolver, prefix: str, namespace: str):
        for entry in resolver.url_patterns:
            path = prefix + _fill(entry.pattern, values)
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry, path, inner)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}{entry.name}" if entry.name else ""
                yield "/" + path, name, entry.callback

    yield from walk(get_resolver(), "", "")


def _login_redirect(response) -> bool:
    if response.status_code != 302:
        return False
    target = urlparse(response["Location"]).path
    return target in (settings.LOGIN_URL, reverse("admin:login"))


def test_the_regex_sampler_matches_what_it_samples():
    for regex in (r"^(?P<app_label>auth|geo_disputes)/$", r"(?P<url>.*)$", r"[^/]+", r"[-a-zA-Z0-9_]+", r"\d{12}-\w+"):
        assert re.fullmatch(regex.lstrip("^"), sample_regex(regex)), regex


@pytest.mark.django_db
def test_every_page_and_endpoint_needs_a_login():
    case = CaseFactory()
    parcel = ParcelFactory()
    unit = UnitFactory()
    # Real identifiers, so a view that answered an anonymous visitor would answer with real data.
    values = {
        "reference": case.reference,
        "code": parcel.code,
        "unit_code": unit.code,
        "layer": "townships",
        "object_id": str(case.pk),
    }
    client = Client()
    checked, public_seen, failures = 0, set(), []
    for url, name, callback in walk_urls(values):
        if url.startswith(settings.STATIC_URL):
            continue  # static files are public by design
        match = resolve(url)
        assert match.func == callback, f"{url} resolves to {match.view_name}, not {name or callback}"
        if name in PUBLIC_URL_NAMES:
            public_seen.add(name)
            continue
        statuses = {}
        for method in METHODS:
            response = getattr(client, method)(url)
            statuses[method] = response.status_code
            if not (_login_redirect(response) or response.status_code in (401, 403, 405)):
                failures.append(f"{method.upper()} {url} ({name or callback.__name__}) -> {response.status_code}")
        if set(statuses.values()) == {405}:
            failures.append(f"{url} ({name}) allows no method at all; cannot tell whether it needs a login")
        checked += 1
    assert not failures, "reachable without login:\n" + "\n".join(failures)
    assert public_seen == set(PUBLIC_URL_NAMES), "allow-list names missing from the URL map"
    assert checked >= 40, f"only {checked} URL patterns walked"


@pytest.mark.django_db
def test_the_login_page_is_public():
    response = Client().get(LOGIN)
    assert response.status_code == 200
    assert b'name="password"' in response.content


# --- CSRF -----------------------------------------------------------------------------------------


@pytest.fixture
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def officer(db, fast_hashing, django_user_model):
    return django_user_model.objects.create_user("officer", password="Correct-horse-9", is_staff=True)


def _csrf_token(client: Client, url: str) -> str:
    response = client.get(url)
    return response.context["csrf_token"] if response.context else response.cookies["csrftoken"].value


def test_csrf_is_enforced_on_form_posts(officer):
    client = Client(enforce_csrf_checks=True)
    credentials = {"username": "officer", "password": "Correct-horse-9"}

    assert client.post(LOGIN, credentials).status_code == 403
    assert "_auth_user_id" not in client.session

    token = _csrf_token(client, LOGIN)
    response = client.post(LOGIN, {**credentials, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(officer.pk)

    # Logged in, a form POST and a session-authenticated API write without the token are refused.
    assert client.post("/accounts/logout/").status_code == 403
    assert client.get("/").status_code == 200
    response = client.post("/api/cases/", data={}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


# --- settings with DJANGO_DEBUG=0 -----------------------------------------------------------------

_SETTING_NAMES = [
    "DEBUG",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_AGE",
    "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "LOGIN_THROTTLE_FAILURES",
    "LOGIN_THROTTLE_LOCKOUT_SECONDS",
    "LOGIN_THROTTLE_ADDRESS_FAILURES",
    "LOGIN_THROTTLE_KNOWN_ADDRESS_DAYS",
    "API_TOKEN_DAYS",
    "REST_FRAMEWORK",
    "MIDDLEWARE",
]
_PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    f"print(json.dumps({{n: getattr(s, n, None) for n in {_SETTING_NAMES!r}}}))"
)


def _settings_with(**env: str) -> dict:
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LOGIN_THROTTLE_", "DRF_", "API_TOKEN_"))
    }
    full_env.update(DJANGO_SETTINGS_MODULE="geo_disputes.settings", **env)
    result = subprocess.run(
        [sys.executable, "-c", _PRINT_SETTINGS], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_settings_turn_on_secure_cookies_hsts_and_https():
    prod = _settings_with(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    assert prod["DEBUG"] is False
    assert prod["SESSION_COOKIE_SECURE"] is True and prod["CSRF_COOKIE_SECURE"] is True
    assert prod["SECURE_HSTS_SECONDS"] == 31536000 and prod["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert prod["SECURE_SSL_REDIRECT"] is True and prod["SECURE_PROXY_SSL_HEADER"] is None
    assert prod["SESSION_COOKIE_HTTPONLY"] is True
    assert prod["SESSION_COOKIE_AGE"] == 8 * 3600 and prod["SESSION_EXPIRE_AT_BROWSER_CLOSE"] is True
    assert prod["X_FRAME_OPTIONS"] == "DENY" and prod["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert prod["SECURE_REFERRER_POLICY"] == "same-origin"
    assert prod["LOGIN_THROTTLE_FAILURES"] == 5 and prod["LOGIN_THROTTLE_LOCKOUT_SECONDS"] == 15 * 60
    assert prod["LOGIN_THROTTLE_ADDRESS_FAILURES"] == 20 and prod["LOGIN_THROTTLE_KNOWN_ADDRESS_DAYS"] == 30
    assert prod["API_TOKEN_DAYS"] == 30
    assert prod["REST_FRAMEWORK"]["DEFAULT_THROTTLE_CLASSES"] == ["rest_framework.throttling.AnonRateThrottle"]
    # The outage answer's middleware, then the replica's (whose process_exception must run before it: a failed
    # replica is answered again on the primary before the database is called down).
    assert prod["MIDDLEWARE"][-2:] == [
        "geo_disputes.middleware.DatabaseUnavailableMiddleware",
        "geo_disputes.middleware.ReplicaReadMiddleware",
    ]

    dev = _settings_with(DJANGO_DEBUG="1")
    assert dev["SESSION_COOKIE_SECURE"] is False and dev["CSRF_COOKIE_SECURE"] is False
    assert dev["SECURE_HSTS_SECONDS"] == 0 and dev["SECURE_SSL_REDIRECT"] is False

    proxied = _settings_with(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_BEHIND_PROXY="1")
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert proxied["SECURE_SSL_REDIRECT"] is False and proxied["SESSION_COOKIE_SECURE"] is True

    tuned = _settings_with(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SESSION_HOURS="2",
        LOGIN_THROTTLE_FAILURES="3",
        LOGIN_THROTTLE_LOCKOUT_MINUTES="30",
        LOGIN_THROTTLE_ADDRESS_FAILURES="40",
        LOGIN_THROTTLE_KNOWN_ADDRESS_DAYS="60",
        API_TOKEN_DAYS="7",
        DRF_ANON_THROTTLE_RATE="7/minute",
    )
    assert tuned["SECURE_SSL_REDIRECT"] is False and tuned["SESSION_COOKIE_AGE"] == 2 * 3600
    assert tuned["LOGIN_THROTTLE_FAILURES"] == 3 and tuned["LOGIN_THROTTLE_LOCKOUT_SECONDS"] == 30 * 60
    assert tuned["LOGIN_THROTTLE_ADDRESS_FAILURES"] == 40 and tuned["LOGIN_THROTTLE_KNOWN_ADDRESS_DAYS"] == 60
    assert tuned["API_TOKEN_DAYS"] == 7
    assert tuned["REST_FRAMEWORK"]["DEFAULT_THROTTLE_RATES"] == {"anon": "7/minute"}


def test_the_deployment_checklist_has_no_security_warning():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # W021 asks for HSTS preloading, a commitment for public domains an intranet host cannot make.
    assert set(re.findall(r"security\.[WE]\d+", output)) <= {"security.W021"}, output


# --- login throttling -----------------------------------------------------------------------------


def _attempt(client: Client, url: str, username: str, password: str, ip: str = "127.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# The login rules themselves are tested on the real login pages in tests/test_login_throttle.py.


def test_the_address_behind_a_proxy_is_the_one_it_appended(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")
    settings.BEHIND_PROXY = False
    assert login_throttle.client_ip(request) == "10.0.0.1"
    settings.BEHIND_PROXY = True
    assert login_throttle.client_ip(request) == "203.0.113.7"


# --- sessions -------------------------------------------------------------------------------------


def test_sessions_expire_after_eight_hours_and_with_the_browser(officer):
    client = Client()
    response = _attempt(client, LOGIN, "officer", "Correct-horse-9")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and not cookie["expires"] and not cookie["max-age"]  # gone when the browser closes
    session = Session.objects.get(session_key=cookie.value)
    assert abs((session.expire_date - timezone.now()) - timedelta(hours=8)) < timedelta(minutes=1)
    assert client.get("/").status_code == 200

    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/")
    assert _login_redirect(response)


# --- append-only audit log ------------------------------------------------------------------------


@pytest.fixture
def audit_rows(db):
    case = CaseFactory()
    rule = RoutingRule.objects.create(order=900, name="审计测试规则", tier="village")
    return {
        "geo_disputes_caseevent": CaseEvent.objects.create(case=case, action="register", reason="登记").pk,
        "geo_disputes_routingrulechange": RoutingRuleChange.objects.create(rule=rule, action="add", snapshot={}).pk,
        "geo_disputes_personaldataaccess": PersonalDataAccess.objects.create(case=case, purpose="test").pk,
    }


def _refused(sql: str, params=()) -> DatabaseError:
    with pytest.raises(DatabaseError) as info, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return info.value


def test_the_audit_log_refuses_update_and_delete(audit_rows):
    updates = {
        "geo_disputes_caseevent": "reason = 'rewritten'",
        "geo_disputes_routingrulechange": "action = 'rewritten'",
        "geo_disputes_personaldataaccess": "purpose = 'rewritten'",
    }
    for table, pk in audit_rows.items():
        for sql in (f"UPDATE {table} SET {updates[table]} WHERE id = %s", f"DELETE FROM {table} WHERE id = %s"):
            error = _refused(sql, [pk])
            assert "append-only" in str(error) and error.__cause__.pgcode == "42501", sql
    # The ORM's bulk paths (which bypass CaseEvent.save/delete) are refused too.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        CaseEvent.objects.filter(pk=audit_rows["geo_disputes_caseevent"]).update(reason="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        PersonalDataAccess.objects.all().delete()
    assert CaseEvent.objects.get().reason == "登记"
    assert PersonalDataAccess.objects.count() == 1 and RoutingRuleChange.objects.filter(action="add").count() == 1
    # Inserting still works.
    CaseEvent.objects.create(case=CaseEvent.objects.get().case, action="note")
    assert CaseEvent.objects.count() == 2


def test_a_dba_session_may_delete_with_the_maintenance_setting(audit_rows):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('geo_disputes.audit_maintenance', 'on', true)")
        cursor.execute("DELETE FROM geo_disputes_caseevent WHERE id = %s", [audit_rows["geo_disputes_caseevent"]])
        assert cursor.rowcount == 1
        cursor.execute("SELECT set_config('geo_disputes.audit_maintenance', '', true)")
    assert not CaseEvent.objects.exists()
    _refused("DELETE FROM geo_disputes_personaldataaccess")


def test_a_role_that_does_not_own_the_tables_cannot_use_the_maintenance_setting(audit_rows):
    # The app role (the owner is a member of it and may act as it), given DELETE for this savepoint only:
    # the trigger still refuses, since it does not own the table. Without DELETE, privileges refuse first.
    role = connection.ops.quote_name(settings.DB_APP_ROLE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user = %s", [settings.DB_APP_ROLE])
        if cursor.fetchone()[0]:
            pytest.skip("one role for everything (DATABASE_URL alone): no role that does not own the tables")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"GRANT SELECT, DELETE ON geo_disputes_caseevent TO {role}")  # rolled back with the savepoint
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute("SELECT set_config('geo_disputes.audit_maintenance', 'on', true)")
        cursor.execute("DELETE FROM geo_disputes_caseevent")
    assert CaseEvent.objects.count() == 1


def test_deleting_a_routing_rule_keeps_its_change_records(audit_rows):
    change = RoutingRuleChange.objects.get(pk=audit_rows["geo_disputes_routingrulechange"])
    error = _refused(
        "UPDATE geo_disputes_routingrulechange SET rule_id = NULL, action = 'x' WHERE id = %s", [change.pk]
    )
    assert "append-only" in str(error)
    change.rule.delete()  # on_delete=SET_NULL: the one update the trigger lets through
    change.refresh_from_db()
    assert change.rule_id is None and change.action == "add"


def test_truncate_is_not_blocked(audit_rows):
    """pytest-django's transactional_db flush empties tables with TRUNCATE; the trigger is row-level only."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the deferred FK checks of the rows made above
        cursor.execute(
            "TRUNCATE geo_disputes_caseevent, geo_disputes_routingrulechange, geo_disputes_personaldataaccess"
        )
        assert not CaseEvent.objects.exists()
        transaction.set_rollback(True)
    assert CaseEvent.objects.count() == 1


# --- a throwaway PostgreSQL cluster, for the outage -----------------------------------------------


def _as_postgres(args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    """Run a PostgreSQL server tool as `postgres` (initdb and pg_ctl refuse root)."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=check, capture_output=True, text=True, timeout=120)


class ThrowawayCluster:
    """A PostGIS cluster of its own in a temporary directory (unix socket only, port 54400)."""

    port = 54400

    def __init__(self):
        self.dir = Path(f"/tmp/gd-outage-{os.getpid()}-{secrets.token_hex(3)}")
        self.dir.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        _as_postgres(
            [str(PGBIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
            + ["--locale=C.UTF-8"]
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=''"
        pg_ctl = [str(PGBIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options]
        _as_postgres([*pg_ctl, "-w", "start"])

    def stop(self) -> None:
        _as_postgres([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def psql(self, database: str, sql: str) -> str:
        args = ["psql", "-h", str(self.dir), "-p", str(self.port), "-U", "postgres", "-d", database, "-XAtq"]
        return subprocess.run(
            [*args, "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True, text=True, timeout=60
        ).stdout

    def remove(self) -> None:
        _as_postgres([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fetch(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


_OUTAGE_SETTINGS = """
from geo_disputes.settings import *  # noqa

DATABASES["default"].update(NAME="gd_outage", HOST={host!r}, PORT="{port}", USER="postgres", CONN_MAX_AGE=60)
"""

_OUTAGE_FIXTURE = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from geo_disputes.services.ops import tokens
user = get_user_model().objects.create_superuser("outage", password=None)
session = SessionStore()
session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                HASH_SESSION_KEY: user.get_session_auth_hash()})
session.create()
print(json.dumps({"token": tokens.issue(user)[1], "session": session.session_key}))
"""


def test_a_database_outage_answers_503_and_recovers_without_restarting_the_app():
    cluster = ThrowawayCluster()
    server = None
    try:
        cluster.start()
        cluster.psql("postgres", "CREATE DATABASE gd_outage")
        cluster.psql("gd_outage", "CREATE EXTENSION postgis")
        (cluster.dir / "outage_settings.py").write_text(
            _OUTAGE_SETTINGS.format(host=str(cluster.dir), port=cluster.port)
        )
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",) and not k.startswith("DJANGO_")}
        env.update(
            DJANGO_SETTINGS_MODULE="outage_settings",
            PYTHONPATH=f"{cluster.dir}{os.pathsep}{ROOT}",
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_SECURE_SSL_REDIRECT="0",
        )
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT, timeout=300)
        made = subprocess.run(
            [*manage, "shell", "-c", _OUTAGE_FIXTURE], env=env, check=True, cwd=ROOT, capture_output=True, text=True
        )
        creds = json.loads(made.stdout.strip().splitlines()[-1])
        page = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={creds['session']}"}
        api = {"Authorization": f"Token {creds['token']}", "Accept": "application/json"}

        port = _free_port()
        log = (cluster.dir / "server.log").open("w")  # closed with the server below
        # The server `make run` starts (bin/serve: gunicorn, debug off), two small workers of two threads.
        serve_env = {**env, "HOST": "127.0.0.1", "PORT": str(port), "WEB_WORKERS": "2", "WEB_THREADS": "2"}
        serve_env["GD_LOG_DIR"] = str(cluster.dir / "weblog")
        server = subprocess.Popen(
            [str(ROOT / "bin" / "serve")], env=serve_env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                _fetch(port, LOGIN, {})
                break
            except OSError:
                started = time.monotonic() < deadline and server.poll() is None
                assert started, (cluster.dir / "server.log").read_text()[-3000:]
                time.sleep(0.2)

        status, headers, body = _fetch(port, "/", page)
        assert status == 200 and "WSGIServer" not in headers.get("Server", "") and "runserver" not in body
        assert _fetch(port, "/api/cases/", api)[0] == 200
        assert json.loads(_fetch(port, "/healthz", {})[2])["database"] == "ok"
        status, headers, body = _fetch(port, "/no-such-page/", page)  # Chinese, in the layout, no debug text
        assert status == 404 and "找不到此页" in body and "信访事项" in body
        assert "Traceback" not in body and "URLconf" not in body and "DEBUG" not in body
        # gunicorn writes the access line once the response is sent: the client may read it first.
        access = cluster.dir / "weblog" / "access.log"
        deadline = time.monotonic() + 10
        while "/no-such-page/" not in access.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert access.read_text().count("/no-such-page/") == 1

        cluster.stop()
        for _ in range(3):  # the broken connection first, then no server to connect to
            status, headers, body = _fetch(port, "/", page)
            assert status == 503, body[:500]
            assert headers["Retry-After"] == "30"
            assert "服务暂时不可用" in body and "Service temporarily unavailable" in body
            assert "Traceback" not in body and "OperationalError" not in body
            status, headers, body = _fetch(port, "/api/cases/", api)
            assert status == 503 and headers["Retry-After"] == "30"
            assert "数据库暂时不可用" in json.loads(body)["detail"]
            status, headers, body = _fetch(port, "/healthz", {})  # JSON of its own, not the outage page
            assert (status, headers["Content-Type"], json.loads(body)["database"]) == (
                503,
                "application/json",
                "unavailable",
            )

        cluster.start()
        assert _fetch(port, "/healthz", {})[0] == 200
        assert _fetch(port, "/", page)[0] == 200
        assert _fetch(port, "/api/cases/", api)[0] == 200
        assert server.poll() is None, "the app was restarted"
        assert "database unavailable, answered 503: GET /api/cases/" in (cluster.dir / "server.log").read_text()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
            log.close()
        cluster.remove()


# --- backup and restore ---------------------------------------------------------------------------


class ScratchDatabase:
    """A database of its own on the test cluster (never the dev database), dropped afterwards."""

    def __init__(self):
        db = settings.DATABASES["default"]
        self.name = f"gd_backup_test_{os.getpid()}"
        self.host, self.port, self.user = db.get("HOST") or "", str(db.get("PORT") or ""), db.get("USER") or ""
        self.password = db.get("PASSWORD") or ""
        self.psql("postgres", f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self.psql("postgres", f"CREATE DATABASE {self.name}")

    def psql(self, database: str, sql: str) -> str:
        args = ["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql]
        for flag, value in (("-h", self.host), ("-p", self.port), ("-U", self.user)):
            args += [flag, value] if value else []
        env = {**os.environ, "PGPASSWORD": self.password} if self.password else None
        return subprocess.run(args, check=True, capture_output=True, text=True, timeout=120, env=env).stdout.strip()

    def url(self) -> str:
        auth = quote(self.user, safe="") + (":" + quote(self.password, safe="") if self.password else "")
        return f"postgres://{auth}@{quote(self.host, safe='')}:{self.port}/{self.name}"

    def drop(self) -> None:
        self.psql("postgres", f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


_MAKE_CASES = """
from django.contrib.gis.geos import Point
from geo_disputes.models import CaseEvent
from tests.factories import CaseFactory, PartyFactory
statuses = ["reported", "accepted", "in_handling", "resolved", "closed"]
for n in range(12):
    case = CaseFactory(status=statuses[n % 5], location=Point(110.9 + n / 100, 39.6 + n / 200, srid=4326))
    PartyFactory(case=case, name=f"王某{n}")
    if n % 2 == 0:
        CaseEvent.objects.create(case=case, action="register", to_status=case.status, reason=f"登记{n}")
    if n == 0:  # a photo and an audio note, on disk in ATTACHMENT_ROOT
        import pathlib, tempfile
        from django.contrib.auth import get_user_model
        from PIL import Image
        from geo_disputes.services.cases.attachments import attach
        user = get_user_model().objects.create_user("backup-tester")
        wall = pathlib.Path(tempfile.mkdtemp()) / "wall.jpg"
        Image.new("RGB", (64, 48), (200, 30, 30)).save(wall)
        attach(case, user, wall, name="wall.jpg", at_intake=True)
        attach(case, user, pathlib.Path("tests/fixtures/attachments/note.mp3"), name="note.mp3", at_intake=True)
print("made")
"""

_FINGERPRINT = """
SELECT (SELECT count(*) FROM geo_disputes_case) || ' '
    || (SELECT md5(coalesce(string_agg(reference || '|' || status || '|' || ST_AsText(location), ','
                                       ORDER BY reference), '')) FROM geo_disputes_case) || ' '
    || (SELECT count(*) FROM geo_disputes_caseevent) || ' '
    || (SELECT count(*) FROM geo_disputes_party) || ' '
    || (SELECT count(*) FROM geo_disputes_routingrule) || ' '
    || (SELECT count(*) || ':' || md5(coalesce(string_agg(sha256, ',' ORDER BY sha256), ''))
          FROM geo_disputes_attachment)
"""

_MUTATE = """
UPDATE geo_disputes_case SET status = 'closed', location = ST_SetSRID(ST_MakePoint(111.0, 39.9), 4326)
 WHERE id IN (SELECT id FROM geo_disputes_case ORDER BY id LIMIT 3);
DELETE FROM geo_disputes_party WHERE case_id IN (SELECT id FROM geo_disputes_case
  WHERE NOT EXISTS (SELECT 1 FROM geo_disputes_caseevent e WHERE e.case_id = geo_disputes_case.id));
DELETE FROM geo_disputes_case
 WHERE NOT EXISTS (SELECT 1 FROM geo_disputes_caseevent e WHERE e.case_id = geo_disputes_case.id);
"""


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def _store_contents(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in root.rglob("*") if p.is_file() and "staging" not in p.parts}


def test_backup_and_restore_round_trip(tmp_path):
    scratch = ScratchDatabase()
    store = tmp_path / "attachments"
    try:
        base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PGDATABASE_NAME")}
        base_env["ATTACHMENT_ROOT"] = str(store)
        modes = {"url": {**base_env, "DATABASE_URL": scratch.url()}}
        if not os.environ.get("DATABASE_URL"):  # the project cluster: settings' unix-socket HOST
            modes["local"] = {**base_env, "PGDATABASE_NAME": scratch.name}
        env = modes["url"]
        assert _manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
        made = _manage(env, "shell", "-c", _MAKE_CASES)
        assert made.stdout.strip().endswith("made"), made.stderr
        original = scratch.psql(scratch.name, _FINGERPRINT)
        counts = original.split()
        assert counts[0] == "12" and counts[2:4] == ["8", "12"] and counts[5].startswith("2:"), original  # 6 + 2 attach
        files = _store_contents(store)
        assert len(files) == 4  # the photo, its EXIF-free copy and thumbnail, the audio note

        for mode, env in modes.items():
            archive = tmp_path / f"{mode}.tar"
            done = _manage(env, "backup", "--output", str(archive))
            assert done.returncode == 0, done.stderr
            assert f"backed up {scratch.name} to {archive}" in done.stdout and "4 attachment files" in done.stdout
            assert tarfile.is_tarfile(archive) and archive.stat().st_mode & 0o077 == 0
            again = _manage(env, "backup", "--output", str(archive))
            assert again.returncode != 0 and "already exists" in again.stderr

            scratch.psql(scratch.name, _MUTATE)
            mutated = scratch.psql(scratch.name, _FINGERPRINT)
            assert mutated != original and mutated.startswith("6 ")

            refused = _manage(env, "restore", str(archive))
            assert refused.returncode != 0 and "--yes" in refused.stderr
            truncated = tmp_path / f"{mode}-truncated.tar"
            truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
            failed = _manage(env, "restore", str(truncated), "--yes")
            assert failed.returncode != 0 and ("truncated" in failed.stderr or "pg_restore failed" in failed.stderr)
            assert scratch.psql(scratch.name, _FINGERPRINT) == mutated  # a failed restore changes nothing

            if mode == "url":  # a new machine: an empty database and no attachment store at all
                shutil.rmtree(store)
                scratch.drop()
                scratch.psql("postgres", f"CREATE DATABASE {scratch.name}")
            restored = _manage(env, "restore", str(archive), "--yes")
            assert restored.returncode == 0, restored.stderr
            assert "4 attachment files" in restored.stdout
            assert scratch.psql(scratch.name, _FINGERPRINT) == original, mode
            assert _store_contents(store) == files, mode  # byte for byte
            # The restored log is append-only again.
            trigger = scratch.psql(scratch.name, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%append_only'")
            # events, rule changes, data access, supervision acts, follow-ups, issued documents and their service
            assert trigger == "7"
            guard = scratch.psql(scratch.name, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%attachment_guard'")
            assert guard == "1"
            if mode == "local":  # the app role may read and append to the restored log, no more
                may = scratch.psql(
                    scratch.name,
                    "SELECT string_agg(p, ',' ORDER BY p) FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', "
                    f"'TRUNCATE']) p WHERE has_table_privilege('{settings.DB_APP_ROLE}', 'geo_disputes_caseevent', p)",
                )
                assert may == "INSERT,SELECT"

        garbage = tmp_path / "garbage.dump"
        garbage.write_text("not a backup")
        result = _manage(env, "restore", str(garbage), "--yes")
        assert result.returncode != 0 and "is not a backup made by manage.py backup" in result.stderr
        result = _manage(env, "restore", str(tmp_path / "missing.dump"), "--yes")
        assert result.returncode != 0 and "no such file" in result.stderr
        assert scratch.psql(scratch.name, _FINGERPRINT) == original

        result = _manage(env, "backup")
        assert result.returncode == 0, result.stderr
        default = Path(result.stdout.split(" to ", 1)[1].split(" (", 1)[0])
        try:
            assert default.parent == ROOT / "backups"
            assert re.fullmatch(rf"{scratch.name}-\d{{8}}-\d{{6}}\.tar", default.name)
        finally:
            default.unlink(missing_ok=True)
    finally:
        scratch.drop()


# --- issue 13: debug off by default, a secret made once, Chinese error pages ---------------------------


def test_debug_is_off_by_default_and_the_secret_key_is_made_once_owner_only(tmp_path):
    key_file = tmp_path / "state" / "secret_key"
    _PRINT_KEY = "import django; django.setup(); from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="geo_disputes.settings", DJANGO_SECRET_KEY_FILE=str(key_file))
    runs = [
        subprocess.run([sys.executable, "-c", _PRINT_KEY], cwd=ROOT, env=env, capture_output=True, text=True).stdout
        for _ in range(2)
    ]
    debug, key = runs[0].split()
    assert debug == "False" and len(key) >= 50 and runs[0] == runs[1]  # made once, then reused
    assert key_file.read_text().strip() == key and (key_file.stat().st_mode & 0o777) == 0o600
    plain = _settings_with(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_HTTPS="0")
    assert plain["SESSION_COOKIE_SECURE"] is False and plain["SECURE_SSL_REDIRECT"] is False  # `make run` on HTTP
    assert plain["SECURE_HSTS_SECONDS"] == 0


@pytest.mark.django_db
def test_error_pages_are_chinese_in_the_sites_layout(client, settings):
    from django.test import RequestFactory

    from geo_disputes.views.errors import server_error
    from tests.factories import StaffFactory

    settings.DEBUG = False
    client.force_login(StaffFactory(role="planner").user)
    missing = client.get("/no-such-page/")
    body = missing.content.decode()
    assert missing.status_code == 404 and "找不到此页" in body and "信访事项" in body and 'name="reference"' in body
    assert "Traceback" not in body and "URLconf" not in body
    found = client.get("/cases/go/", {"reference": "zge-2026-000009"})  # none such: searched, as out of scope
    assert found.status_code == 302 and found["Location"] == "/cases/?q=zge-2026-000009"
    assert client.get("/cases/go/", {"reference": "../x"})["Location"] == "/cases/?q=..%2Fx"
    refused = client.get("/cases/new/")  # planners do not register cases
    assert (
        refused.status_code == 403 and "无权访问" in refused.content.decode() and "信访事项" in refused.content.decode()
    )
    request = RequestFactory().get("/")
    request.user = StaffFactory(role="planner").user
    crashed = server_error(request)
    assert (
        crashed.status_code == 500
        and "服务器出错" in crashed.content.decode()
        and "信访事项" in crashed.content.decode()
    )


@pytest.mark.django_db
def test_api_errors_are_json_for_client_programs(client, settings):
    from django.test import RequestFactory

    from geo_disputes.views.errors import server_error
    from tests.factories import StaffFactory

    settings.DEBUG = False
    client.force_login(StaffFactory(role="planner").user)
    missing = client.get("/api/no-such-endpoint/")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/json"
    assert missing.json() == {"detail": "找不到此地址。Not found."}
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")  # pages stay pages
    crashed = server_error(RequestFactory().get("/api/cases/"))
    assert crashed.status_code == 500 and "服务器内部错误" in json.loads(crashed.content)["detail"]


# --- the language switch (public: the login page offers it) -----------------------------------------------------


def test_the_language_switch_never_redirects_off_site_and_ignores_unknown_languages(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "https://evil.example/cases/"})
    assert response.status_code == 302
    assert not response["Location"].startswith(("http", "//"))  # back to this site, not to the given host
    assert client.get(LOGIN).content.decode().startswith('<!DOCTYPE html>\n<html lang="en">')
    client.post("/i18n/setlang/", {"language": "xx-evil", "next": "/"})
    assert '<html lang="en">' in client.get(LOGIN).content.decode()  # an unknown language changes nothing


def test_the_browsers_language_is_not_a_choice(client):
    """Chinese unless chosen: a browser announcing English still gets the Chinese page (ChosenLanguageMiddleware)."""
    page = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in page
