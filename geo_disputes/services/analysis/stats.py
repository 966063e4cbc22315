"""Every number of the dashboard, `/api/stats/` and the monthly joint-meeting report, in SQL.

One module counts, so the three places can never disagree. Each indicator is defined in
`DEFINITIONS` (each "中文 / English": one " / " between the halves, none inside either; served with
the API and shown beside each number on the dashboard in the page's language) and computed from
`visible_cases(user)`, narrowed to a period and an area:

* **Period** — Asia/Shanghai calendar days `since`..`until` (both inclusive) on the date a case
  was *received*. Without dates it is the twelve months ending today (today − 1 year + 1 day ..
  today); with only one date the other is taken one year away. "The same period a year earlier"
  shifts both ends back one calendar year (29 Feb → 28 Feb).
* **Area** — a township (9-digit code) and/or a village (12-digit code): the case's located codes.
* **Matter** (件) — a case group (one event, many petitioners) is one matter; a repeat petition
  (`repeat_of` set, status `repeat`, 条例 Art. 19 ¶3) is not a new matter. Matter counts are
  `COUNT(DISTINCT key)` with key = −group id for grouped cases, else the case id.
* **Concluded** (办结) — status resolved, served, evaluated or closed.
* **First tier** — the tier the intake's routing gave the matter (the first `route` event that set
  a tier); with no such event, the tier before the first event that changed it; else its tier.

The motto is measured three ways, none of them "the share at banner tier":
小事不出村 = of matters first handled at village level, the share concluded there; 大事不出镇 =
of concluded matters, the share concluded at village or township level, the mining court's share
given on its own; 矛盾不上交 = matters that went above the banner (`Case.above_banner`).

**Stages** (`stage_rows`): the on-time rate judges each statutory stage of a petition against its
own deadline (services.cases.clock), derived in SQL from the history (CaseEvent): acceptance (Art. 23:
15 days from each holder's own receipt, so a transfer starts a new stage for the receiving unit),
conclusion (Art. 34: 60 days from acceptance + extension) and a review decided inside the banner
(Arts. 35–36: 30 days from the request). An event's moment is the fact it set (accepted_at,
holder_received_at, replied_at, review_requested_at, review_decided_at, led_into_at), else the
event's own time. Mediation, the courts, arbitration, administrative and discipline procedures set
no such deadline and are not counted. Each stage belongs to the unit holding the matter during it:
the unit rankings count a unit's own late stages, never a matter handed to it already late.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import BigIntegerField, CharField, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models import Case as SqlCase
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, NullIf, TruncMonth
from django.utils.translation import gettext_noop

from geo_disputes.models import Case, CaseEvent, FollowUp, SupervisionAct, Unit
from geo_disputes.models.bounds import EARLIEST_YEAR, LATEST_YEAR
from geo_disputes.models.cases import (
    AboveBanner,
    Channel,
    LegalOutcome,
    MediationOutcome,
    Procedure,
    ResolutionMethod,
    Satisfaction,
    Status,
    Tier,
)
from geo_disputes.services.cases.access import ScopeError, scope_kind, visible_cases
from geo_disputes.services.cases.clock import (
    ACCEPTANCE_DAYS,
    AWAITING_ACCEPTANCE,
    CONCLUSION_DAYS,
    OPEN_STATUSES,
    REVIEW_DECISION_DAYS,
    STATUTE_TZ,
    DueState,
    annotate_dues,
    local_today,
)
from geo_disputes.services.ops.replica import read_cursor
from geo_disputes.services.sql import compiled

CONCLUDED_STATUSES = (Status.RESOLVED, Status.SERVED, Status.EVALUATED, Status.CLOSED)
MEDIATED_METHODS = (ResolutionMethod.MEDIATION, ResolutionMethod.JUDICIAL_CONFIRMATION)
AT_OR_BELOW_TOWNSHIP = (Tier.VILLAGE, Tier.TOWNSHIP)  # the mining court is counted on its own
ABOVE_BANNER_KINDS = tuple(value for value in AboveBanner.values if value)
STAGES = ("accept", "conclude", "review")
MAX_PERIOD_DAYS = 366 * 10
DECIMALS = 6
MIN_YEAR, MAX_YEAR = EARLIEST_YEAR, LATEST_YEAR  # the dates users may give (models.bounds)
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
    "by_procedure": (
        "按程序:人民调解、信访、诉讼、仲裁、行政程序、纪检监察各自的事项数(当前程序)。"
        " / Matters by their current procedure: mediation, petition, litigation, arbitration, administrative,"
        " discipline."
    ),
    "concluded_at_village_share": (
        "小事不出村:首先在村级办理的事项(分流时首个层级为村级)中,已办结或已离开村级的为分母,"
        "其中仍在村级办结的为分子;仍在村级办理中的不计入。先在村级、后转乡镇办结的计为未在村内化解。"
        " / Of the matters first handled at village level (the tier the intake's routing gave them) that are"
        " concluded or have left the village tier, the share concluded while still at village tier; open"
        " matters still at the village are not yet counted. A matter transferred to the township and concluded"
        " there counts against it."
    ),
    "concluded_at_or_below_township_share": (
        "大事不出镇:已办结事项中,在村级或乡镇级办结的占比。矿区法庭单独统计(见矿区法庭办结占比),不计入乡镇。"
        " / Of all concluded matters, the share concluded at village or township tier. The mining court is"
        " counted on its own (mining_court_concluded_share), not with the township."
    ),
    "mining_court_concluded_share": (
        "矿区法庭办结占比:已办结事项中,在矿区法庭办结的占比(与乡镇分开)。"
        " / Of all concluded matters, the share concluded at the mining court (kept apart from the township)."
    ),
    "above_banner": (
        "矛盾不上交:越出旗级的事项数(赴市、赴自治区、进京、上级交办,按 above_banner 记录)及其占全部事项的比例;"
        "越低越好。不是“处于旗级的事项占比”。"
        " / Matters that went above the banner (to the city, the region, Beijing, or assigned from above:"
        " Case.above_banner), counted and as a share of all matters; lower is better. Not the share at banner"
        " tier."
    ),
    "conclusion_rate": (
        "办结率:已办结事项 ÷ (全部事项 − 不予受理事项)。 / Concluded matters ÷ (all matters − matters not accepted)."
    ),
    "on_time_rate": (
        "按期率:信访事项每个法定环节按其自身期限判定——受理告知(本单位收到之日起15日,第23条):"
        "在期限内有受理、不予受理、转送或异议;办结(受理之日起60日+延期,第34条):在期限内出具处理意见;"
        "复查/复核(旗内,收到请求之日起30日,第35–36条):在期限内作出决定。按期环节数 ÷(按期+超期环节数);"
        "今日已过期限仍未完成的环节计为超期,未到期的不计;人民调解、诉讼、仲裁等无此期限的程序不计。"
        " / Each statutory stage of a petition against its own deadline: acceptance (15 days from the holder's own"
        " receipt, Art. 23) decided by an acceptance, rejection, transfer or objection on or before accept_by;"
        " conclusion (60 days from acceptance + extension, Art. 34) by a handling opinion on or before"
        " conclude_by; a review inside the banner (30 days from the request, Arts. 35–36) by a review decision"
        " on or before review_decide_by. Stages on time ÷ (on time + late); a stage still open past its"
        " deadline today is late, one not yet due is not counted; procedures with no such deadline"
        " (mediation, courts, arbitration) are not counted."
    ),
    "on_time_by_stage": (
        "分环节按期:受理告知、办结、复查/复核决定各自的按期与超期环节数(口径同按期率)。"
        " / Per stage (acceptance, conclusion, review decision): stages on time and late, as in on_time_rate."
    ),
    "follow_up": (
        "回访:已办结事项数、回访联系到的事项数、回访参与率与未联系到的事项数(见下两项)。"
        " / Concluded matters, those a follow-up reached, the participation rate and the unreachable (below)."
    ),
    "procedures": (
        "程序:调解协议、司法确认与矿区法庭各自的件数(见下三项)。"
        " / Mediation agreements, judicial confirmations and the mining court's own counts (below)."
    ),
    "overdue_by_unit": (
        "逾期未办结:统计期内登记、今日已过其持有单位自身法定期限而未办结的事项数(事项组计1件,重复信访不计)。"
        "联席会议月报第三节的“逾期”另计:不限登记日期的全部未办结事项,按月末(当月为今日)判断,口径同样是事项组计1件。"
        " / Open matters registered in the period and past the deadline binding their holder today (a group counts"
        " once, repeats not at all). The monthly report's section 3 counts every open matter whenever registered,"
        " judged at the month's end (today while the month runs), a group likewise once."
    ),
    "unit_ranking": (
        "责任单位排名:按单位自身超期事项数(该单位持有期间其自身期限届满而未完成;转来时已逾期的不计,"
        "转入单位自收到之日起重新计15日)加上对该单位的督办、约谈、通报、挂牌督办次数,由多到少。"
        " / Units ranked by their own late matters (the unit held the matter when its own deadline passed;"
        " a matter handed to it already late is not its fault — the receiver's 15 days start at its own"
        " receipt) plus the supervision acts against it (urge, summon, notice, listed), most first."
    ),
    "follow_up_participation_rate": (
        "回访参与率:至少有一次回访联系到信访人的已办结事项 ÷ 已办结事项。"
        " / Concluded matters with at least one follow-up that reached the petitioner ÷ concluded matters."
    ),
    "satisfaction": (
        "满意度:仅来自回访记录(非承办人所录),每件以最近一次回访答复计;分母为有答复的事项。"
        " / From follow-ups only (made by someone other than the handler), each matter by its latest answer;"
        " shares of the matters with an answer."
    ),
    "follow_up_unreachable": (
        "未联系到:已办结事项中,做过回访但每次都未联系到信访人的事项数。"
        " / Concluded matters followed up whose every follow-up failed to reach the petitioner."
    ),
    "mediation_agreements": (
        "调解协议:达成调解协议的事项数(人民调解法第28–29条)。"
        " / Matters ending in a written mediation agreement (People's Mediation Law Arts. 28–29)."
    ),
    "judicial_confirmations": (
        "司法确认:调解协议经法院司法确认裁定的事项数(人民调解法第33条)。"
        " / Matters whose mediation agreement a court confirmed (Art. 33)."
    ),
    "mining_court": (
        "矿区法庭:层级为矿区法庭的事项数,其中调解结案(含诉前调解、调解协议、司法确认)与判决结案的件数。"
        " / Matters at the mining court, and of them those ended by mediation (pre-litigation mediation,"
        " agreement, judicial confirmation) and by judgment."
    ),
    "agent_handled": "代办事项:渠道为网格代办(信访代办员)的事项数。 / Matters with channel grid_agent.",
    "agent_concluded": ("代办办结:其中已办结(已化解、已送达、已评事、已办结)的事项数。 / Of those, matters concluded."),
    "mining_court_mediated": (
        "矿区法庭调解:层级为矿区法庭、以调解结案(含诉前调解、调解协议、司法确认)的事项数。"
        " / Matters at the mining court ended by mediation (incl. pre-litigation mediation, judicial confirmation)."
    ),
    "litigation_yoy_change": (
        "诉讼同比:矿区法庭事项中判决结案的事项数,统计期与上年同期比较:(本期 − 上年同期)÷ 上年同期;"
        "上年同期为0时为空。 / Mining-court matters ended by judgment, this period vs the same period a"
        " year earlier: (this − last) ÷ last; null when last = 0."
    ),
    "township_complex_resolved": (
        "乡镇化解事项:层级为乡镇级且已办结的事项数(事项组计1件)。"
        " / Matters at township tier that are concluded (a case group counts once)."
    ),
    "repeat_rate": (
        "重复信访率:重复信访件次 ÷ 全部信访件次(统计期内登记的每一件,含事项组成员与重复信访)。"
        " / Repeat petitions ÷ all petitions received in the period"
        " (every case row, group members and repeats included)."
    ),
}

LABELS: dict[str, str] = {
    "period": gettext_noop("统计期"),
    "cases_total": gettext_noop("事项总数"),
    "by_tier": gettext_noop("按层级"),
    "by_status": gettext_noop("按状态"),
    "by_month": gettext_noop("按月"),
    "by_procedure": gettext_noop("按程序"),
    "concluded": gettext_noop("已办结"),
    "concluded_at_village_share": gettext_noop("小事不出村"),
    "concluded_at_or_below_township_share": gettext_noop("大事不出镇"),
    "mining_court_concluded_share": gettext_noop("矿区法庭办结占比"),
    "above_banner": gettext_noop("矛盾不上交(越出旗级)"),
    "conclusion_rate": gettext_noop("办结率"),
    "on_time_rate": gettext_noop("按期率(分环节)"),
    "overdue_open": gettext_noop("逾期未办结"),
    "overdue_by_unit": gettext_noop("逾期未办结(按单位)"),
    "unit_ranking": gettext_noop("责任单位排名"),
    "on_time_by_stage": gettext_noop("分环节按期"),
    "follow_up": gettext_noop("回访"),
    "procedures": gettext_noop("程序"),
    "follow_up_participation_rate": gettext_noop("回访参与率"),
    "follow_up_unreachable": gettext_noop("回访未联系到"),
    "satisfaction": gettext_noop("满意度(回访)"),
    "mediation_agreements": gettext_noop("调解协议"),
    "judicial_confirmations": gettext_noop("司法确认"),
    "mining_court": gettext_noop("矿区法庭"),
    "agent_handled": gettext_noop("代办事项"),
    "agent_concluded": gettext_noop("代办办结"),
    "mining_court_mediated": gettext_noop("矿区法庭调解"),
    "litigation_yoy_change": gettext_noop("诉讼同比"),
    "township_complex_resolved": gettext_noop("乡镇化解事项"),
    "repeat_rate": gettext_noop("重复信访率"),
}
ABOVE_BANNER_LABELS = {value: label for value, label in AboveBanner.choices if value}
# No marker in the database says the demo is loaded, so the note is stated conditionally, everywhere.
SYNTHETIC_NOTE = (
    "若为演示库,数据为合成数据:演示数据为按真实程序模拟生成的合成数据,不是任何旗的真实统计。"
    " / On the demo database the figures are synthetic: generated by simulating the real procedures,"
    " not any banner's real statistics."
)
STAGE_LABELS = {
    "accept": gettext_noop("受理告知"),
    "conclude": gettext_noop("办结"),
    "review": gettext_noop("复查/复核决定"),
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


CONCLUDED = Q(status__in=CONCLUDED_STATUSES)
OVERDUE_OPEN = Q(status__in=OPEN_STATUSES, due_state=DueState.OVERDUE)
DUE_SOON_OPEN = Q(status__in=OPEN_STATUSES, due_state=DueState.DUE_SOON)
AT_MINING_COURT = Q(tier=Tier.MINING_COURT)
MINING_COURT_MEDIATED = AT_MINING_COURT & (
    Q(legal_outcome=LegalOutcome.MEDIATED) | Q(resolution_method__in=MEDIATED_METHODS)
)
MINING_COURT_JUDGED = AT_MINING_COURT & (
    Q(legal_outcome=LegalOutcome.JUDGED) | Q(resolution_method=ResolutionMethod.LITIGATION)
)
FIRST_AT_VILLAGE = Q(first_tier=Tier.VILLAGE)
VILLAGE_DECIDED = FIRST_AT_VILLAGE & (CONCLUDED | ~Q(tier=Tier.VILLAGE))
ABOVE = ~Q(above_banner="")
REACHED = Q(reached=True)
ANSWERED = ~Q(answer="") & Q(answer__isnull=False)


def with_first_tier(qs: QuerySet[Case]) -> QuerySet[Case]:
    """`qs` with `first_tier`: the tier the intake's routing gave the case (see the module docstring)."""
    events = CaseEvent.objects.filter(case=OuterRef("pk"), changes__has_key="tier").order_by("id")
    routed = events.filter(action="route").annotate(t=KT("changes__tier__1")).values("t")[:1]
    before_first_change = events.annotate(t=KT("changes__tier__0")).values("t")[:1]
    return qs.annotate(
        first_tier=Coalesce(
            NullIf(Subquery(routed), Value("")),
            NullIf(Subquery(before_first_change), Value("")),
            F("tier"),
            output_field=CharField(),
        )
    )


