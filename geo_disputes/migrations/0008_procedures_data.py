"""Procedures for the cases already stored, the working-day calendar, and append-only supervision.

* The working-day calendar (CalendarDay, unmanaged so no flush empties it) is created and filled from `chinesecalendar`, and two SQL functions
  read it for the clock's SQL path: ``gd_roll_working(d)`` (the first working day on or after d,
  民法典 Art. 203) and ``gd_add_working(d, n)`` (the n-th working day after d, 条例 Art. 23).
* SupervisionAct and FollowUp join the append-only audit tables (same trigger as 0003).
* Every stored case gets a procedure by the rules of services.cases.procedures (an accusation →
  discipline; the mining court → litigation; a claim told at a talk room, to a grid agent or at a
  deputies' station → mediation; else petition), its holder's own receipt (the last transfer,
  escalation or joint-meeting hand-over in its history), and a repeat petition its own status.
  One `migrate_procedure` event per case says what was assigned; no history event is changed.
  Satisfaction typed by handlers before this change is kept on the case but is not turned into
  follow-up records: nobody asked the petitioner, and the dashboard counts follow-ups only.
* Three default routing rules name their procedure (mining court → litigation, two-household
  neighbour/family quarrels → mediation, legacy → petition), each edit kept in RoutingRuleChange.

Reversible: backwards, repeat petitions return to `reported`, the rules lose their procedure and
the functions and triggers are dropped; the added history events stay (the log is append-only).
"""

from django.db import migrations

CALENDAR_TABLE = """
CREATE TABLE geo_disputes_calendarday (
    day date PRIMARY KEY,
    working boolean NOT NULL,
    provisional boolean NOT NULL DEFAULT false
);
"""

ROLL = """
CREATE OR REPLACE FUNCTION gd_roll_working(d date) RETURNS date LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT min(day) FROM geo_disputes_calendarday WHERE day >= d AND working), d)
$$;
CREATE OR REPLACE FUNCTION gd_add_working(d date, n integer) RETURNS date LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT day FROM geo_disputes_calendarday WHERE day > d AND working ORDER BY day OFFSET n - 1 LIMIT 1
$$;
"""
DROP_ROLL = "DROP FUNCTION IF EXISTS gd_roll_working(date); DROP FUNCTION IF EXISTS gd_add_working(date, integer);"

AUDIT_TABLES = ("geo_disputes_supervisionact", "geo_disputes_followup")
TRIGGER = """
CREATE TRIGGER {table}_append_only
BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION geo_disputes_audit_append_only();
"""
DROP_TRIGGER = "DROP TRIGGER IF EXISTS {table}_append_only ON {table};"

ASSIGN = """
UPDATE geo_disputes_case SET procedure = CASE
    WHEN kind = 'accusation' THEN 'discipline'
    WHEN tier = 'mining_court' THEN 'litigation'
    WHEN kind = 'claim' AND channel IN ('talk_room', 'grid_agent', 'deputy_station') THEN 'mediation'
    ELSE 'petition' END;
UPDATE geo_disputes_case c SET holder_received_at = h.at
FROM (SELECT case_id, max(at) AS at FROM geo_disputes_caseevent
      WHERE action IN ('transfer', 'escalate', 'put_on_agenda') GROUP BY case_id) h
WHERE h.case_id = c.id;
UPDATE geo_disputes_case SET status = 'repeat' WHERE repeat_of_id IS NOT NULL AND status = 'reported';
INSERT INTO geo_disputes_caseevent (case_id, at, action, from_status, to_status, changes, reason)
SELECT id, now(), 'migrate_procedure', status, status,
       jsonb_build_object('procedure', procedure, 'holder_received_at', holder_received_at),
       '按三种程序迁移:指定程序,沿用全部办理记录 / procedure assigned when the three procedures were introduced'
FROM geo_disputes_case;
"""
UNASSIGN = "UPDATE geo_disputes_case SET status = 'reported' WHERE status = 'repeat';"

RULE_PROCEDURES = {30: "litigation", 45: "mediation", 10: "petition"}


def sync_calendar(apps, schema_editor):
    from geo_disputes.services.cases.workdays import sync_calendar as sync

    sync(schema_editor.connection)


def rules_forward(apps, schema_editor):
    _set_rule_procedures(apps, RULE_PROCEDURES)


def rules_backward(apps, schema_editor):
    _set_rule_procedures(apps, dict.fromkeys(RULE_PROCEDURES, ""))


def _set_rule_procedures(apps, procedures: dict[int, str]) -> None:
    RoutingRule = apps.get_model("geo_disputes", "RoutingRule")
    RoutingRuleChange = apps.get_model("geo_disputes", "RoutingRuleChange")
    for rule in RoutingRule.objects.filter(order__in=procedures):
        if rule.procedure == procedures[rule.order]:
            continue
        rule.procedure = procedures[rule.order]
        rule.save(update_fields=["procedure"])
        snapshot = {
            "id": rule.pk,
            **{
                f: getattr(rule, f)
                for f in ("order", "name", "active", "categories", "mining", "tier", "procedure", "explanation")
            },
        }
        RoutingRuleChange.objects.create(rule=rule, action="procedure", snapshot=snapshot)


class Migration(migrations.Migration):
    dependencies = [
        ("geo_disputes", "0007_procedures"),
    ]

    operations = [
        migrations.RunSQL(CALENDAR_TABLE, reverse_sql="DROP TABLE IF EXISTS geo_disputes_calendarday;"),
        migrations.RunPython(sync_calendar, migrations.RunPython.noop),
        migrations.RunSQL(ROLL, reverse_sql=DROP_ROLL),
        *(
            migrations.RunSQL(TRIGGER.format(table=table), reverse_sql=DROP_TRIGGER.format(table=table))
            for table in AUDIT_TABLES
        ),
        migrations.RunSQL(ASSIGN, reverse_sql=UNASSIGN),
        migrations.RunPython(rules_forward, rules_backward),
    ]
