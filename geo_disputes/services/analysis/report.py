"""The monthly report for the banner joint meeting (信访工作联席会议, 闭环议事), as data, CSV and XLSX.

For month M (`YYYY-MM`) the report is judged on `as_of` = the last day of M, or today while M is
the current month. Case states are the current ones (the database keeps the state, and the
history only as events), so the report is meant to be produced at, or just before, the meeting.

1. 概况 — the month's indicators from services.analysis.stats (cases received in M).
2. 重点事项 — open key matters: banner tier, legacy (历史遗留) or a case group; a group is one line.
3. 逾期和临期 — open matters past their next statutory deadline on `as_of`, or due within
   clock.DUE_SOON_DAYS, per responsible unit, with the deadline (services.cases.clock).
4. 责任单位排名 — units ranked (stats.unit_performance) over the matters received in the twelve
   months ending on `as_of`: a unit's OWN late matters (it held the matter when its own deadline
   passed; a matter handed to it already late starts its own 15 days and is not its fault) plus the
   supervision acts against it, most first: the basis for summons and naming (约谈通报).

No petitioner data appears anywhere: no names, phones, ID numbers, nor the free-text description,
outcome or plan (which may name people). The responsible person is staff, named as the meeting needs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber, TruncDate
from django.utils import translation
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from geo_disputes.models import Case, Township, Village
from geo_disputes.models.cases import Category, Status, Tier
from geo_disputes.services.analysis import stats
from geo_disputes.services.analysis.overdue_scope import overdue_definition
from geo_disputes.services.analysis.spreadsheet import safe_row
from geo_disputes.services.cases.access import text_as_seen, visible_cases
from geo_disputes.services.cases.clock import OPEN_STATUSES, STATUTE_TZ, DueState, annotate_dues, local_today
from geo_disputes.services.ops.menus import banner_label

CSV_BOM = "\ufeff"
MONTH_PATTERN = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits: \d also matches "１２"
TITLE = "信访工作联席会议月报"  # after the banner's name (report_banner_name)
HOME_BANNER_NAME = "准格尔旗"

DEADLINE_KIND_LABELS = {
    "agenda_deadline": "联席会议议定期限",
    "accept_by": "受理告知(第23条,15日)",
    "conclude_by": "办结(第34条,60日+延期)",
    "review_decide_by": "复查决定(第35条,30日)",
}
DUE_STATE_LABELS = {
    DueState.OVERDUE: "逾期",
    DueState.DUE_SOON: "临期",
    DueState.ON_TIME: "未到期",
    DueState.DONE: "—",
    DueState.NOT_TIMED: "无法定期限",
}
SUPERVISION_LABELS = {"red": "红色(挂牌督办)", "yellow": "黄色(预警)", "": ""}

CASE_COLUMNS: list[tuple[str, str]] = [
    ("reference", "编号"),
    ("key_reason", "重点类型"),
    ("group_title", "事项组"),
    ("members", "组内件数"),
    ("category", "类别"),
    ("tier", "层级"),
    ("township", "乡镇(街道)"),
    ("village", "村(社区)"),
    ("unit", "责任单位"),
    ("person", "责任人"),
    ("status", "状态"),
    ("received", "登记日期"),
    ("deadline_kind", "期限类型"),
    ("deadline", "期限"),
    ("days_left", "剩余天数(负数为逾期)"),
    ("due_state", "期限状态"),
    ("supervision", "督办"),
    ("agenda_date", "联席会议日期"),
    ("agenda_deadline", "议定期限"),
]
RANKING_COLUMNS: list[tuple[str, str]] = [
    ("rank", "排名(问题由多到少)"),
    ("unit_name", "责任单位"),
    ("unit_code", "单位代码"),
    ("score", "计分(自身超期事项+督办次数)"),
    ("own_late", "自身超期事项"),
    ("supervision_acts", "督办/约谈/通报/挂牌次数"),
    ("due", "已到期环节数"),
    ("on_time", "按期环节"),
    ("late", "超期环节"),
    ("on_time_rate", "按期率"),
    ("overdue_open", "现持有逾期未办结"),
    ("due_soon_open", "现持有临期未办结"),
]
PERCENT_COLUMNS = frozenset({"on_time_rate"})


class ReportInputError(ValueError):
    """A month that cannot be reported; `field` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class MonthlyReport:
    month: dt.date  # first day of the month
    period: stats.Period  # the month
    as_of: dt.date
    ranking_period: stats.Period
    summary: dict[str, Any]  # stats.indicators for the month
    key_cases: list[dict[str, Any]]
    due_cases: list[dict[str, Any]]  # by unit; in each, overdue before due soon, earliest deadline first
    ranking: list[dict[str, Any]]  # stats.unit_performance rows, plus on_time_rate_text
    today: dt.date | None = None  # the day the report was made (as_of is the month's end before it)
    banner_name: str = HOME_BANNER_NAME  # whose report: the user's banner, or 全市 <code> for a city-wide role

    @property
    def title(self) -> str:
        return f"{self.banner_name}{TITLE}"

    @property
    def overdue_definition(self) -> str:
        """What section 3's overdue count counts: every open matter, whenever registered, on `as_of`."""
        return overdue_definition(self.as_of, self.today or self.as_of)

    @property
    def summary_overdue_definition(self) -> str:
        """What the summary's 逾期未办结 counts: the month's registrations only, on `as_of` (as the dashboard)."""
        return overdue_definition(self.as_of, self.today or self.as_of, self.period.since, self.period.until)

    @property
    def ranking_definition(self) -> str:
        return stats.DEFINITIONS["unit_ranking"]

    @property
    def synthetic_note(self) -> str:
        return stats.SYNTHETIC_NOTE

    @property
    def label(self) -> str:
        return f"{self.month:%Y年%m月}"

    @property
    def overdue_count(self) -> int:
        return sum(1 for row in self.due_cases if row["due_state_code"] == DueState.OVERDUE)

    @property
    def due_soon_count(self) -> int:
        return sum(1 for row in self.due_cases if row["due_state_code"] == DueState.DUE_SOON)


