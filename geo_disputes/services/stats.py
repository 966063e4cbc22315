"""Every number of the dashboard, `/api/stats/` and the monthly joint-meeting report, in SQL aggregates.

One module counts, so the three places can never disagree. Each indicator is defined in
`DEFINITIONS` (served with the API) and computed from `visible_cases(user)`, narrowed to a
period and an area:

* **Period** — Asia/Shanghai calendar days `since`..`until` (both inclusive) on the date a case
  was *received*. Without dates it is the twelve months ending today (today − 1 year + 1 day ..
  today); with only one date the other is taken one year away. "The same period a year earlier"
  shifts both ends back one calendar year (29 Feb → 28 Feb).
* **Area** — a township (9-digit code) and/or a village (12-digit code): the case's located codes.
* **Matter** (件) — what the motto and the seed count. A case group (one event, many petitioners)
  is one matter; a repeat petition (`repeat_of` set, 条例 Art. 19 ¶3) is not a new matter. Matter
  counts are `COUNT(DISTINCT key)` with key = −group id for grouped cases, else the case id. The
  members of a group move as one (services.groups), so they share tier and status.
* **Concluded** (办结) — status resolved, evaluated or closed (replied to the petitioner).
* **Tier** — a concluded matter's tier is its final tier; an open matter's is its current tier.
  The mining court (矿区法庭) sits at township level in the method (大事不出镇), so it counts as
  "at or below the township"; it answers to the banner for escalation (services.units).

The demo (fixtures/demo_cases.py, synthetic year received 2025-11-26..2026-11-20) reproduces the
seed for that period (tests/test_stats.py), and for the default period in late November 2026:
agents 118 matters / 94 concluded, township complex matters resolved 115 (the 41-household group
once), mining-court mediations 45 (all received since 2026-01-25), and litigation in mining-court
matters 20 against 47 in the same period a year earlier: −57.4 %. The 47 were received in
2025-01-05..2025-11-01 and the 20 in 2026, so full calendar years 2026 vs 2025 give the same 20 vs 47.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import BigIntegerField, Count, F, Q, QuerySet, When
from django.db.models import Case as SqlCase
from django.db.models.functions import TruncDate, TruncMonth

from geo_disputes.models import Case
from geo_disputes.models.cases import Channel, ResolutionMethod, Satisfaction, Status, Tier
from geo_disputes.services.access import ScopeError, scope_kind, visible_cases
from geo_disputes.services.clock import OPEN_STATUSES, STATUTE_TZ, DueState, annotate_dues, local_today

CONCLUDED_STATUSES = (Status.RESOLVED, Status.EVALUATED, Status.CLOSED)
MEDIATED_METHODS = (ResolutionMethod.MEDIATION, ResolutionMethod.JUDICIAL_CONFIRMATION)
AT_OR_BELOW_TOWNSHIP = (Tier.VILLAGE, Tier.TOWNSHIP, Tier.MINING_COURT)
MAX_PERIOD_DAYS = 366 * 10
DECIMALS = 6
MIN_YEAR, MAX_YEAR = 1901, 9998  # the year before (and after) must exist for the comparisons
UNROUTED = ""  # tier of a case not yet routed (still at the talk room)
NO_UNIT_NAME = "未指定责任单位"

DEFINITIONS: dict[str, str] = {
    "period": (
        "统计期:按登记日期(北京时间自然日)since..until,两端含;缺省为截至今日的12个月。"
        " / Received date (Asia/Shanghai days) since..until inclusive; default: the 12 months ending today."
    ),
    "cases_total": (
        "事项数:统计期内登记的事项,事项组(一事多人)计1件,重复信访不计。"
        " / Matters received in the period: a case group counts once; repeat petitions (repeat_of set) are not counted."
    ),
    "by_tier": (
        "按层级:各层级的事项数(已办结按最终层级,未办结按当前层级;空值为未分流)。"
        " / Matters by tier: final tier when concluded, current tier when open ('' = not yet routed)."
    ),
    "by_status": "按状态:各状态的事项数。 / Matters by current status.",
    "by_month": (
        "按月:每月登记的事项数及其中已办结数。 / Per month of receipt: matters received, and of them concluded."
    ),
    "concluded_at_village_share": (
        "小事不出村:最终在村级办结的事项 ÷ 全部已办结事项(已化解、已评事、已办结)。"
        " / Concluded matters whose final tier is village ÷ all concluded matters (resolved, evaluated, closed)."
    ),
    "concluded_at_or_below_township_share": (
        "大事不出镇:最终在村级、乡镇级或矿区法庭办结的事项 ÷ 全部已办结事项。矿区法庭在方法中与乡镇同级,计入乡镇。"
        " / Concluded matters whose final tier is village, township or mining court ÷ all concluded matters;"
        " the mining court sits at township level in the method, so it counts with the township."
    ),
    "escalated_to_banner_share": (
        "矛盾不上交(反向指标):处于旗级的事项(已办结按最终层级,未办结按当前层级)÷ 全部事项;越低越好。"
        " / Matters at banner tier (final tier if concluded, current if open) ÷ all matters; lower is better."
    ),
    "conclusion_rate": (
        "办结率:已办结事项 ÷ (全部事项 − 不予受理事项)。 / Concluded matters ÷ (all matters − matters not accepted)."
    ),
    "on_time_rate": (
        "按期办结率:按期办结(答复日 ≤ 办结期限:受理日+60日+延期,条例第34条)的事项 ÷"
        " (已办结事项 + 今日已逾期的未办结事项)。把逾期事项压着不办不会提高比率。"
        " / Matters concluded on time (reply date ≤ conclude_by = acceptance + 60 days + extension, Art. 34)"
        " ÷ (concluded matters + open matters overdue today). Sitting on a late matter cannot raise the rate."
    ),
    "overdue_by_unit": (
        "逾期事项(按责任单位):今日已过下一法定期限的未办结事项数(期限按 clock 计算)。"
        " / Open matters past their next statutory deadline today, per responsible unit."
    ),
    "satisfaction": (
        "满意度:已评价事项中满意、基本满意、不满意的件数与占比(分母为已评价事项)。"
        " / Of the matters rated: counts and shares satisfied / basically satisfied / dissatisfied."
    ),
    "agent_handled": "代办事项:渠道为网格代办(信访代办员)的事项数。 / Matters with channel grid_agent.",
    "agent_concluded": (
        "代办办结:其中已办结(已化解、已评事、已办结)的事项数。"
        " / Of those, matters concluded (resolved, evaluated, closed)."
    ),
    "mining_court_mediated": (
        "矿区法庭调解:层级为矿区法庭、化解方式为调解协议或司法确认的事项数。"
        " / Matters at the mining court resolved by mediation agreement or judicial confirmation."
    ),
    "litigation_yoy_change": (
        "诉讼同比:矿区法庭事项中化解方式为诉讼的事项数,统计期与上年同期比较:(本期 − 上年同期)÷ 上年同期;"
        "上年同期为0时为空。 / Litigation resolutions in mining-court matters, this period vs the same period a"
        " year earlier: (this − last) ÷ last; null when last = 0."
    ),
    "township_complex_resolved": (
        "乡镇化解复杂事项:层级为乡镇级且已办结的事项数(事项组计1件)。"
        " / Matters at township tier that are concluded (a case group counts once)."
    ),
    "repeat_rate": (
        "重复信访率:重复信访件次 ÷ 全部信访件次(统计期内登记的每一件,含事项组成员与重复信访)。"
        " / Repeat petitions ÷ all petitions received in the period"
        " (every case row, group members and repeats included)."
    ),
}

LABELS: dict[str, str] = {
    "period": "统计期",
    "cases_total": "事项总数",
    "by_tier": "按层级",
    "by_status": "按状态",
    "by_month": "按月",
    "concluded": "已办结",
    "concluded_at_village_share": "小事不出村",
    "concluded_at_or_below_township_share": "大事不出镇",
    "escalated_to_banner_share": "上交旗级占比",
    "conclusion_rate": "办结率",
    "on_time_rate": "按期办结率",
    "overdue_open": "逾期未办结",
    "overdue_by_unit": "逾期未办结(按单位)",
    "agent_handled": "代办事项",
    "agent_concluded": "代办办结",
    "mining_court_mediated": "矿区法庭调解",
    "litigation_yoy_change": "诉讼同比",
    "township_complex_resolved": "乡镇化解复杂事项",
    "repeat_rate": "重复信访率",
    "satisfaction": "满意度",
}


class StatsInputError(ValueError):
    """A period or area that cannot be counted; `field` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Period:
    """Received-date window in Asia/Shanghai days, both ends inclusive."""

    since: dt.date
    until: dt.date

    def year_earlier(self) -> Period:
        return Period(_years_back(self.since, 1), _years_back(self.until, 1))

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as aware datetimes: midnight of `since` to midnight after `until`, Beijing time."""
        start = dt.datetime.combine(self.since, dt.time.min, tzinfo=STATUTE_TZ)
        end = dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time.min, tzinfo=STATUTE_TZ)
        return start, end

    def as_dict(self) -> dict[str, dt.date]:
        last = self.year_earlier()
        return {
            "since": self.since,
            "until": self.until,
            "year_earlier_since": last.since,
            "year_earlier_until": last.until,
        }


@dataclass(frozen=True)
class Area:
    """A township and/or village code ("" = not narrowed)."""

    township: str = ""
    village: str = ""


def resolve_period(since: dt.date | None, until: dt.date | None, today: dt.date | None = None) -> Period:
    """The period for these optional ends (see the module docstring); StatsInputError naming the bad end."""
    today = today or local_today()
    for field, day in (("since", since), ("until", until)):
        if day is not None and not MIN_YEAR <= day.year <= MAX_YEAR:
            raise StatsInputError(
                field, f"{field} 须在 {MIN_YEAR}–{MAX_YEAR} 年之间 / {field} must be in {MIN_YEAR}..{MAX_YEAR}"
            )
    if since is None and until is None:
        until = today
    if since is None:
        since = _years_back(until, 1) + dt.timedelta(days=1)
    if until is None:
        until = _years_forward(since, 1) - dt.timedelta(days=1)
    if since > until:
        raise StatsInputError("until", f"until ({until}) 早于 since ({since}) / until is before since")
    if (until - since).days > MAX_PERIOD_DAYS:
        raise StatsInputError("since", "统计期不超过10年 / the period may span at most 10 years")
    return Period(since, until)


def resolve_area(township: str = "", village: str = "") -> Area:
    """Validated area codes: a 9-digit township, a 12-digit village inside it (when both are given)."""
    township, village = (township or "").strip(), (village or "").strip()
    for field, code, kind in (("township", township, "township"), ("village", village, "village")):
        try:
            shape = scope_kind(code)
        except ScopeError:
            shape = "?"
        if code and shape != kind:
            digits = 9 if kind == "township" else 12
            raise StatsInputError(
                field, f"{field} 须为{digits}位代码 / {field} must be a {digits}-digit code: {code!r}"
            )
    if township and village and not village.startswith(township):
        raise StatsInputError("village", f"村 {village} 不属于乡镇 {township} / village is not in that township")
    return Area(township, village)


def matter_key() -> SqlCase:
    """One value per matter: −group id for members of a case group, else the case id."""
    return SqlCase(
        When(group__isnull=False, then=F("group_id") * -1),
        default=F("id"),
        output_field=BigIntegerField(),
    )


def matters(condition: Q | None = None) -> Count:
    """COUNT(DISTINCT matter) of the non-repeat cases meeting `condition`."""
    first = Q(repeat_of__isnull=True)
    return Count(matter_key(), filter=first & condition if condition is not None else first, distinct=True)


def area_cases(user, area: Area) -> QuerySet[Case]:
    """The cases `user` may see in `area` (any date)."""
    qs = visible_cases(user)
    if area.township:
        qs = qs.filter(township_code=area.township)
    if area.village:
        qs = qs.filter(village_code=area.village)
    return qs


def period_cases(user, period: Period, area: Area = Area()) -> QuerySet[Case]:
    """The cases `user` may see in `area`, received in `period`: the base of every indicator."""
    start, end = period.bounds()
    return area_cases(user, area).filter(received_at__gte=start, received_at__lt=end)


def with_on_time(qs: QuerySet[Case], today: dt.date) -> QuerySet[Case]:
    """`qs` with the clock's dues as of `today` and `replied_on` (reply date, Beijing time)."""
    return annotate_dues(qs, today).annotate(replied_on=TruncDate("replied_at", tzinfo=STATUTE_TZ))


