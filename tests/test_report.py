"""The monthly joint-meeting report: key, overdue and due-soon matters per unit, units ranked by
on-time rate, and its CSV (UTF-8 with BOM), XLSX and printable page — with no petitioner data."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from geo_disputes.models import Case, CaseGroup, Unit
from geo_disputes.services.analysis import report as reports
from geo_disputes.services.cases.clock import STATUTE_TZ, local_today
from geo_disputes.services.cases.workflow import record_supervision
from geo_disputes.views.report import XLSX_TYPE
from tests.factories import CaseFactory, PartyFactory, StaffFactory, seed_places

pytestmark = pytest.mark.django_db

TOWNSHIP, VILLAGE = "150622106", "150622106202"
OTHER_VILLAGE = "150622101206"
# The report of the month before this one, so the whole month has passed and as_of is its last day.
MONTH = (local_today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
END = (MONTH + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
MONTH_PARAM = f"{MONTH:%Y-%m}"
NAMES = ("王建国", "欧阳娜娜")
PHONE_PREFIX = "1391234"
ID_PREFIX = "15062219800101"


def day(offset: int, hour: int = 10) -> dt.datetime:
    """`offset` days after the month's last day (negative: before), Beijing time."""
    return dt.datetime.combine(END + dt.timedelta(days=offset), dt.time(hour), tzinfo=STATUTE_TZ)


@pytest.fixture
def meeting():
    """Units with known stages on END (no history: acceptance at accepted_at, conclusion at replied_at):
    魏家峁镇党(工)委 one late conclusion (TOWN-LATE) and one supervision act: score 2, 4 of 5 stages on time ·
    旗领导包案 its legacy matter open past conclude_by: score 1, 1 of 2 · 不拉村村委会 one open past
    conclude_by: score 1, 3 of 4 · 双敖包村村委会 nothing late (one matter due in two days): score 0 ·
    矿区法庭 litigation, no statutory stage: not ranked."""
    seed_places()
    unit = {u.code: u for u in Unit.objects.all()}
    serial = iter(range(100))

    def case(ref, received, code, village=VILLAGE, **facts):
        made = CaseFactory(
            reference=ref,
            received_at=received,
            township_code=village[:9],
            village_code=village,
            unit=unit[code],
            description=f"{NAMES[0]}反映:{ref}",
            **facts,
        )
        n = next(serial)
        PartyFactory(case=made, name=NAMES[n % 2], phone=f"{PHONE_PREFIX}{n:04d}", id_number=f"{ID_PREFIX}{n:04d}")
        return made

    def closed(ref, code, late: bool, village=VILLAGE, **facts):
        accepted = day(-90)
        replied = accepted + dt.timedelta(days=70 if late else 20)
        return case(
            ref,
            day(-91),
            code,
            village,
            status="closed",
            accepted_at=accepted,
            replied_at=replied,
            resolution_method="mediation",
            **facts,
        )

    case("LEGACY", day(-101), "BL-150622", tier="banner", legacy=True, status="on_agenda", accepted_at=day(-100))
    closed("OTHER-OK", f"VC-{OTHER_VILLAGE}", late=False, village=OTHER_VILLAGE)
    case(
        "OTHER-LATE", day(-71), f"VC-{OTHER_VILLAGE}", OTHER_VILLAGE, status="in_handling", accepted_at=day(-70)
    )  # due END-10
    closed("TOWN-OK", f"TC-{TOWNSHIP}", late=False, tier="township")
    closed("TOWN-LATE", f"TC-{TOWNSHIP}", late=True, tier="township")
    group = CaseGroup.objects.create(title="双敖包村两户房屋开裂", category="mining_subsidence")
    for i in range(2):
        case(
            f"GROUP-{i}",
            day(-51, 9 + i),
            f"TC-{TOWNSHIP}",
            tier="township",
            status="in_handling",
            accepted_at=day(-50),
            group=group,
            category="mining_subsidence",
        )
    closed("VILLAGE-OK", f"VC-{VILLAGE}", late=False)
    case("SOON", day(-59), f"VC-{VILLAGE}", status="accepted", accepted_at=day(-58))  # due END+2
    case("COURT", day(-11), "MC-150622", tier="mining_court", procedure="litigation", status="filed")
    record_supervision(Case.objects.get(reference="GROUP-0"), kind="urge", reason="督办", deadline=END, at=day(-5))


def admin():
    return StaffFactory(role="banner_admin").user


def build(user=None):
    return reports.monthly_report(user or admin(), MONTH, today=local_today())