def parse_month(raw: str | None, today: dt.date | None = None) -> dt.date:
    """`YYYY-MM` → the month's first day; the current month when blank; no month after the current one."""
    today = today or local_today()
    raw = (raw or "").strip()
    if not raw:
        return today.replace(day=1)
    match = MONTH_PATTERN.fullmatch(raw)
    if not match or not 1 <= int(match[2]) <= 12 or not stats.MIN_YEAR <= int(match[1]) <= stats.MAX_YEAR:
        raise ReportInputError("month", f"月份格式应为 YYYY-MM / month must be YYYY-MM: {raw!r}")
    month = dt.date(int(match[1]), int(match[2]), 1)
    if month > today.replace(day=1):
        raise ReportInputError("month", f"{raw} 尚未开始 / month {raw} has not begun")
    return month


def monthly_report(user, month: dt.date, today: dt.date | None = None) -> MonthlyReport:
    """The report of `month` (its first day) over the cases `user` may see."""
    today = today or local_today()
    month_end = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    as_of = min(month_end, today)
    period = stats.Period(month, month_end)
    ranking_period = stats.resolve_period(None, as_of, today=as_of)
    open_matters = annotate_dues(visible_cases(user).filter(status__in=OPEN_STATUSES, repeat_of__isnull=True), as_of)
    key = open_matters.filter(Q(tier=Tier.BANNER) | Q(legacy=True) | Q(group__isnull=False))
    due = open_matters.filter(due_state__in=[DueState.OVERDUE, DueState.DUE_SOON])
    return MonthlyReport(
        month=month,
        period=period,
        as_of=as_of,
        ranking_period=ranking_period,
        summary=stats.indicators(user, period, today=as_of),
        key_cases=case_rows(key, as_of, order=("next_due", "received_at", "id"), user=user),
        due_cases=case_rows(due, as_of, order=("unit_name", "-due_state", "next_due", "received_at", "id"), user=user),
        ranking=[
            {**unit, "on_time_rate_text": percent(unit["on_time_rate"])}
            for unit in stats.unit_performance(user, ranking_period, today=as_of)
        ],
        today=today,
        banner_name=report_banner_name(user),
    )


def report_banner_name(user) -> str:
    """Whose report it is: the page header's banner label (menus.banner_label, in the report's Chinese), else the
    home banner."""
    with translation.override("zh-hans"):
        return str(banner_label(user)) or HOME_BANNER_NAME


