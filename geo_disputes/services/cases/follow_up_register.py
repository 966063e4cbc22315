"""The follow-up (回访) register: who called whom, when, how, the answer or "unreachable", and per unit the
participation rate — the source of the satisfaction figures (issue 15 item 4; the records are FollowUp rows
written by workflow's `follow_up` action, never by this module).

Definitions (the page says the same in words, `DEFINITIONS`):

* **concluded in the period** (期内办结) — a matter whose status is now concluded (resolved, served, evaluated or
  closed: analysis.stats.CONCLUDED_STATUSES) and which last *entered* a concluded status within the period
  (the CaseEvent whose to_status is concluded and from_status is not). A case group counts once, a repeat
  petition not at all (analysis.stats.matters), as on the dashboard. The unit is the case's current holder.
* **followed up** (已回访) — of those, matters with at least one follow-up, whenever recorded.
* **reached** (联系到) — of those, matters with at least one follow-up that reached the petitioner.
* **participation rate** (回访参与率) = reached ÷ concluded in the period (None when nothing concluded).
* **satisfied share** (满意率) = matters whose latest answer is 满意 or 基本满意 ÷ reached matters.

Scope: every query starts from access.visible_cases (the accused side never sees an accusation's follow-ups);
the caller's name, the note and the petitioners' names whole only where the user may read the case's text
(access.case_text_filter, which mirrors can_see_pii); elsewhere names are masked (王某) and notes withheld.
An unmasked listing is recorded in PersonalDataAccess, one row per case shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from geo_disputes.models import Case, CaseEvent, FollowUp, Party, PersonalDataAccess, Unit
from geo_disputes.models.bounds import plausible_date
from geo_disputes.models.cases import Satisfaction
from geo_disputes.services.analysis.stats import CONCLUDED_STATUSES, matters, with_follow_ups
from geo_disputes.services.cases.access import WITHHELD, case_text_filter, mask_name, visible_cases
from geo_disputes.services.cases.clock import STATUTE_TZ

SATISFIED = (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED)
DEFINITIONS = {
    "concluded": (
        "期内办结:当前状态为已化解、答复已送达、已评事或已办结,且最近一次进入办结状态的时间在统计期内的事项"
        "(事项组计1件,重复信访不计;按当前责任单位归属)。"
        " / Concluded in the period: matters now concluded (resolved, served, evaluated, closed) that last entered"
        " a concluded status within the period (a case group counts once, repeats not at all, by current unit)."
    ),
    "followed": "已回访:其中至少有一次回访记录的事项。 / Followed up: of those, matters with at least one follow-up.",
    "reached": (
        "联系到:其中至少有一次回访联系到信访人的事项。"
        " / Reached: of those, matters with at least one follow-up that reached the petitioner."
    ),
    "participation_rate": "回访参与率 = 联系到 ÷ 期内办结。 / Participation rate = reached ÷ concluded in the period.",
    "satisfied_share": (
        "满意率 = 最近一次答复为“满意”或“基本满意”的事项 ÷ 联系到的事项。"
        " / Satisfied share = matters whose latest answer is satisfied or basically satisfied ÷ reached matters."
    ),
}


class RegisterError(ValueError):
    """A bad filter: `field` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class RegisterFilter:
    since: dt.date
    until: dt.date
    unit: Unit | None = None

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as aware moments of the banner's calendar days."""
        start = dt.datetime.combine(self.since, dt.time.min, tzinfo=STATUTE_TZ)
        end = dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time.min, tzinfo=STATUTE_TZ)
        return start, end


def register_filter(since: dt.date | None, until: dt.date | None, unit_code: str, today: dt.date) -> RegisterFilter:
    """The filter from the form's values: the year to date by default (今年以来, as the seed reports)."""
    since = since or today.replace(month=1, day=1)
    until = until or today
    if not (plausible_date(since) and plausible_date(until)) or until.year - since.year > 50:
        raise RegisterError("统计期须在1901–2200年之间 / the period must lie within 1901..2200", "since")
    if until < since:
        raise RegisterError("结束日期不能早于开始日期 / until is before since", "until")
    unit = None
    if unit_code:
        unit = Unit.objects.filter(code=unit_code).first() if "\x00" not in unit_code else None
        if unit is None:
            raise RegisterError("无此单位 / no such unit", "unit")
    return RegisterFilter(since, until, unit)


