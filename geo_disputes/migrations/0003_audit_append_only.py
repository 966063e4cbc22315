"""The audit log is append-only in the database, not only in the models.

CaseEvent, RoutingRuleChange and PersonalDataAccess rows can be inserted by anyone who may write
them, but a row-level trigger refuses every UPDATE and DELETE (SQLSTATE 42501, "append-only"),
whatever client sends it: the ORM, the admin, a raw query, psql.

Database maintenance (e.g. removing records past their retention period) needs both
  * the session setting ``SET geo_disputes.audit_maintenance = 'on'`` — the application never sets
    it, so only a DBA's deliberate session can — and
  * a role that owns the table (or a superuser).
Locally the application connects as ``postgres``, the owner, so there the session setting is the
guard; in production connect the application as a role that does not own the tables and only the
owner can ever change the log.

One update is allowed: deleting a routing rule sets ``RoutingRuleChange.rule`` to NULL
(on_delete=SET_NULL); the row keeps the rule's id and fields in its snapshot, and the trigger
checks that nothing else in the row changes.

TRUNCATE is a statement-level operation and is deliberately not blocked: the test suite's
flush (pytest-django's ``transactional_db``) empties tables with TRUNCATE, and only the table
owner may truncate anyway.
"""

from django.db import migrations

AUDIT_TABLES = ("geo_disputes_caseevent", "geo_disputes_routingrulechange", "geo_disputes_personaldataaccess")

FUNCTION = r"""
CREATE FUNCTION geo_disputes_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('geo_disputes.audit_maintenance', true), '') = 'on'
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'geo_disputes_routingrulechange' THEN
        -- the rule is being deleted (SET_NULL); its snapshot stays in the row
        IF to_jsonb(OLD) ->> 'rule_id' IS NOT NULL AND to_jsonb(NEW) ->> 'rule_id' IS NULL
           AND to_jsonb(NEW) - 'rule_id' = to_jsonb(OLD) - 'rule_id' THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit log %.% is append-only: % refused (审计记录只可追加，不可修改或删除)',
        TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'A DBA owning the table may SET geo_disputes.audit_maintenance = ''on'' for maintenance.';
END
$$;
"""

TRIGGER = """
CREATE TRIGGER {table}_append_only
BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION geo_disputes_audit_append_only();
"""

DROP_TRIGGER = "DROP TRIGGER IF EXISTS {table}_append_only ON {table};"


class Migration(migrations.Migration):
    dependencies = [
        ("geo_disputes", "0002_default_routing_rules"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION, reverse_sql="DROP FUNCTION IF EXISTS geo_disputes_audit_append_only();"),
        *(
            migrations.RunSQL(TRIGGER.format(table=table), reverse_sql=DROP_TRIGGER.format(table=table))
            for table in AUDIT_TABLES
        ),
    ]