def test_key_and_due_matters_and_the_ranking(meeting):
    report = build()
    assert report.as_of == END
    assert report.period.since == MONTH and report.period.until == END

    key = {row["reference"]: row for row in report.key_cases}
    assert set(key) == {"LEGACY", "GROUP-0"}  # the group is one line, its first member standing for it
    assert key["GROUP-0"]["members"] == 2 and key["GROUP-0"]["group_title"] == "双敖包村两户房屋开裂"
    assert key["LEGACY"]["key_reason"] == "旗级、历史遗留"
    assert key["LEGACY"]["deadline"] == END - dt.timedelta(days=40)
    assert key["LEGACY"]["due_state"] == "逾期" and key["LEGACY"]["days_left"] == -40

    due = [(row["reference"], row["unit"], row["due_state"], row["deadline"]) for row in report.due_cases]
    assert sorted(due) == sorted(
        [
            ("LEGACY", "旗领导包案", "逾期", END - dt.timedelta(days=40)),
            ("OTHER-LATE", "不拉村村委会", "逾期", END - dt.timedelta(days=10)),
            ("SOON", "双敖包村村委会", "临期", END + dt.timedelta(days=2)),
        ]
    )
    assert (report.overdue_count, report.due_soon_count) == (2, 1)

    ranking = [(u["rank"], u["unit_name"], u["score"], u["on_time_rate"]) for u in report.ranking]
    assert ranking == [
        (1, "魏家峁镇党(工)委", 2, 0.8),  # one own late matter + one supervision act
        (2, "旗领导包案", 1, 0.5),  # ties on score with 不拉村; the lower on-time rate goes first
        (3, "不拉村村委会", 1, 0.75),
        (4, "双敖包村村委会", 0, 1.0),
    ]
    town = report.ranking[0]
    assert (town["own_late"], town["supervision_acts"], town["due"], town["on_time"], town["late"]) == (1, 1, 5, 4, 1)


def test_report_follows_scope(meeting):
    officer = StaffFactory(role="village_officer", scope_code=OTHER_VILLAGE).user
    report = build(officer)
    assert report.key_cases == []
    assert [row["reference"] for row in report.due_cases] == ["OTHER-LATE"]
    assert [u["unit_name"] for u in report.ranking] == ["不拉村村委会"]


def personal_data_absent(text: str) -> None:
    for name in NAMES:
        assert name not in text
    assert PHONE_PREFIX not in text
    assert ID_PREFIX not in text


def test_csv_has_a_bom_and_chinese_and_no_personal_data(meeting):
    body = reports.report_csv(build())
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text.startswith(f"准格尔旗信访工作联席会议月报({MONTH:%Y年%m月})")
    assert "二、重点事项" in text and "双敖包村两户房屋开裂" in text and "逾期" in text
    personal_data_absent(text)

    rows = list(csv.reader(io.StringIO(text)))
    start = next(i for i, row in enumerate(rows) if row and row[0].startswith("四、责任单位"))
    header, ranked = rows[start + 1], rows[start + 2 : start + 6]
    assert header[:2] == ["排名(问题由多到少)", "责任单位"]
    assert [row[1] for row in ranked] == ["魏家峁镇党(工)委", "旗领导包案", "不拉村村委会", "双敖包村村委会"]
    rate = header.index("按期率")
    assert [row[rate] for row in ranked] == ["80.0%", "50.0%", "75.0%", "100.0%"]


def test_xlsx_opens_with_the_right_cells_and_no_personal_data(meeting):
    book = load_workbook(io.BytesIO(reports.report_xlsx(build())))
    assert book.sheetnames == ["概况", "重点事项", "逾期临期", "单位排名"]

    ranking = book["单位排名"]
    assert ranking["A2"].value == "排名(问题由多到少)" and ranking["B2"].value == "责任单位"
    assert [ranking.cell(row=r, column=2).value for r in range(3, 7)] == [
        "魏家峁镇党(工)委",
        "旗领导包案",
        "不拉村村委会",
        "双敖包村村委会",
    ]
    assert ranking["J2"].value == "按期率"
    assert ranking["A3"].value == 1 and ranking["J3"].value == 0.8 and ranking["J3"].number_format == "0.0%"
    assert ranking["J6"].value == 1

    due = book["逾期临期"]
    columns = [cell.value for cell in due[2]]
    rows = {r[0]: dict(zip(columns, r, strict=True)) for r in due.iter_rows(min_row=3, values_only=True)}
    assert set(rows) == {"LEGACY", "OTHER-LATE", "SOON"}
    assert rows["OTHER-LATE"]["责任单位"] == "不拉村村委会"
    assert rows["OTHER-LATE"]["期限"].date() == END - dt.timedelta(days=10)
    assert rows["OTHER-LATE"]["剩余天数(负数为逾期)"] == -10

    assert [book["重点事项"][f"A{r}"].value for r in (3, 4)] == ["LEGACY", "GROUP-0"]  # earliest deadline first
    assert book["概况"]["A1"].value.startswith("准格尔旗信访工作联席会议月报")

    every_cell = " ".join(
        str(value) for sheet in book for row in sheet.iter_rows(values_only=True) for value in row if value is not None
    )
    personal_data_absent(every_cell)