@dataclass
class UnitSummary:
    unit_code: str
    unit_name: str
    concluded: int
    followed: int
    reached: int
    satisfied: int

    @property
    def participation_rate(self) -> float | None:
        return self.reached / self.concluded if self.concluded else None

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.reached if self.reached else None


def concluded_in(user, flt: RegisterFilter) -> QuerySet[Case]:
    """The matters `user` sees that were concluded in the period (see the module's definition)."""
    start, end = flt.bounds()
    entering = (
        CaseEvent.objects.filter(case=OuterRef("pk"), to_status__in=CONCLUDED_STATUSES)
        .exclude(from_status__in=CONCLUDED_STATUSES)
        .order_by("-at", "-id")
        .values("at")[:1]
    )
    qs = visible_cases(user).filter(status__in=CONCLUDED_STATUSES).annotate(concluded_at=Subquery(entering))
    qs = qs.filter(concluded_at__gte=start, concluded_at__lt=end)
    return qs.filter(unit=flt.unit) if flt.unit else qs


def unit_summaries(user, flt: RegisterFilter) -> tuple[list[UnitSummary], UnitSummary]:
    """Per unit (the holder), and in total: concluded in the period, followed up, reached, satisfied."""
    qs = with_follow_ups(concluded_in(user, flt))
    counts = {  # names apart from with_follow_ups' annotations (`followed`, `reached`), which they filter on
        "n_concluded": matters(),
        "n_followed": matters(Q(followed=True)),
        "n_reached": matters(Q(reached=True)),
        "n_satisfied": matters(Q(reached=True, answer__in=SATISFIED)),
    }
    rows = [
        UnitSummary(r["unit__code"] or "", r["unit__name"] or "", *(r[k] for k in counts))
        for r in qs.values("unit__code", "unit__name").annotate(**counts).order_by("unit__code")
    ]
    total = qs.aggregate(**counts)
    return rows, UnitSummary("", "", *(total[k] or 0 for k in counts))


@dataclass
class FollowUpRow:
    record: FollowUp
    reference: str
    unit_name: str
    caller: str
    petitioners: str
    answer: str  # a Satisfaction value or "unreachable"
    note: str
    full: bool


def follow_ups(user, flt: RegisterFilter) -> QuerySet[FollowUp]:
    """The follow-ups made in the period on cases `user` sees, newest first, each marked `readable`."""
    start, end = flt.bounds()
    qs = FollowUp.objects.filter(case__in=visible_cases(user), at__gte=start, at__lt=end)
    if flt.unit:
        qs = qs.filter(case__unit=flt.unit)
    allowed = case_text_filter(user)
    readable = (
        Exists(visible_cases(user).filter(allowed, pk=OuterRef("case_id")))
        if allowed is not None
        else Exists(Case.objects.none())
    )
    return qs.annotate(readable=readable).select_related("case", "case__unit").order_by("-at", "-id")


def rows_as_seen(user, records: list[FollowUp], purpose: str = "回访登记 follow-up register") -> list[FollowUpRow]:
    """The records of one page as `user` may read them; an unmasked listing is recorded per case."""
    case_ids = {r.case_id for r in records}
    parties = Case.objects.filter(pk__in=case_ids).prefetch_related(
        Prefetch("petitioners", queryset=Party.objects.order_by("id"), to_attr="people")
    )
    names = {c.pk: [p.name for p in c.people] for c in parties}
    whole = {r.case_id for r in records if r.readable}
    if whole and getattr(user, "is_authenticated", False):
        PersonalDataAccess.objects.bulk_create(
            PersonalDataAccess(user=user, case_id=case_id, purpose=purpose) for case_id in sorted(whole)
        )
    rows = []
    for r in records:
        people = names.get(r.case_id, [])
        shown = people if r.readable else [mask_name(n) for n in people]
        rows.append(
            FollowUpRow(
                record=r,
                reference=r.case.reference,
                unit_name=r.case.unit.name if r.case.unit_id else "",
                caller=r.by if r.readable else WITHHELD,
                petitioners="、".join(shown),
                answer=r.satisfaction or ("unreachable" if r.unreachable else ""),
                note=r.note if r.readable or not r.note else WITHHELD,
                full=bool(r.readable),
            )
        )
    return rows


def local_moment(record: FollowUp) -> dt.datetime:
    return timezone.localtime(record.at, STATUTE_TZ)