def with_follow_ups(qs: QuerySet[Case]) -> QuerySet[Case]:
    """`qs` with `followed` (any follow-up), `reached` (one reached the petitioner) and `answer` (the latest answer)."""
    follow_ups = FollowUp.objects.filter(case=OuterRef("pk"))
    latest = follow_ups.exclude(satisfaction="").order_by("-at", "-id").values("satisfaction")[:1]
    return qs.annotate(
        followed=Exists(follow_ups),
        reached=Exists(follow_ups.filter(unreachable=False)),
        answer=Subquery(latest),
    )


def indicators(user, period: Period, area: Area = Area(), today: dt.date | None = None) -> dict[str, Any]:
    """Every indicator of `DEFINITIONS` for the cases `user` sees in `area` received in `period`.

    Shares and rates are fractions (0..1, rounded to 6 places) or None when the denominator is 0;
    `counts` holds every numerator and denominator so each can be recomputed.
    """
    today = today or local_today()
    base = period_cases(user, period, area)
    annotated = with_follow_ups(with_first_tier(annotate_dues(base, today)))
    totals = annotated.aggregate(
        cases_total=matters(),
        concluded=matters(CONCLUDED),
        not_accepted=matters(Q(status=Status.NOT_ACCEPTED)),
        first_at_village=matters(FIRST_AT_VILLAGE),
        village_decided=matters(VILLAGE_DECIDED),
        concluded_at_village=matters(VILLAGE_DECIDED & CONCLUDED & Q(tier=Tier.VILLAGE)),
        **{f"concluded_{tier}": matters(CONCLUDED & Q(tier=tier)) for tier in Tier.values},
        went_above=matters(ABOVE),
        **{f"above_kind_{kind}": matters(Q(above_banner=kind)) for kind in ABOVE_BANNER_KINDS},
        overdue_open=matters(OVERDUE_OPEN),
        due_soon_open=matters(DUE_SOON_OPEN),
        follow_up_reached=matters(CONCLUDED & REACHED),
        follow_up_unreachable=matters(CONCLUDED & Q(followed=True, reached=False)),
        answered=matters(CONCLUDED & ANSWERED),
        **{f"answer_{value}": matters(CONCLUDED & Q(answer=value)) for value in Satisfaction.values},
        mediation_agreements=matters(Q(mediation_outcome=MediationOutcome.AGREEMENT)),
        judicial_confirmations=matters(Q(confirmation_ruled_at__isnull=False)),
        mining_court_matters=matters(AT_MINING_COURT),
        mining_court_mediated=matters(MINING_COURT_MEDIATED),
        mining_court_judged=matters(MINING_COURT_JUDGED),
        agent_handled=matters(Q(channel=Channel.GRID_AGENT)),
        agent_concluded=matters(Q(channel=Channel.GRID_AGENT) & CONCLUDED),
        township_complex_resolved=matters(CONCLUDED & Q(tier=Tier.TOWNSHIP)),
        petitions=Count("id"),
        repeat_petitions=Count("id", filter=Q(repeat_of__isnull=False)),
    )
    concluded = totals["concluded"]
    by_tier_concluded = {tier: totals[f"concluded_{tier}"] for tier in Tier.values}
    at_or_below = by_tier_concluded[Tier.VILLAGE] + by_tier_concluded[Tier.TOWNSHIP]
    stages = stage_totals(base, today)
    on_time = sum(stages[stage]["on_time"] for stage in STAGES)
    late = sum(stages[stage]["late"] for stage in STAGES)
    litigation = litigation_counts(user, period, area)
    answered = totals["answered"]
    satisfaction = {
        "rated": answered,
        "counts": {value: totals[f"answer_{value}"] for value in Satisfaction.values},
        "shares": {value: share(totals[f"answer_{value}"], answered) for value in Satisfaction.values},
    }
    above = {
        "total": totals["went_above"],
        "by_kind": {kind: totals[f"above_kind_{kind}"] for kind in ABOVE_BANNER_KINDS},
        "share": share(totals["went_above"], totals["cases_total"]),
    }
    counts = {
        key: value
        for key, value in totals.items()
        if not key.startswith(("answer_", "above_kind_", "concluded_")) or key == "concluded_at_village"
    }
    counts["concluded_by_tier"] = by_tier_concluded
    counts["concluded_at_or_below_township"] = at_or_below
    counts["accepted_or_pending"] = totals["cases_total"] - totals["not_accepted"]
    counts["stages_on_time"] = on_time
    counts["stages_late"] = late
    counts["stages_due"] = on_time + late
    counts["litigation_this_period"] = litigation["this_period"]
    counts["litigation_year_earlier"] = litigation["year_earlier"]
    return {
        "period": period.as_dict(),
        "area": {"township": area.township, "village": area.village},
        "today": today,
        "cases_total": totals["cases_total"],
        "concluded": concluded,
        "by_tier": by_field(base, "tier", [*Tier.values, UNROUTED]),
        "by_status": by_field(base, "status", Status.values),
        "by_month": by_month(base, period),
        "by_procedure": by_field(base, "procedure", Procedure.values),
        "concluded_at_village_share": share(totals["concluded_at_village"], totals["village_decided"]),
        "concluded_at_or_below_township_share": share(at_or_below, concluded),
        "mining_court_concluded_share": share(by_tier_concluded[Tier.MINING_COURT], concluded),
        "above_banner": above,
        "conclusion_rate": share(concluded, counts["accepted_or_pending"]),
        "on_time_rate": share(on_time, on_time + late),
        "on_time_by_stage": {
            stage: {**row, "rate": share(row["on_time"], row["on_time"] + row["late"])} for stage, row in stages.items()
        },
        "overdue_open": totals["overdue_open"],
        "overdue_by_unit": overdue_by_unit(base, today),
        "follow_up": {
            "concluded": concluded,
            "reached": totals["follow_up_reached"],
            "participation_rate": share(totals["follow_up_reached"], concluded),
            "unreachable": totals["follow_up_unreachable"],
        },
        "follow_up_participation_rate": share(totals["follow_up_reached"], concluded),
        "satisfaction": satisfaction,
        "procedures": {
            "mediation_agreements": totals["mediation_agreements"],
            "judicial_confirmations": totals["judicial_confirmations"],
            "mining_court": {
                "matters": totals["mining_court_matters"],
                "mediated": totals["mining_court_mediated"],
                "judged": totals["mining_court_judged"],
            },
        },
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
    """Mining-court matters ended by judgment in `period` and in the same period a year earlier."""
    this_start, this_end = period.bounds()
    last_start, last_end = period.year_earlier().bounds()
    this_window = Q(received_at__gte=this_start, received_at__lt=this_end)
    last_window = Q(received_at__gte=last_start, received_at__lt=last_end)
    row = (
        area_cases(user, area)
        .filter(this_window | last_window)
        .aggregate(
            this_period=matters(MINING_COURT_JUDGED & this_window),
            year_earlier=matters(MINING_COURT_JUDGED & last_window),
        )
    )
    return {"this_period": row["this_period"], "year_earlier": row["year_earlier"]}


# Stages ------------------------------------------------------------------------------------------
# One row per statutory stage of a petition (see the module docstring). The moment of an event is the
# fact it set, so back-dated steps (replays, imports, tests) are judged on their own dates.
_MOMENT = """COALESCE(
    (e.changes->'accepted_at'->>1)::timestamptz,
    (e.changes->'holder_received_at'->>1)::timestamptz,
    (e.changes->'review_requested_at'->>1)::timestamptz,
    (e.changes->'review_decided_at'->>1)::timestamptz,
    (e.changes->'replied_at'->>1)::timestamptz,
    (e.changes->'led_into_at'->>1)::timestamptz,
    e.at)"""
_LOCAL = "(({}) AT TIME ZONE 'Asia/Shanghai')::date"
_HANDED = "ev.changes->'holder_received_at'->>1 IS NOT NULL"
_UNIT_AFTER = """COALESCE(
    (SELECT NULLIF(u.changes->'unit'->>1, '') FROM ev u
      WHERE u.case_id = {case}.case_id AND u.id <= {event} AND u.changes ? 'unit' ORDER BY u.id DESC LIMIT 1),
    (SELECT NULLIF(u.changes->'unit'->>0, '') FROM ev u
      WHERE u.case_id = {case}.case_id AND u.changes ? 'unit' ORDER BY u.id LIMIT 1),
    (SELECT b.unit_code FROM base b WHERE b.id = {case}.case_id))"""

STAGES_SQL = f"""
WITH base AS (
    SELECT c.id, c.received_at, c.procedure, c.petition_route, c.status, c.accepted_at, c.replied_at,
           c.extension_days, CASE WHEN c.group_id IS NOT NULL THEN -c.group_id ELSE c.id END AS matter,
           unit.code AS unit_code
    FROM geo_disputes_case c LEFT JOIN geo_disputes_unit unit ON unit.id = c.unit_id
    WHERE c.repeat_of_id IS NULL AND c.id IN ({{base}})
),
ev AS (
    SELECT e.id, e.case_id, e.action, e.changes, {_MOMENT} AS moment
    FROM geo_disputes_caseevent e WHERE e.case_id IN (SELECT id FROM base)
),
petition AS (  -- when the matter became a petition: at intake, or when a failed mediation was converted
    SELECT b.id AS case_id, b.matter, b.received_at, b.status, b.accepted_at, b.replied_at, b.extension_days,
        CASE
            WHEN intake.procedure IS NOT NULL AND intake.procedure = 'petition' THEN b.received_at
            WHEN converted.moment IS NOT NULL THEN converted.moment
            WHEN intake.procedure IS NULL AND (b.procedure = 'petition' OR b.petition_route <> '') THEN b.received_at
        END AS since
    FROM base b
    LEFT JOIN LATERAL (SELECT ev.changes->>'procedure' AS procedure FROM ev
                       WHERE ev.case_id = b.id AND ev.action = 'procedure' ORDER BY ev.id LIMIT 1) intake ON true
    LEFT JOIN LATERAL (SELECT ev.moment FROM ev
                       WHERE ev.case_id = b.id AND ev.action = 'convert' ORDER BY ev.id LIMIT 1) converted ON true
),
receipts AS (  -- each holder's own receipt while a petition: the intake, and every hand-over
    SELECT p.case_id, 0 AS event_id, COALESCE(routed.id, 0) AS unit_event, p.received_at AS moment FROM petition p
    LEFT JOIN LATERAL (SELECT ev.id FROM ev WHERE ev.case_id = p.case_id AND ev.action = 'route'
                       AND ev.changes ? 'tier' ORDER BY ev.id LIMIT 1) routed ON true  -- the intake's routing
    WHERE p.since = p.received_at
    UNION ALL
    SELECT ev.case_id, ev.id, ev.id, ev.moment FROM ev JOIN petition p ON p.case_id = ev.case_id
    WHERE {_HANDED} AND p.since IS NOT NULL AND ev.moment >= p.since
),
accept_stages AS (
    SELECT r.case_id, 'accept' AS stage, {_UNIT_AFTER.format(case="r", event="r.unit_event")} AS unit_code,
        gd_roll_working({_LOCAL.format("r.moment")} + {ACCEPTANCE_DAYS}) AS deadline,
        COALESCE(decided.moment, CASE WHEN NOT EXISTS (SELECT 1 FROM receipts later
            WHERE later.case_id = r.case_id AND later.event_id > r.event_id) THEN p.accepted_at END) AS done_at,
        decided.id IS NULL AND p.status IN ({{awaiting}}) AS still_open,
        true AS done_counts
    FROM receipts r JOIN petition p ON p.case_id = r.case_id
    LEFT JOIN LATERAL (SELECT ev.id, ev.moment FROM ev WHERE ev.case_id = r.case_id AND ev.id > r.event_id
                       AND (ev.action IN ('accept', 'reject', 'transfer', 'object') OR {_HANDED})
                       ORDER BY ev.id LIMIT 1) decided ON true
),
acceptances AS (
    SELECT ev.case_id, ev.id AS event_id, ev.moment FROM ev JOIN petition p ON p.case_id = ev.case_id
    WHERE ev.action = 'accept' AND p.since IS NOT NULL AND ev.moment >= p.since
    UNION ALL  -- accepted with no accept event on record (imported or legacy rows)
    SELECT p.case_id, 0, p.accepted_at FROM petition p
    WHERE p.since IS NOT NULL AND p.accepted_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM ev WHERE ev.case_id = p.case_id AND ev.action = 'accept')
),
conclude_stages AS (
    SELECT a.case_id, 'conclude' AS stage, {_UNIT_AFTER.format(case="a", event="a.event_id")} AS unit_code,
        gd_roll_working({_LOCAL.format("a.moment")} + {CONCLUSION_DAYS} + p.extension_days) AS deadline,
        COALESCE(ended.moment, CASE WHEN ended.id IS NULL AND NOT EXISTS (SELECT 1 FROM acceptances later
            WHERE later.case_id = a.case_id AND later.event_id > a.event_id)
            AND NOT EXISTS (SELECT 1 FROM ev WHERE ev.case_id = a.case_id AND ev.action = 'opinion')
            THEN p.replied_at END) AS done_at,
        ended.id IS NULL AND p.replied_at IS NULL AND p.status IN ({{open}}) AS still_open,
        ended.id IS NULL OR ended.action = 'opinion' AS done_counts
    FROM acceptances a JOIN petition p ON p.case_id = a.case_id
    LEFT JOIN LATERAL (SELECT ev.id, ev.action, ev.moment FROM ev WHERE ev.case_id = a.case_id AND ev.id > a.event_id
                       AND (ev.action = 'opinion' OR ev.changes ? 'led_into_at' OR {_HANDED})
                       ORDER BY ev.id LIMIT 1) ended ON true
),
review_stages AS (
    SELECT r.case_id, 'review' AS stage,
        COALESCE(NULLIF(r.changes->'unit'->>1, ''), {_UNIT_AFTER.format(case="r", event="r.id")}) AS unit_code,
        gd_roll_working({_LOCAL.format("r.moment")} + {REVIEW_DECISION_DAYS}) AS deadline,
        decided.moment AS done_at,
        decided.id IS NULL AND p.status IN ({{open}}) AS still_open,
        true AS done_counts
    FROM ev r JOIN petition p ON p.case_id = r.case_id
    LEFT JOIN LATERAL (SELECT ev.id, ev.moment FROM ev WHERE ev.case_id = r.case_id AND ev.id > r.id
                       AND ev.action = 'review_decision' ORDER BY ev.id LIMIT 1) decided ON true
    WHERE r.action = 'request_review' AND r.changes ? 'tier'  -- decided inside the banner
),
stages AS (
    SELECT s.*, {_LOCAL.format("s.done_at")} AS done_on FROM (
        SELECT * FROM accept_stages UNION ALL SELECT * FROM conclude_stages UNION ALL SELECT * FROM review_stages
    ) s
),
judged AS (
    SELECT p.matter, s.case_id, s.stage, s.unit_code, s.deadline, s.done_on,
        CASE
            WHEN s.done_on IS NOT NULL AND s.done_on > s.deadline THEN 'late'
            WHEN s.done_on IS NOT NULL AND s.done_counts THEN 'on_time'
            WHEN s.done_on IS NULL AND s.still_open AND %s > s.deadline THEN 'late'
        END AS verdict
    FROM stages s JOIN petition p ON p.case_id = s.case_id
)
SELECT DISTINCT matter, stage, unit_code, deadline, done_on, verdict FROM judged WHERE verdict IS NOT NULL
"""  # noqa: S608 (constants and fixed status codes only; values are parameters)


def _quoted(values) -> str:
    return ", ".join(f"'{value}'" for value in sorted(values))  # status codes: fixed ASCII words


def stage_rows(qs: QuerySet[Case], today: dt.date) -> list[dict[str, Any]]:
    """The judged stages of the petitions among `qs` as of `today`: matter, stage, unit_code, deadline,
    done_on (None while open) and verdict ("on_time" or "late"); stages not yet due are left out.
    A case group's members share their stages (one row per matter)."""
    sql = compiled(qs.order_by().values("id"))
    if sql is None:
        return []
    base_sql, base_params = sql
    statement = STAGES_SQL.replace("{base}", base_sql)
    statement = statement.replace("{awaiting}", _quoted(AWAITING_ACCEPTANCE)).replace("{open}", _quoted(OPEN_STATUSES))
    with read_cursor() as cursor:
        cursor.execute(statement, [*base_params, today])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def stage_totals(qs: QuerySet[Case], today: dt.date) -> dict[str, dict[str, int]]:
    """Stages on time and late, per kind of stage."""
    totals = {stage: {"on_time": 0, "late": 0} for stage in STAGES}
    for row in stage_rows(qs, today):
        totals[row["stage"]][row["verdict"]] += 1
    return totals


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
    """Open matters past the deadline binding their current holder on `today`, per unit, most first."""
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
    """Per unit, for the matters received in `period`: its own stages on time and late (the stages it held,
    see `stage_rows`), its own late matters, the supervision acts against it, and the open matters it holds
    overdue or due soon on `today`.

    Ranked for the joint meeting's summons and naming (约谈通报): most own late matters + supervision
    acts first, then the lower on-time rate, then unit code; a unit with nothing due and no act has rank None.
    """
    today = today or local_today()
    base = period_cases(user, period, area).filter(repeat_of__isnull=True)
    units: dict[str, dict[str, Any]] = {}

    def unit(code: str) -> dict[str, Any]:
        return units.setdefault(
            code or "",
            {
                "unit_code": code or "",
                "on_time": 0,
                "late": 0,
                "own_late_matters": set(),
                "supervision_acts": 0,
                "supervision_by_kind": {kind: 0 for kind in SupervisionAct.Kind.values},
                "overdue_open": 0,
                "due_soon_open": 0,
            },
        )

    for row in stage_rows(base, today):
        entry = unit(row["unit_code"])
        entry[row["verdict"]] += 1
        if row["verdict"] == "late":
            entry["own_late_matters"].add(row["matter"])
    acts = (
        SupervisionAct.objects.filter(case__in=base.values("id"))
        .order_by()
        .values("unit__code", "kind")
        .annotate(n=Count("id"))
    )
    for row in acts:
        entry = unit(row["unit__code"])
        entry["supervision_acts"] += row["n"]
        entry["supervision_by_kind"][row["kind"]] = entry["supervision_by_kind"].get(row["kind"], 0) + row["n"]
    holding = (
        annotate_dues(base.filter(status__in=OPEN_STATUSES), today)
        .order_by()
        .values("unit__code")
        .annotate(
            overdue_open=matters(Q(due_state=DueState.OVERDUE)), due_soon_open=matters(Q(due_state=DueState.DUE_SOON))
        )
    )
    for row in holding:
        if row["overdue_open"] or row["due_soon_open"]:
            entry = unit(row["unit__code"])
            entry["overdue_open"] += row["overdue_open"]
            entry["due_soon_open"] += row["due_soon_open"]
    names = dict(Unit.objects.filter(code__in=[code for code in units if code]).values_list("code", "name"))
    result = []
    for code, entry in units.items():
        own_late = len(entry.pop("own_late_matters"))
        due = entry["on_time"] + entry["late"]
        result.append(
            {
                **entry,
                "unit_name": names.get(code) or NO_UNIT_NAME,
                "own_late": own_late,
                "due": due,
                "on_time_rate": share(entry["on_time"], due),
                "score": own_late + entry["supervision_acts"],
            }
        )
    result.sort(
        key=lambda u: (
            -u["score"],
            u["on_time_rate"] is None,
            u["on_time_rate"] or 0.0,
            -u["overdue_open"],
            u["unit_code"],
        )
    )
    for rank, entry in enumerate(result, start=1):
        entry["rank"] = rank if entry["score"] or entry["due"] else None
    return result


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


def period_presets(today: dt.date | None = None) -> list[tuple[str, dt.date, dt.date]]:
    """The dashboard's one-click periods (this month, last month, this quarter, this year), each up to today; the
    labels are marked for the catalogue and translated where shown."""
    today = today or local_today()
    month = today.replace(day=1)
    last_month_end = month - dt.timedelta(days=1)
    quarter = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    return [
        (gettext_noop("本月"), month, today),
        (gettext_noop("上月"), last_month_end.replace(day=1), last_month_end),
        (gettext_noop("本季度"), quarter, today),
        (gettext_noop("本年"), today.replace(month=1, day=1), today),
    ]