def test_pages_and_downloads_over_http(meeting):
    client = Client()
    client.force_login(admin())

    page = client.get("/report/monthly/", {"month": MONTH_PARAM})
    assert page.status_code == 200
    html = page.content.decode()
    assert "@media print" in html and "约谈通报" in html
    ranking = html[html.index('id="ranking"') :]
    assert (
        ranking.index("<td>旗领导包案</td>")
        < ranking.index("<td>不拉村村委会</td>")
        < ranking.index("<td>双敖包村村委会</td>")
    )
    assert f"/report/monthly.csv?month={MONTH_PARAM}" in html
    personal_data_absent(html)
    # The ranking's definitions in the page's language only.
    assert "责任单位排名:按单位自身超期事项数" in html and "Units ranked by" not in html
    assert "按期率:" in html and "Each statutory stage" not in html
    client.cookies["django_language"] = "en"
    english = client.get("/report/monthly/", {"month": MONTH_PARAM}).content.decode()
    assert "Units ranked by their own late matters" in english and "责任单位排名:按单位" not in english
    assert "Each statutory stage of a petition" in english and "按期率:信访事项" not in english
    client.cookies["django_language"] = "zh-hans"

    download = client.get("/report/monthly.csv", {"month": MONTH_PARAM})
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert f"joint-meeting-{MONTH_PARAM}.csv" in download["Content-Disposition"]
    assert download.content.startswith(b"\xef\xbb\xbf")

    workbook = client.get("/report/monthly.xlsx", {"month": MONTH_PARAM})
    assert workbook.status_code == 200
    assert workbook["Content-Type"] == XLSX_TYPE
    assert load_workbook(io.BytesIO(workbook.content)).sheetnames[-1] == "单位排名"


@pytest.mark.parametrize("month", ["2026-13", "26-01", "abc", "9999-01"])
def test_bad_month_is_a_400_naming_it(month):
    client = Client()
    client.force_login(admin())
    for path in ("/report/monthly/", "/report/monthly.csv", "/report/monthly.xlsx"):
        response = client.get(path, {"month": month})
        assert response.status_code == 400, path
    assert "month" in client.get("/report/monthly.csv", {"month": month}).content.decode()


def test_login_required():
    for path in ("/report/monthly/", "/report/monthly.csv", "/report/monthly.xlsx"):
        response = Client().get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], path


def test_text_that_looks_like_a_formula_is_text_in_every_export(meeting):
    """A typed group title, person or plan never becomes a live formula in the CSV or the XLSX (issue 12 item 3)."""
    CaseGroup.objects.update(title='=HYPERLINK("http://evil.example","点我")')
    Case.objects.filter(reference="LEGACY").update(responsible_person="+1+2", agenda_plan="@SUM(1)")
    report = build()

    body = reports.report_csv(report).decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    assert '\'=HYPERLINK("http://evil.example","点我")' in cells and "'+1+2" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@")]

    book = load_workbook(io.BytesIO(reports.report_xlsx(report)))
    values = [c.value for sheet in book for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert '\'=HYPERLINK("http://evil.example","点我")' in values
    assert not [v for v in values if v[:1] in ("=", "+", "@")]
    assert book["概况"].title == "概况" and book["单位排名"].freeze_panes == "A3"


def test_a_planner_s_report_names_no_responsible_person(meeting):
    """Issue 12 item 6: the responsible person is for those who handle the case, not for planners."""
    Case.objects.update(responsible_person="村支书张三丰")
    planner = StaffFactory(role="planner").user
    rows = [*build(planner).key_cases, *build(planner).due_cases]
    assert rows and all(row["person"] != "村支书张三丰" for row in rows)
    assert "张三丰" not in reports.report_csv(build(planner)).decode("utf-8-sig")
    handled = [*build().key_cases, *build().due_cases]
    assert all(row["person"] == "村支书张三丰" for row in handled)
