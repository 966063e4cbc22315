"""The application's database role can do its work but cannot change, bypass or empty the audit trail.

The suite itself runs as the owner role (tests/settings.py); these tests log in to the test database
as the app role (settings.DB_APP_ROLE, what `make run` and production connect as) and try what an
attacker holding the application's connection would: update, delete or truncate audit rows, switch
the append-only triggers off, replace their function, set session_replication_role, become another
role, drop or alter tables. Each must be refused by PostgreSQL's privileges — SQLSTATE 42501 with a
"permission denied" or "must be owner" message, not the trigger's "append-only" — and the rows stay.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg2
import psycopg2.errors
import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone

from geo_disputes.models import (
    Banner,
    Case,
    CaseEvent,
    FollowUp,
    PersonalDataAccess,
    RoutingRule,
    RoutingRuleChange,
    SupervisionAct,
)
from geo_disputes.settings import database_settings

from .factories import CaseFactory, ParcelFactory, box, seed_places

ROOT = Path(settings.BASE_DIR)
GRANTS = importlib.import_module("geo_disputes.migrations.0015_app_role_grants")
AUDIT_TABLES = {
    "geo_disputes_caseevent",
    "geo_disputes_routingrulechange",
    "geo_disputes_personaldataaccess",
    "geo_disputes_supervisionact",
    "geo_disputes_followup",
}
APP_DB = database_settings("app")
ONE_ROLE = APP_DB.get("USER") == connection.settings_dict.get("USER")
pytestmark = pytest.mark.skipif(
    ONE_ROLE, reason="DATABASE_URL without DATABASE_OWNER_URL: the app connects as the owner, nothing to prove"
)


# --- connections and helpers ------------------------------------------------------------------------


@pytest.fixture
def app_conn(db) -> Iterator[psycopg2.extensions.connection]:
    """A connection to the test database as the app role, autocommit: each statement on its own."""
    params = {
        "dbname": connection.settings_dict["NAME"],
        "user": APP_DB.get("USER"),
        "password": APP_DB.get("PASSWORD") or None,
        "host": APP_DB.get("HOST") or None,
        "port": str(APP_DB.get("PORT") or "") or None,
    }
    conn = psycopg2.connect(**{key: value for key, value in params.items() if value is not None})
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def refused(conn, sql: str, params: list | None = None) -> str:
    """Run `sql` as the app role and return PostgreSQL's refusal, which must come from privileges."""
    with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege) as refusal:
        cur.execute(sql, params)
    message = str(refusal.value)
    assert "append-only" not in message, f"only the trigger stopped {sql!r}: the role holds the privilege"
    assert "permission denied" in message or "must be owner" in message, message
    return message