def case_rows(qs: QuerySet[Case], as_of: dt.date, order: tuple[str, ...], user) -> list[dict[str, Any]]:
    """One line per matter with display values; the responsible person only where `user` handles the case
    (access.text_as_seen: not for planners).

    A case group's most urgent member (earliest next deadline, then the first registered) stands for the group, so
    a group counts as overdue when any member is — as the dashboard counts it (stats.OVERDUE_OPEN over matters)."""
    key = stats.matter_key()
    township = Township.objects.in_force(as_of).filter(code=OuterRef("township_code")).values("name")[:1]
    village = Village.objects.in_force(as_of).filter(code=OuterRef("village_code")).values("name")[:1]
    rows = (
        qs.annotate(
            nth=Window(
                RowNumber(),
                partition_by=[key],
                order_by=[F("next_due").asc(nulls_last=True), F("received_at").asc(), F("id").asc()],
            ),
            members=Window(Count("id"), partition_by=[key]),
            township_name=Subquery(township),
            village_name=Subquery(village),
            unit_name=F("unit__name"),
            received_on=TruncDate("received_at", tzinfo=STATUTE_TZ),
            person_shown=text_as_seen(user, "responsible_person"),
        )
        .filter(nth=1)
        .order_by(*order)
        .values(
            "reference",
            "legacy",
            "group__title",
            "members",
            "category",
            "tier",
            "township_code",
            "township_name",
            "village_code",
            "village_name",
            "unit_name",
            "person_shown",
            "status",
            "received_on",
            "next_due_kind",
            "next_due",
            "days_left",
            "due_state",
            "supervision",
            "agenda_date",
            "agenda_deadline",
        )
    )
    return [_display(row) for row in rows]


_CATEGORY = dict(Category.choices)
_TIER = dict(Tier.choices)
_STATUS = dict(Status.choices)


def _display(row: dict[str, Any]) -> dict[str, Any]:
    reasons = [
        label
        for flag, label in (
            (row["tier"] == Tier.BANNER, "旗级"),
            (row["legacy"], "历史遗留"),
            (bool(row["group__title"]), "事项组"),
        )
        if flag
    ]
    return {
        "reference": row["reference"],
        "key_reason": "、".join(reasons),
        "group_title": row["group__title"] or "",
        "members": row["members"],
        "category": _CATEGORY.get(row["category"], row["category"]),
        "tier": _TIER.get(row["tier"], "未分流"),
        "township": row["township_name"] or row["township_code"],
        "village": row["village_name"] or row["village_code"],
        "unit": row["unit_name"] or stats.NO_UNIT_NAME,
        "person": row["person_shown"],
        "status": _STATUS.get(row["status"], row["status"]),
        "received": row["received_on"],
        "deadline_kind": DEADLINE_KIND_LABELS.get(row["next_due_kind"] or "", ""),
        "deadline": row["next_due"],
        "days_left": row["days_left"],
        "due_state": DUE_STATE_LABELS.get(row["due_state"], row["due_state"]),
        "due_state_code": row["due_state"],
        "supervision": SUPERVISION_LABELS.get(row["supervision"], row["supervision"]),
        "agenda_date": row["agenda_date"],
        "agenda_deadline": row["agenda_deadline"],
    }


def percent(value: float | None) -> str:
    """0.5745 → "57.4%"; None → "—" (nothing to divide by)."""
    return "—" if value is None else f"{value * 100:.1f}%"


def signed_percent(value: float | None) -> str:
    """−0.5745 → "−57.4%", 0.1 → "+10.0%"; None → "—"."""
    if value is None:
        return "—"
    return f"{value * 100:+.1f}%".replace("-", "−")


