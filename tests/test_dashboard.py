"""/dashboard/: login required, the stats module's numbers beside charts, nothing fetched from outside."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils.html import escape

from geo_disputes.models import Unit
from geo_disputes.services.analysis import stats
from geo_disputes.services.cases.clock import STATUTE_TZ
from geo_disputes.templatetags.bilingual import one_language
from tests.factories import CaseFactory, StaffFactory, seed_places

pytestmark = pytest.mark.django_db

VILLAGE = "150622106202"
SINCE, UNTIL = "2026-01-01", "2026-06-30"
EXTERNAL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)


@pytest.fixture
def cases():
    """Seven matters: five grid-agent matters (three concluded) and two mining-court mediations."""
    seed_places()
    unit = {u.code: u for u in Unit.objects.all()}
    received = dt.datetime(2026, 3, 1, 10, tzinfo=STATUTE_TZ)
    common = {"received_at": received, "township_code": VILLAGE[:9], "village_code": VILLAGE}
    for i in range(5):
        CaseFactory(
            channel="grid_agent",
            unit=unit[f"VC-{VILLAGE}"],
            status="closed" if i < 3 else "in_handling",
            accepted_at=received,
            replied_at=received + dt.timedelta(days=10) if i < 3 else None,
            **common,
        )
    for _ in range(2):
        CaseFactory(
            tier="mining_court",
            unit=unit["MC-150622"],
            status="closed",
            resolution_method="mediation",
            accepted_at=received,
            replied_at=received + dt.timedelta(days=5),
            **common,
        )


def logged_in() -> Client:
    client = Client()
    client.force_login(StaffFactory(role="banner_admin").user)
    return client


def card_value(html: str, key: str) -> str:
    match = re.search(
        rf'id="card-{key}".*?<div class="value">(?:<a href="[^"]*"[^>]*>)?([^<]*)(?:</a>)?</div>', html, re.DOTALL
    )
    assert match, key
    return match.group(1).strip()


def test_login_required():
    response = Client().get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_renders_the_numbers_and_chart_data(cases):
    response = logged_in().get("/dashboard/", {"since": SINCE, "until": UNTIL})
    assert response.status_code == 200
    html = response.content.decode()
    assert card_value(html, "cases_total") == "7"
    assert card_value(html, "agent_handled") == "5"
    assert card_value(html, "agent_concluded") == "3"
    assert card_value(html, "mining_court") == "2"
    # 小事不出村: five matters first at the village; three concluded there, two still open there (not yet counted).
    assert card_value(html, "concluded_at_village_share") == "100.0%"
    assert card_value(html, "concluded_at_or_below_township_share") == "60.0%"  # 3 of 5; the court on its own
    assert card_value(html, "mining_court_concluded_share") == "40.0%"
    assert card_value(html, "above_banner") == "0"
    assert "card-escalated_to_banner_share" not in html
    assert "若为演示库,数据为合成数据" in html and "synthetic" in html  # no demo marker: always stated
    # Each number's definition is printed beside it.
    for key in ("concluded_at_village_share", "above_banner", "on_time_rate", "follow_up_participation_rate"):
        block = html[html.index(f'id="card-{key}"') :].split('class="card"')[0]
        assert escape(one_language(stats.DEFINITIONS[key], "zh-hans")) in block, key
    assert card_value(html, "litigation_yoy_change") == "—"  # nothing a year earlier to compare with
    assert "小事不出村" in html and "大事不出镇" in html and "指标定义" in html

    data = json.loads(re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', html).group(1))
    assert data["by_tier"] == {"labels": ["村级", "乡镇级", "旗级", "矿区法庭"], "values": [5, 0, 0, 2]}
    assert data["by_month"]["labels"] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert data["by_month"]["received"] == [0, 0, 7, 0, 0, 0]
    assert data["by_month"]["concluded"] == [0, 0, 5, 0, 0, 0]


def test_no_external_url_and_the_chart_library_is_vendored(cases):
    html = logged_in().get("/dashboard/", {"since": SINCE, "until": UNTIL}).content.decode()
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    ours = ["/static/js/menu.js", "/jsi18n/", "/static/vendor/chartjs/chart.umd.js", "/static/js/dashboard.js"]
    assert scripts == ours
    for path in ("vendor/chartjs/chart.umd.js", "vendor/chartjs/LICENSE.md", "js/dashboard.js"):
        assert finders.find(path), path
    stylesheets = re.findall(r'<link[^>]*href="([^"]+)"', html)
    assert all(href.startswith("/static/") for href in stylesheets), stylesheets


def test_default_period_is_the_last_twelve_months(cases):
    import datetime as dt
    from zoneinfo import ZoneInfo

    # Worked out here: today where the banner is, back to the day after the same date a year before.
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    try:
        year_before = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_before = today.replace(year=today.year - 1, day=28)
    since = year_before + dt.timedelta(days=1)
    html = logged_in().get("/dashboard/").content.decode()
    assert f"统计期 {since:%Y-%m-%d} 至 {today:%Y-%m-%d}" in html
    assert re.search(rf'name="since"[^>]*value="{since:%Y-%m-%d}"|value="{since:%Y-%m-%d}"[^>]*name="since"', html)
    assert re.search(rf'name="until"[^>]*value="{today:%Y-%m-%d}"|value="{today:%Y-%m-%d}"[^>]*name="until"', html)


@pytest.mark.parametrize(
    "query, field",
    [
        ({"since": "2026-06-01", "until": "2026-01-01"}, "until"),
        ({"since": "not-a-date"}, "since"),
        ({"township": "999999999"}, "township"),
    ],
)
def test_bad_parameters_are_a_400_on_the_field(cases, query, field):
    response = logged_in().get("/dashboard/", query)
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()


def test_figures_link_to_their_cases_and_presets_set_the_period(client, django_user_model):
    from geo_disputes.services.analysis.stats import period_presets
    from tests.factories import seed_places

    seed_places()
    client.force_login(django_user_model.objects.create_superuser("dash-links", password=None))
    html = client.get("/dashboard/?since=2026-01-01&until=2026-06-30&township=150622106").content.decode()
    total = re.search(r'id="card-cases_total".*?<a href="([^"]+)"', html, re.DOTALL).group(1)
    assert total == "/cases/?since=2026-01-01&amp;until=2026-06-30&amp;township=150622106"
    overdue = re.search(r'id="card-overdue_by_unit".*?<a href="([^"]+)"', html, re.DOTALL).group(1)
    assert "due=overdue" in overdue and "township=150622106" in overdue
    assert "月报" in html and "不限登记日期" in html  # the card says how the report's overdue count differs
    presets = re.findall(r'<a href="([^"]+)" class="preset">([^<]+)</a>', html)
    assert [label for _href, label in presets] == ["本月", "上月", "本季度", "本年"]
    label, since, until = period_presets()[0]
    assert f"since={since:%Y-%m-%d}&amp;until={until:%Y-%m-%d}&amp;township=150622106" in presets[0][0]
    assert " / " not in re.search(r'<p class="def">(.*?)</p>', html, re.DOTALL).group(1)  # Chinese half only
    # A definition whose English half holds "; " is cut whole: nothing English after the Chinese.
    definitions = re.findall(r'<p class="def">(.*?)</p>', html, re.DOTALL)
    assert "重复信访不计。" in html and "repeat petitions" not in html and "are not counted" not in html
    assert not [d for d in definitions if re.search(r"[A-Za-z]{4,} [a-z]{3,}", d)], definitions


def test_the_dashboard_reads_in_english_when_chosen(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("dash-english", password=None))
    client.cookies["django_language"] = "en"
    html = client.get("/dashboard/").content.decode()
    assert '<html lang="en">' in html and "Quick periods" in html and "Definitions" in html
    labels = re.findall(r'<div class="label">([^<]*)</div>', html)
    assert labels and not [label for label in labels if re.search(r"[\u4e00-\u9fff]", label)], labels
    notes = re.findall(r'<div class="note">([^<]*)</div>', html)
    assert not [note for note in notes if re.search(r"[\u4e00-\u9fff]", note)], notes
    definitions = re.findall(r'<p class="def">(.*?)</p>', html, re.DOTALL)
    assert definitions and not [d for d in definitions if re.search(r"[\u4e00-\u9fff]", d)], definitions
    assert "a case group counts once; repeat petitions (repeat_of set) are not counted." in html


def test_every_linked_figure_opens_the_list_of_exactly_the_cases_it_counts(cases):
    """Each number the dashboard links — cards, tiers, statuses, months, units, the due-soon note — opens the case
    list with the same period and area, and the list holds as many cases (no group or repeat here, so matters =
    cases)."""
    from geo_disputes.services.cases.clock import local_today

    unit = {u.code: u for u in Unit.objects.all()}
    today = local_today()
    CaseFactory(  # held by the township, unaccepted since April: overdue today
        procedure="petition",
        tier="township",
        unit=unit["TC-150622106"],
        received_at=dt.datetime(2026, 4, 2, 10, tzinfo=STATUTE_TZ),
        township_code=VILLAGE[:9],
        village_code=VILLAGE,
    )
    CaseFactory(  # accepted 58 days ago: its 60 days end in two — due soon today
        procedure="petition",
        unit=unit[f"VC-{VILLAGE}"],
        status="accepted",
        received_at=dt.datetime(2026, 6, 20, 10, tzinfo=STATUTE_TZ),
        accepted_at=dt.datetime.combine(today - dt.timedelta(days=58), dt.time(10), tzinfo=STATUTE_TZ),
        township_code=VILLAGE[:9],
        village_code=VILLAGE,
    )
    client = logged_in()
    html = client.get("/dashboard/", {"since": SINCE, "until": UNTIL, "township": VILLAGE[:9]}).content.decode()
    linked = re.findall(r'<a href="(/cases/\?[^"]+)"[^>]*>([^<]+)</a>', html)
    checked = set()
    for href, text in linked:
        figure = int(re.search(r"\d+", text).group())
        listed = client.get(unescape(href)).content.decode()
        count = int(re.search(r"共 (\d+) 件", listed).group(1))
        assert count == figure, (href, text, count)
        assert "since=2026-" in href and "township=150622106" in href
        checked.add(re.sub(r"&amp;", "&", href).split("&", 2)[-1])
    for needed in ("due=overdue", "due=soon", "status=closed", "tier=mining_court", "tier=township&due=overdue"):
        assert any(needed in params for params in checked), (needed, checked)
    assert any("since=2026-03-01&until=2026-03-31" in unescape(href) for href, _text in linked)  # March
    assert any(text.strip() == "临期 1 件" for _href, text in linked)


def test_the_presets_and_the_form_read_in_english_when_chosen(cases):
    client = logged_in()
    client.cookies["django_language"] = "en"
    html = client.get("/dashboard/").content.decode()
    presets = re.findall(r'class="preset">([^<]+)</a>', html)
    assert presets == ["This month", "Last month", "This quarter", "This year"]
    labels = re.findall(r'<label for="id_[a-z]+">([^<]+)</label>', html)
    assert labels and not [label for label in labels if re.search(r"[\u4e00-\u9fff]", label)], labels