CONCLUDED = Q(status__in=CONCLUDED_STATUSES)
ON_TIME = CONCLUDED & Q(replied_on__lte=F("conclude_by"))
OVERDUE_OPEN = Q(status__in=OPEN_STATUSES, due_state=DueState.OVERDUE)
DUE_SOON_OPEN = Q(status__in=OPEN_STATUSES, due_state=DueState.DUE_SOON)
MINING_COURT_MEDIATED = Q(tier=Tier.MINING_COURT, resolution_method__in=MEDIATED_METHODS)
MINING_COURT_LITIGATION = Q(tier=Tier.MINING_COURT, resolution_method=ResolutionMethod.LITIGATION)


def indicators(user, period: Period, area: Area = Area(), today: dt.date | None = None) -> dict[str, Any]:
    """Every indicator of `DEFINITIONS` for the cases `user` sees in `area` received in `period`.

    Shares and rates are fractions (0..1, rounded to 6 places) or None when the denominator is 0;
    `counts` holds every numerator and denominator so each can be recomputed.
    """
    today = today or local_today()
    base = period_cases(user, period, area)
    totals = with_on_time(base, today).aggregate(
        cases_total=matters(),
        concluded=matters(CONCLUDED),
        not_accepted=matters(Q(status=Status.NOT_ACCEPTED)),
        concluded_village=matters(CONCLUDED & Q(tier=Tier.VILLAGE)),
        concluded_at_or_below_township=matters(CONCLUDED & Q(tier__in=AT_OR_BELOW_TOWNSHIP)),
        at_banner=matters(Q(tier=Tier.BANNER)),
        on_time=matters(ON_TIME),
        overdue_open=matters(OVERDUE_OPEN),
        due_soon_open=matters(DUE_SOON_OPEN),
        agent_handled=matters(Q(channel=Channel.GRID_AGENT)),
        agent_concluded=matters(Q(channel=Channel.GRID_AGENT) & CONCLUDED),
        mining_court_mediated=matters(MINING_COURT_MEDIATED),
        township_complex_resolved=matters(CONCLUDED & Q(tier=Tier.TOWNSHIP)),
        rated=matters(~Q(satisfaction="")),
        **{f"satisfaction_{value}": matters(Q(satisfaction=value)) for value in Satisfaction.values},
        petitions=Count("id"),
        repeat_petitions=Count("id", filter=Q(repeat_of__isnull=False)),
    )
    litigation = litigation_counts(user, period, area)
    rated = totals["rated"]
    satisfaction = {
        "rated": rated,
        "counts": {value: totals[f"satisfaction_{value}"] for value in Satisfaction.values},
        "shares": {value: share(totals[f"satisfaction_{value}"], rated) for value in Satisfaction.values},
    }
    counts = {key: value for key, value in totals.items() if not key.startswith("satisfaction_")}
    counts["accepted_or_pending"] = totals["cases_total"] - totals["not_accepted"]
    counts["due"] = totals["concluded"] + totals["overdue_open"]
    counts["litigation_this_period"] = litigation["this_period"]
    counts["litigation_year_earlier"] = litigation["year_earlier"]
    return {
        "period": period.as_dict(),
        "area": {"township": area.township, "village": area.village},
        "today": today,
        "cases_total": totals["cases_total"],
        "concluded": totals["concluded"],
        "by_tier": by_field(base, "tier", [*Tier.values, UNROUTED]),
        "by_status": by_field(base, "status", Status.values),
        "by_month": by_month(base, period),
        "concluded_at_village_share": share(totals["concluded_village"], totals["concluded"]),
        "concluded_at_or_below_township_share": share(totals["concluded_at_or_below_township"], totals["concluded"]),
        "escalated_to_banner_share": share(totals["at_banner"], totals["cases_total"]),
        "conclusion_rate": share(totals["concluded"], counts["accepted_or_pending"]),
        "on_time_rate": share(totals["on_time"], counts["due"]),
        "overdue_open": totals["overdue_open"],
        "overdue_by_unit": overdue_by_unit(base, today),
        "satisfaction": satisfaction,
        "agent_handled": totals["agent_handled"],
        "agent_concluded": totals["agent_concluded"],
        "mining_court_mediated": totals["mining_court_mediated"],
        "litigation": litigation,
        "litigation_yoy_change": change(litigation["this_period"], litigation["year_earlier"]),
        "township_complex_resolved": totals["township_complex_resolved"],
        "repeat_rate": share(totals["repeat_petitions"], totals["petitions"]),
        "counts": counts,
        "definitions": DEFINITIONS,
    }


