"""The application's role may read and write rows, and only read and append to the audit trail.

The application connects as ``settings.DB_APP_ROLE`` (``gd_app`` on the local cluster), which owns
nothing; migrations run as the owner role. Ownership is what lets a session switch the append-only
triggers off (ALTER TABLE ... DISABLE TRIGGER), drop or alter a table, or TRUNCATE it; superusers can
also SET session_replication_role = replica, under which no ordinary trigger fires. The app role gets:

* SELECT, INSERT, UPDATE, DELETE on every table of the schema that is not an extension's
  (PostGIS's spatial_ref_sys stays as PostGIS made it: readable by everyone);
* on the audit tables — every table carrying the append-only trigger of migrations 0003 and 0008
  (case history, routing-rule changes, personal-data access, supervision acts, follow-ups) — SELECT
  and INSERT only, plus UPDATE of routingrulechange.rule_id, which deleting a routing rule sets to
  NULL (the trigger lets exactly that through);
* SELECT on django_migrations (the app checks what is applied; only the owner records migrations);
* USAGE and SELECT on the sequences (new ids);
* never TRUNCATE, TRIGGER or REFERENCES, and no ownership.

ALTER DEFAULT PRIVILEGES gives tables and sequences that later migrations create (as the same owner)
the ordinary row privileges too; a later audit table must revoke UPDATE and DELETE in its own migration
(tests/test_db_roles.py fails until it does).

Nothing happens when the app role does not exist (e.g. a DATABASE_URL on someone else's server), is a
superuser, or is the migrating role itself or one of its members (one role for everything): revoking
there would take privileges from the owner. Reversible: backwards the app role loses every privilege
given here. A restore (manage.py restore) re-applies these grants through `grant_app_role`: the archive's
own ACLs are not restored, since tables re-created by the owner get the default privileges above —
UPDATE and DELETE on the audit tables too — which only this function takes back.
"""

from django.conf import settings
from django.db import migrations

AUDIT_TRIGGER_FUNCTION = "geo_disputes_audit_append_only"
READ_ONLY_TABLES = ("django_migrations",)
SET_NULL_COLUMNS = {"geo_disputes_routingrulechange": ("rule_id",)}

# Relations of the current schema that no extension owns: the project's tables and views.
PROJECT_RELATIONS = """
SELECT c.relname, c.relkind = 'S' FROM pg_class c
 WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                   AND d.deptype = 'e')
 ORDER BY c.relname
"""

# Tables whose rows are the audit trail: those the append-only trigger guards.
AUDIT_TABLES = """
SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE p.proname = %s AND c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal
"""


def app_role(cursor) -> str | None:
    """The role to grant to, or None when there is none to restrict (see the module docstring)."""
    role = settings.DB_APP_ROLE
    cursor.execute(
        "SELECT NOT r.rolsuper AND NOT pg_has_role(r.oid, current_user, 'MEMBER') FROM pg_roles r WHERE rolname = %s",
        [role],
    )
    row = cursor.fetchone()
    return role if row and row[0] else None


def _relations(cursor) -> tuple[list[str], list[str], set[str]]:
    """(tables and views, sequences, audit tables) of the project in the current schema."""
    cursor.execute(PROJECT_RELATIONS)
    rows = cursor.fetchall()
    cursor.execute(AUDIT_TABLES, [AUDIT_TRIGGER_FUNCTION])
    audit = {name for (name,) in cursor.fetchall()}
    return [name for name, seq in rows if not seq], [name for name, seq in rows if seq], audit


def _table_grants(table: str, audit: set[str]) -> list[str]:
    """What the app role may do with `table`: row privileges, fewer on the audit trail."""
    if table in READ_ONLY_TABLES:
        return ["SELECT"]
    if table in audit:
        return ["SELECT", "INSERT"] + [f"UPDATE ({column})" for column in SET_NULL_COLUMNS.get(table, ())]
    return ["SELECT", "INSERT", "UPDATE", "DELETE"]


def _schema(cursor, quote) -> str:
    cursor.execute("SELECT current_schema()")
    return quote(cursor.fetchone()[0])


def grant_app_role(connection) -> None:
    """Give the app role exactly the privileges above, whatever it held before.

    Also called after a restore (services/ops/backup.py), which re-creates every table.
    """
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        role = app_role(cursor)
        if role is None:
            return
        tables, sequences, audit = _relations(cursor)
        for table in tables:
            cursor.execute(f"REVOKE ALL ON {quote(table)} FROM {quote(role)}")
            for privilege in _table_grants(table, audit):
                cursor.execute(f"GRANT {privilege} ON {quote(table)} TO {quote(role)}")
        for sequence in sequences:
            cursor.execute(f"REVOKE ALL ON SEQUENCE {quote(sequence)} FROM {quote(role)}")
            cursor.execute(f"GRANT USAGE, SELECT ON SEQUENCE {quote(sequence)} TO {quote(role)}")
        schema = _schema(cursor, quote)
        cursor.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quote(role)}"
        )
        cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {quote(role)}")


def revoke_app_role(connection) -> None:
    """Take back every privilege `grant_app_role` gave, the default privileges included."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        role = app_role(cursor)
        if role is None:
            return
        tables, sequences, _ = _relations(cursor)
        for table in tables:
            cursor.execute(f"REVOKE ALL ON {quote(table)} FROM {quote(role)}")
        for sequence in sequences:
            cursor.execute(f"REVOKE ALL ON SEQUENCE {quote(sequence)} FROM {quote(role)}")
        schema = _schema(cursor, quote)
        cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {quote(role)}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM {quote(role)}")


def grant(apps, schema_editor) -> None:
    grant_app_role(schema_editor.connection)


def revoke(apps, schema_editor) -> None:
    revoke_app_role(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("geo_disputes", "0014_login_known_address"),
    ]

    operations = [
        migrations.RunPython(grant, revoke),
    ]
