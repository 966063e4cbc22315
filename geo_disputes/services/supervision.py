"""Daily supervision (督办, 条例 Art. 39–40): overdue cases go up a tier; overdue banner cases to the joint meeting.

`run_tick(today)` works in two passes, each selected in SQL with the clock's `annotate_dues`:
1. every overdue case below the banner not yet escalated for the deadline it missed goes
   one tier up (village → township → banner, mining court → banner);
2. every overdue banner-level case not listed for an upcoming meeting is listed for the next
   joint meeting (which includes cases that pass 1 has just brought up to the banner).
A case is escalated once per missed deadline: the escalation event records the deadline
("conclude_by:2026-05-01"), and pass 1 skips cases that carry it. So a second run on the same
day — or the next day — changes nothing until a new deadline is missed or a meeting has
passed with the case still overdue. Changes go through `workflow.apply` one case at a time,
so the transition rules and the history stay in one place; the selection is set-based.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import CharField, Exists, F, Func, OuterRef, Q, QuerySet, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Concat

from geo_disputes.models import Case, CaseEvent
from geo_disputes.models.cases import Tier
from geo_disputes.services.clock import (
    DEADLINE_LABELS,
    OPEN_STATUSES,
    STATUTE_TZ,
    DueState,
    annotate_dues,
)
from geo_disputes.services.workflow import Action, StaleEditError, WorkflowError, apply


@dataclass
class TickReport:
    """What one run did, one line per case, for the command's output and the operator's log."""

    today: dt.date
    escalated: list[str] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def overdue_cases(today: dt.date) -> QuerySet[Case]:
    """Open cases past their next statutory deadline on `today`, with the dues annotated."""
    return annotate_dues(Case.objects.filter(status__in=OPEN_STATUSES), today).filter(due_state=DueState.OVERDUE)


def cases_to_escalate(today: dt.date) -> QuerySet[Case]:
    """Overdue cases below the banner that have not yet been escalated for the deadline they missed."""
    missed_key = Concat(
        F("next_due_kind"),
        Value(":"),
        Func(F("next_due"), Value("YYYY-MM-DD"), function="to_char", output_field=CharField()),
        output_field=CharField(),
    )
    already = (
        CaseEvent.objects.filter(case=OuterRef("pk"), action=Action.ESCALATE)
        .annotate(missed=KT("changes__missed"))
        .filter(missed=OuterRef("missed_key"))
    )
    return (
        overdue_cases(today)
        .exclude(tier__in=[Tier.BANNER, ""])
        .annotate(missed_key=missed_key)
        .filter(~Exists(already))
        .order_by("next_due", "id")
    )


def cases_to_list(today: dt.date) -> QuerySet[Case]:
    """Overdue banner-level cases not listed for a joint meeting on or after `today`."""
    return (
        overdue_cases(today)
        .filter(tier=Tier.BANNER)
        .filter(Q(agenda_date__isnull=True) | Q(agenda_date__lt=today))
        .order_by("next_due", "id")
    )


def _reason(case: Case) -> str:
    """The missed deadline in words, from the dues annotated on `case`."""
    late = -case.days_left
    return f"overdue by {late} day(s): {DEADLINE_LABELS[case.next_due_kind]} was due {case.next_due}"


def run_tick(today: dt.date) -> TickReport:
    """Escalate and list overdue cases as of `today` (Asia/Shanghai); safe to run any number of times."""
    report = TickReport(today=today)
    # Escalation sets no timestamps of its own; "now" only fixes the day the rules are judged on.
    now = dt.datetime.combine(today, dt.time.min, tzinfo=STATUTE_TZ)
    for case in list(cases_to_escalate(today)):
        from_tier = case.tier
        try:
            saved = apply(case, Action.ESCALATE, None, case.version, now=now, reason=_reason(case))
        except (StaleEditError, WorkflowError) as exc:
            report.skipped.append(f"{case.reference}: {exc}")
            continue
        unit = saved.unit.code if saved.unit else "no unit registered"
        report.escalated.append(f"{case.reference}: {from_tier} → {saved.tier} ({unit}); {_reason(case)}")
    for case in list(cases_to_list(today)):
        try:
            saved = apply(case, Action.ESCALATE, None, case.version, now=now, reason=_reason(case))
        except (StaleEditError, WorkflowError) as exc:
            report.skipped.append(f"{case.reference}: {exc}")
            continue
        report.listed.append(f"{case.reference}: joint meeting of {saved.agenda_date}; {_reason(case)}")
    return report