def litigation_counts(user, period: Period, area: Area = Area()) -> dict[str, int]:
    """Litigation resolutions of mining-court matters in `period` and in the same period a year earlier."""
    this_start, this_end = period.bounds()
    last_start, last_end = period.year_earlier().bounds()
    this_window = Q(received_at__gte=this_start, received_at__lt=this_end)
    last_window = Q(received_at__gte=last_start, received_at__lt=last_end)
    row = (
        area_cases(user, area)
        .filter(this_window | last_window)
        .aggregate(
            this_period=matters(MINING_COURT_LITIGATION & this_window),
            year_earlier=matters(MINING_COURT_LITIGATION & last_window),
        )
    )
    return {"this_period": row["this_period"], "year_earlier": row["year_earlier"]}


def by_field(qs: QuerySet[Case], field: str, order: list[str]) -> dict[str, int]:
    """Matters per value of `field`, every value of `order` present (zeros included), in that order."""
    found = {row[field]: row["n"] for row in qs.order_by().values(field).annotate(n=matters())}
    result = {value: found.pop(value, 0) for value in order}
    result.update(found)  # a value outside the choices is still counted, never dropped
    if field == "tier" and not result.get(UNROUTED):
        result.pop(UNROUTED, None)
    return result


def by_month(qs: QuerySet[Case], period: Period) -> list[dict[str, Any]]:
    """Per month of receipt (Beijing time), every month of the period: matters received and concluded."""
    rows = (
        qs.order_by()
        .annotate(month=TruncMonth("received_at", tzinfo=STATUTE_TZ))
        .values("month")
        .annotate(received=matters(), concluded=matters(CONCLUDED))
    )
    found = {row["month"].astimezone(STATUTE_TZ).date(): row for row in rows}
    months = []
    month = period.since.replace(day=1)
    while month <= period.until:
        row = found.get(month, {})
        months.append(
            {"month": f"{month:%Y-%m}", "received": row.get("received", 0), "concluded": row.get("concluded", 0)}
        )
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def overdue_by_unit(qs: QuerySet[Case], today: dt.date) -> list[dict[str, Any]]:
    """Open matters overdue on `today` per responsible unit, most first."""
    rows = (
        annotate_dues(qs.filter(status__in=OPEN_STATUSES), today)
        .filter(due_state=DueState.OVERDUE)
        .order_by()
        .values("unit__code", "unit__name")
        .annotate(overdue=matters())
    )
    result = [
        {
            "unit_code": row["unit__code"] or "",
            "unit_name": row["unit__name"] or NO_UNIT_NAME,
            "overdue": row["overdue"],
        }
        for row in rows
    ]
    return sorted(result, key=lambda r: (-r["overdue"], r["unit_code"]))