def one(conn, sql: str, params: list | None = None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def audit_counts() -> dict[str, int]:
    with connection.cursor() as cur:
        counts = {}
        for table in sorted(AUDIT_TABLES):
            cur.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
    return counts


def project_relations() -> list[str]:
    """Every table and view of the schema that no extension owns (the owner's view of the catalogue)."""
    with connection.cursor() as cur:
        cur.execute(GRANTS.PROJECT_RELATIONS)
        return [name for name, is_sequence in cur.fetchall() if not is_sequence]


def trigger_guarded_tables() -> set[str]:
    with connection.cursor() as cur:
        cur.execute(GRANTS.AUDIT_TABLES, [GRANTS.AUDIT_TRIGGER_FUNCTION])
        return {name for (name,) in cur.fetchall()}


def privilege(table: str, what: str) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT has_table_privilege(%s, %s, %s)", [settings.DB_APP_ROLE, table, what])
        return cur.fetchone()[0]


@pytest.fixture
def audit_rows(transactional_db) -> dict[str, int]:
    """One committed row in each audit table (so the app role's connection sees them); their ids."""
    case = CaseFactory()
    now = timezone.now()
    rule = RoutingRule.objects.create(order=990, name="测试规则", tier="village", explanation="测试")
    return {
        "case": case.pk,
        "rule": rule.pk,
        "geo_disputes_caseevent": CaseEvent.objects.create(case=case, action="register", to_status="reported").pk,
        "geo_disputes_routingrulechange": RoutingRuleChange.objects.create(rule=rule, action="create").pk,
        "geo_disputes_personaldataaccess": PersonalDataAccess.objects.create(case=case, purpose="test").pk,
        "geo_disputes_supervisionact": SupervisionAct.objects.create(
            case=case, kind="urge", ordered_by="旗信访局", at=now, deadline=now.date(), reason="逾期"
        ).pk,
        "geo_disputes_followup": FollowUp.objects.create(case=case, at=now, by="回访员", method="phone").pk,
    }


# --- who the app role is ------------------------------------------------------------------------------


def test_the_app_role_is_no_superuser_owns_nothing_and_cannot_become_the_owner(app_conn):
    user = one(app_conn, "SELECT current_user")
    assert user == settings.DB_APP_ROLE
    attributes = one(
        app_conn,
        "SELECT ARRAY[rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls] "
        "FROM pg_roles WHERE rolname = current_user",
    )
    assert attributes == [False] * 5, "superuser, createdb, createrole, replication, bypassrls"
    assert one(app_conn, "SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole") == 0
    assert one(app_conn, "SELECT count(*) FROM pg_proc WHERE proowner = current_user::regrole") == 0
    assert one(app_conn, "SELECT count(*) FROM pg_namespace WHERE nspowner = current_user::regrole") == 0
    assert one(app_conn, "SELECT count(*) FROM pg_database WHERE datdba = current_user::regrole") == 0
    owner = one(
        app_conn, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'geo_disputes_caseevent'::regclass"
    )
    assert owner != user
    assert one(app_conn, "SELECT pg_has_role(current_user, %s, 'MEMBER')", [owner]) is False
    refused(app_conn, f'SET ROLE "{owner}"')
    refused(app_conn, "SET ROLE postgres")
    refused(app_conn, "SET SESSION AUTHORIZATION postgres")


# --- what it may do ------------------------------------------------------------------------------------

_REGISTER = """
import json
from rest_framework.test import APIClient
from django.db import connection
from tests.factories import StaffFactory, intake_body
client = APIClient()
client.force_authenticate(StaffFactory(role="banner_admin").user)
made = client.post("/api/cases/", intake_body(), format="json")
assert made.status_code == 201, made.content
case = client.get(f"/api/cases/{made.json()['reference']}/").json()
done = client.post(f"/api/cases/{case['reference']}/transitions/", {"action": "accept", "version": case["version"]},
                   format="json")
assert done.status_code == 200, done.content
with connection.cursor() as cur:
    cur.execute("SELECT current_user")
    print(json.dumps({"user": cur.fetchone()[0], "reference": case["reference"]}))
"""


def _app_env() -> dict[str, str]:
    """The environment of a manage.py run as the app role (what `make run` uses) on the test database."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_OWNER_URL", "PGDATABASE_NAME")}
    # As `make run` serves: the app role, plain HTTP (bin/serve sets DJANGO_HTTPS=0; else a redirect to https).
    env.update(DJANGO_SETTINGS_MODULE="geo_disputes.settings", DB_ROLE="app", DJANGO_HTTPS="0")
    name = connection.settings_dict["NAME"]
    if os.environ.get("DATABASE_URL"):
        auth = quote(APP_DB["USER"], safe="") + (":" + quote(APP_DB["PASSWORD"], safe="") if APP_DB["PASSWORD"] else "")
        host = quote(APP_DB.get("HOST") or "", safe="")
        env["DATABASE_URL"] = f"postgis://{auth}@{host}:{APP_DB.get('PORT') or 5432}/{name}"
    else:
        env["PGDATABASE_NAME"] = name
    return env


def test_the_app_role_registers_a_case_and_appends_its_history(transactional_db):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    ParcelFactory(code="150622106202JD00001", land_use="grassland", geom=box(111.04, 39.54, 111.06, 39.56))
    if not RoutingRule.objects.exists():  # an earlier transactional test's flush removed 0002's rules
        importlib.import_module("geo_disputes.migrations.0002_default_routing_rules").create_rules(apps, None)

    run = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", _REGISTER],
        cwd=ROOT,
        env=_app_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert answer["user"] == settings.DB_APP_ROLE
    case = Case.objects.get(reference=answer["reference"])
    assert case.status == "accepted"
    actions = list(case.events.values_list("action", flat=True))
    assert actions[0] == "report" and actions[-1] == "accept", actions
    assert PersonalDataAccess.objects.filter(case=case).exists()  # the admin's unmasked view was logged


def test_the_app_role_appends_audit_rows_and_clears_a_deleted_rules_reference(audit_rows, app_conn):
    with app_conn.cursor() as cur:
        cur.execute(
            "INSERT INTO geo_disputes_caseevent (case_id, at, action, from_status, to_status, changes, reason) "
            "VALUES (%s, now(), 'note', '', '', '{}', 'by the app role') RETURNING id",
            [audit_rows["case"]],
        )
        assert cur.fetchone()[0] > audit_rows["geo_disputes_caseevent"]
        # Deleting a routing rule sets its change records' rule to NULL (on_delete=SET_NULL): allowed.
        cur.execute("UPDATE geo_disputes_routingrulechange SET rule_id = NULL WHERE rule_id = %s", [audit_rows["rule"]])
        cur.execute("DELETE FROM geo_disputes_routingrule WHERE id = %s", [audit_rows["rule"]])
        cur.execute("UPDATE geo_disputes_case SET description = 'edited' WHERE id = %s", [audit_rows["case"]])
    assert RoutingRuleChange.objects.get(pk=audit_rows["geo_disputes_routingrulechange"]).rule_id is None
    refused(app_conn, "UPDATE geo_disputes_routingrulechange SET action = 'forged'")
    refused(app_conn, "UPDATE geo_disputes_routingrulechange SET snapshot = '{}', rule_id = NULL")


# --- what it may not do --------------------------------------------------------------------------------


def test_the_app_role_cannot_update_delete_or_truncate_audit_rows(audit_rows, app_conn):
    before = audit_counts()
    assert all(before.values()), before
    for table in sorted(AUDIT_TABLES):
        refused(app_conn, f"UPDATE {table} SET id = id")
        refused(app_conn, f"DELETE FROM {table}")
        refused(app_conn, f"TRUNCATE {table}")
        refused(app_conn, f"TRUNCATE {table} CASCADE")
    refused(app_conn, "TRUNCATE geo_disputes_case CASCADE")  # would empty the history with its cases
    with app_conn.cursor() as cur:  # the maintenance switch alone is no key: it needs the owner as well
        cur.execute("SET geo_disputes.audit_maintenance = 'on'")
    for table in sorted(AUDIT_TABLES):
        refused(app_conn, f"DELETE FROM {table}")
    assert audit_counts() == before


def test_the_app_role_cannot_switch_the_audit_triggers_off(audit_rows, app_conn):
    refused(app_conn, "SET session_replication_role = replica")
    refused(app_conn, "SET LOCAL session_replication_role = replica")
    refused(app_conn, "SELECT set_config('session_replication_role', 'replica', false)")
    for table in sorted(AUDIT_TABLES):
        refused(app_conn, f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        refused(app_conn, f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
        refused(app_conn, f"ALTER TABLE {table} ENABLE REPLICA TRIGGER {table}_append_only")
        refused(app_conn, f"DROP TRIGGER {table}_append_only ON {table}")
    refused(
        app_conn,
        "CREATE OR REPLACE FUNCTION geo_disputes_audit_append_only() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN coalesce(NEW, OLD); END $$",
    )
    refused(app_conn, "ALTER FUNCTION geo_disputes_audit_append_only() RENAME TO gone")
    refused(app_conn, "DROP FUNCTION geo_disputes_audit_append_only() CASCADE")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%%_append_only' AND tgenabled = 'O' "
            "AND tgrelid::regclass::text = ANY(%s)",
            [sorted(AUDIT_TABLES)],
        )
        assert cur.fetchone()[0] == len(AUDIT_TABLES)


def test_the_app_role_cannot_drop_alter_or_create_tables(audit_rows, app_conn):
    for table in sorted(AUDIT_TABLES | {"geo_disputes_case", "django_migrations"}):
        refused(app_conn, f"DROP TABLE {table} CASCADE")
        refused(app_conn, f"ALTER TABLE {table} ADD COLUMN forged text")
        refused(app_conn, f"ALTER TABLE {table} RENAME TO {table}_old")
        refused(app_conn, f"ALTER TABLE {table} OWNER TO CURRENT_USER")
    refused(app_conn, "CREATE TABLE public.geo_disputes_forged (id int)")
    refused(
        app_conn,
        "CREATE TRIGGER forged BEFORE INSERT ON geo_disputes_case FOR EACH ROW EXECUTE FUNCTION "
        "geo_disputes_audit_append_only()",
    )  # no TRIGGER privilege on any table
    refused(app_conn, "INSERT INTO django_migrations (app, name, applied) VALUES ('geo_disputes', 'forged', now())")
    with app_conn.cursor() as cur:  # a grant to itself is a no-op (a warning) without the grant option
        cur.execute(f"GRANT UPDATE, DELETE, TRUNCATE ON geo_disputes_caseevent TO {settings.DB_APP_ROLE}")
    assert not privilege("geo_disputes_caseevent", "UPDATE") and not privilege("geo_disputes_caseevent", "TRUNCATE")
    assert audit_counts() == {table: 1 for table in AUDIT_TABLES}


# --- the grants cover every table, now and later --------------------------------------------------------


def test_every_project_table_is_readable_and_none_truncatable_by_the_app_role(app_conn):
    relations = project_relations()
    ours = [name for name in relations if name.startswith("geo_disputes_")]
    assert AUDIT_TABLES <= set(ours) and len(ours) > 20, ours
    with app_conn.cursor() as cur:
        for name in relations:
            cur.execute(f'SELECT * FROM "{name}" LIMIT 0')  # permission denied would raise
    for name in relations:
        assert not any(privilege(name, what) for what in ("TRUNCATE", "TRIGGER", "REFERENCES")), name


def test_the_audit_tables_are_read_and_append_only_for_the_app_role(db):
    guarded = trigger_guarded_tables()
    assert AUDIT_TABLES <= guarded, "an audit table lost its append-only trigger"
    for table in sorted(guarded):  # a later audit table must revoke UPDATE and DELETE in its migration
        assert privilege(table, "SELECT") and privilege(table, "INSERT"), table
        assert not privilege(table, "UPDATE") and not privilege(table, "DELETE"), table
    with connection.cursor() as cur:
        cur.execute(
            "SELECT attrelid::regclass::text, attname FROM pg_attribute WHERE attrelid::regclass::text = ANY(%s) "
            "AND attnum > 0 AND has_column_privilege(%s, attrelid, attnum, 'UPDATE')",
            [sorted(guarded), settings.DB_APP_ROLE],
        )
        assert cur.fetchall() == [("geo_disputes_routingrulechange", "rule_id")]
    tables = ("geo_disputes_case", "geo_disputes_party", "django_session", "geo_disputes_calendarday")
    for table in (*tables, "geo_disputes_jobrun"):  # the scheduler records its runs as the app role
        assert all(privilege(table, what) for what in ("SELECT", "INSERT", "UPDATE", "DELETE")), table
    assert privilege("django_migrations", "SELECT") and not privilege("django_migrations", "INSERT")


def test_tables_a_later_migration_creates_get_row_privileges_only(db):
    with connection.cursor() as cur:  # as the owner, inside the test's transaction (rolled back)
        cur.execute("CREATE TABLE geo_disputes_later (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)")
        cur.execute("SELECT has_sequence_privilege(%s, 'geo_disputes_later_id_seq', 'USAGE')", [settings.DB_APP_ROLE])
        assert cur.fetchone()[0]
    assert all(privilege("geo_disputes_later", what) for what in ("SELECT", "INSERT", "UPDATE", "DELETE"))
    assert not privilege("geo_disputes_later", "TRUNCATE") and not privilege("geo_disputes_later", "TRIGGER")


# --- the migration ---------------------------------------------------------------------------------------


def _run(step) -> None:
    with connection.schema_editor() as editor:
        step(apps, editor)


def test_the_grants_migration_is_reversible(db):
    _run(GRANTS.revoke)
    assert not privilege("geo_disputes_case", "SELECT") and not privilege("geo_disputes_caseevent", "INSERT")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_default_acl WHERE %s::regrole::oid = ANY(SELECT (aclexplode(defaclacl)).grantee)",
            [settings.DB_APP_ROLE],
        )
        assert cur.fetchone()[0] == 0
    _run(GRANTS.grant)
    assert privilege("geo_disputes_case", "UPDATE") and privilege("geo_disputes_caseevent", "INSERT")
    assert not privilege("geo_disputes_caseevent", "UPDATE")


def test_the_grants_migration_leaves_a_missing_role_or_the_owner_alone(db, settings):
    settings.DB_APP_ROLE = "gd_no_such_role"
    _run(GRANTS.grant)  # nothing to grant to: no error
    _run(GRANTS.revoke)
    with connection.cursor() as cur:
        cur.execute("SELECT current_user")
        settings.DB_APP_ROLE = cur.fetchone()[0]  # DATABASE_URL with one role for everything
    _run(GRANTS.grant)
    with connection.cursor() as cur:
        cur.execute("SELECT has_table_privilege(current_user, 'geo_disputes_caseevent', 'UPDATE')")
        assert cur.fetchone()[0], "the owner lost privileges on its own table"