def summary_lines(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The month's indicators as (label, text) lines, shared by the page and both exports."""
    labels = stats.LABELS
    counts = summary["counts"]
    litigation = summary["litigation"]
    satisfaction = summary["satisfaction"]
    follow_up = summary["follow_up"]
    above = summary["above_banner"]
    procedures = summary["procedures"]
    court = procedures["mining_court"]
    by_tier = counts["concluded_by_tier"]
    stages = summary["on_time_by_stage"]
    return [
        (labels["cases_total"], f"{summary['cases_total']} 件"),
        (labels["concluded"], f"{summary['concluded']} 件"),
        (labels["conclusion_rate"], percent(summary["conclusion_rate"])),
        (
            labels["on_time_rate"],
            f"{percent(summary['on_time_rate'])}"
            f"(按期 {counts['stages_on_time']} / 已到期 {counts['stages_due']} 个环节;"
            + ",".join(
                f"{stats.STAGE_LABELS[stage]} {row['on_time']}/{row['on_time'] + row['late']}"
                for stage, row in stages.items()
            )
            + ")",
        ),
        (labels["overdue_open"], f"{summary['overdue_open']} 件"),
        (
            labels["concluded_at_village_share"],
            f"{percent(summary['concluded_at_village_share'])}"
            f"(村级办结 {counts['concluded_at_village']} / 首办在村且已办结或已离村 {counts['village_decided']} 件)",
        ),
        (
            labels["concluded_at_or_below_township_share"],
            f"{percent(summary['concluded_at_or_below_township_share'])}"
            f"(村 {by_tier['village']}、乡镇 {by_tier['township']} / 已办结 {summary['concluded']} 件)",
        ),
        (
            labels["mining_court_concluded_share"],
            f"{percent(summary['mining_court_concluded_share'])}(矿区法庭办结 {by_tier['mining_court']} 件,单独统计)",
        ),
        (
            labels["above_banner"],
            f"{above['total']} 件({percent(above['share'])});"
            + ",".join(f"{stats.ABOVE_BANNER_LABELS[kind]} {n}" for kind, n in above["by_kind"].items()),
        ),
        (labels["agent_handled"], f"{summary['agent_handled']} 件,办结 {summary['agent_concluded']} 件"),
        (labels["township_complex_resolved"], f"{summary['township_complex_resolved']} 件"),
        (
            labels["mining_court"],
            f"{court['matters']} 件,调解结案 {court['mediated']} 件,判决结案 {court['judged']} 件",
        ),
        (labels["mediation_agreements"], f"{procedures['mediation_agreements']} 件"),
        (labels["judicial_confirmations"], f"{procedures['judicial_confirmations']} 件"),
        (
            labels["litigation_yoy_change"],
            f"{signed_percent(summary['litigation_yoy_change'])}"
            f"(本期 {litigation['this_period']} 件,上年同期 {litigation['year_earlier']} 件)",
        ),
        (labels["repeat_rate"], percent(summary["repeat_rate"])),
        (
            labels["follow_up_participation_rate"],
            f"{percent(follow_up['participation_rate'])}(回访联系到 {follow_up['reached']} / 已办结 "
            f"{follow_up['concluded']} 件;未联系到 {follow_up['unreachable']} 件)",
        ),
        (
            labels["satisfaction"],
            f"满意 {percent(satisfaction['shares']['satisfied'])},"
            f"基本满意 {percent(satisfaction['shares']['basically_satisfied'])},"
            f"不满意 {percent(satisfaction['shares']['dissatisfied'])}(回访有答复 {satisfaction['rated']} 件)",
        ),
    ]


def header_lines(report: MonthlyReport) -> list[str]:
    return [
        f"{report.title}({report.label})",
        f"统计期(登记日期):{report.period.since} 至 {report.period.until};期限判断日:{report.as_of}",
        f"排名口径:{report.ranking_period.since} 至 {report.ranking_period.until} 登记的事项;"
        "单位自身超期事项(持有期间自身期限届满,转来时已逾期的不计)加督办次数,由多到少",
        "本报告不含信访人个人信息。",
    ]


def file_header_lines(report: MonthlyReport) -> list[str]:
    """The heading of the CSV and XLSX (Chinese, as the files are): the page's, plus what each overdue count
    counts (the page prints those under the counts themselves)."""
    with translation.override("zh-hans"):
        summary_overdue, section_overdue = report.summary_overdue_definition, report.overdue_definition
    lines = header_lines(report)
    return [
        *lines[:-1],
        f"概况中的“逾期未办结”:{summary_overdue}",
        f"第三节的“逾期”:{section_overdue}",
        lines[-1],
    ]


def report_csv(report: MonthlyReport) -> bytes:
    """The report as one CSV, UTF-8 with a BOM so Excel opens the Chinese correctly; sections separated by titles."""
    out = io.StringIO()
    out.write(CSV_BOM)
    writer = _SafeWriter(csv.writer(out, lineterminator="\r\n"))
    for line in file_header_lines(report):
        writer.writerow([line])
    writer.writerow([])
    writer.writerow(["一、概况"])
    writer.writerows(summary_lines(report.summary))
    for title, rows in _case_sections(report):
        writer.writerow([])
        writer.writerow([title])
        writer.writerow([label for _, label in CASE_COLUMNS])
        writer.writerows([_text(row.get(name)) for name, _ in CASE_COLUMNS] for row in rows)
    writer.writerow([])
    writer.writerow(["四、责任单位排名(自身超期事项+督办次数,约谈通报依据)"])
    writer.writerow([label for _, label in RANKING_COLUMNS])
    writer.writerows(
        [percent(unit[name]) if name in PERCENT_COLUMNS else _text(unit[name]) for name, _ in RANKING_COLUMNS]
        for unit in report.ranking
    )
    return out.getvalue().encode("utf-8")


def report_xlsx(report: MonthlyReport) -> bytes:
    """The report as an Excel workbook: 概况, 重点事项, 逾期临期, 单位排名 (dates as dates, rates as percents)."""
    book = Workbook()
    sheet = _SafeSheet(book.active)
    sheet.title = "概况"
    for line in file_header_lines(report):
        sheet.append([line])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    for label, text in summary_lines(report.summary):
        sheet.append([label, text])
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 60

    for (title, rows), name in zip(_case_sections(report), ("重点事项", "逾期临期"), strict=True):
        sheet = _SafeSheet(book.create_sheet(name))
        sheet.append([title])
        sheet.append([label for _, label in CASE_COLUMNS])
        for row in rows:
            sheet.append([row.get(column) if row.get(column) is not None else "" for column, _ in CASE_COLUMNS])
        _style_table(sheet, CASE_COLUMNS, date_columns={"received", "deadline", "agenda_date", "agenda_deadline"})

    sheet = _SafeSheet(book.create_sheet("单位排名"))
    sheet.append(["责任单位排名(自身超期事项+督办次数,由多到少,约谈通报依据)"])
    sheet.append([label for _, label in RANKING_COLUMNS])
    for unit in report.ranking:
        sheet.append([unit[name] if unit[name] is not None else "" for name, _ in RANKING_COLUMNS])
    rate_column = [name for name, _ in RANKING_COLUMNS].index("on_time_rate") + 1
    for (cell,) in sheet.iter_rows(min_row=3, min_col=rate_column, max_col=rate_column):
        cell.number_format = "0.0%"
    _style_table(sheet, RANKING_COLUMNS, date_columns=set())

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class _SafeWriter:
    """A csv writer whose every cell goes through spreadsheet.safe_cell."""

    def __init__(self, writer) -> None:
        self._writer = writer

    def writerow(self, row) -> None:
        self._writer.writerow(safe_row(row))

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


class _SafeSheet:
    """An openpyxl sheet whose appended cells go through spreadsheet.safe_cell; the rest is the sheet's own."""

    def __init__(self, sheet) -> None:
        object.__setattr__(self, "_sheet", sheet)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._sheet, name, value)  # title, freeze_panes …: the sheet's own

    def append(self, row) -> None:
        self._sheet.append(safe_row(row))

    def __getattr__(self, name: str):
        return getattr(self._sheet, name)

    def __getitem__(self, key):
        return self._sheet[key]


def _case_sections(report: MonthlyReport) -> list[tuple[str, list[dict[str, Any]]]]:
    return [
        ("二、重点事项(旗级、历史遗留、事项组;未办结)", report.key_cases),
        ("三、逾期和临期事项(按责任单位)", report.due_cases),
    ]


def _style_table(sheet, columns: list[tuple[str, str]], date_columns: set[str]) -> None:
    """Bold title and header, frozen header, readable widths, dates shown as dates."""
    sheet["A1"].font = Font(bold=True)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A3"
    for index, (name, _) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 16
        if name in date_columns:
            for (cell,) in sheet.iter_rows(min_row=3, min_col=index, max_col=index):
                cell.number_format = "yyyy-mm-dd"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