def unit_performance(user, period: Period, area: Area = Area(), today: dt.date | None = None) -> list[dict[str, Any]]:
    """Per responsible unit, for the matters received in `period`: matters, concluded, on time, open
    overdue and due soon on `today`, and the on-time rate (same definition as `on_time_rate`).

    Ranked for the joint meeting's summons and naming (约谈通报): lowest on-time rate first, then
    most overdue, then unit code; units with nothing due yet come last with rank None.
    """
    today = today or local_today()
    rows = (
        with_on_time(period_cases(user, period, area), today)
        .order_by()
        .values("unit__code", "unit__name")
        .annotate(
            matters=matters(),
            concluded=matters(CONCLUDED),
            on_time=matters(ON_TIME),
            overdue_open=matters(OVERDUE_OPEN),
            due_soon_open=matters(DUE_SOON_OPEN),
        )
    )
    units = []
    for row in rows:
        due = row["concluded"] + row["overdue_open"]
        units.append(
            {
                "unit_code": row["unit__code"] or "",
                "unit_name": row["unit__name"] or NO_UNIT_NAME,
                "matters": row["matters"],
                "concluded": row["concluded"],
                "on_time": row["on_time"],
                "late": due - row["on_time"],
                "overdue_open": row["overdue_open"],
                "due_soon_open": row["due_soon_open"],
                "due": due,
                "on_time_rate": share(row["on_time"], due),
            }
        )
    units.sort(key=lambda u: (u["on_time_rate"] is None, u["on_time_rate"] or 0.0, -u["overdue_open"], u["unit_code"]))
    for rank, unit in enumerate(units, start=1):
        unit["rank"] = rank if unit["on_time_rate"] is not None else None
    return units


def share(numerator: int, denominator: int) -> float | None:
    """numerator ÷ denominator rounded to 6 places; None when there is nothing to divide by.

    Six places, so that a percentage shown to one decimal is rounded once, not twice
    (−27/47 = −0.574468 → −57.4 %, where rounding to 4 places first would show −57.5 %).
    """
    return None if not denominator else round(numerator / denominator, DECIMALS)


def change(this: int, last: int) -> float | None:
    """(this − last) ÷ last rounded to 6 places; None when last is 0."""
    return None if not last else round((this - last) / last, DECIMALS)


def _years_back(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _years_forward(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
