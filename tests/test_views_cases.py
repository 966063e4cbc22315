"""The case pages as a browser uses them (Django test client, real PostGIS): intake form, list and
CSV export, case page with its actions, unit queues and the joint-meeting agenda."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.test import Client
from django.utils import timezone

from geo_disputes.models import Banner, Case, CaseEvent, Party, PersonalDataAccess
from geo_disputes.services.areas.coords import wgs84_to_gcj02
from geo_disputes.services.cases.clock import due_dates, local_today, next_joint_meeting
from geo_disputes.services.cases.workflow import apply

from .factories import MiningAreaFactory, ParcelFactory, StaffFactory, box, on_coarse_grid, seed_places

pytestmark = pytest.mark.django_db

SHUANGAOBAO = (111.05, 39.55)  # 魏家峁镇 双敖包村
BULA = (110.82, 39.65)  # 沙圪堵镇 不拉村
SUJIGOU = (111.25, 39.85)  # 友谊街道 苏计沟村 (inside the test mine)
NAME, PHONE, ID_NUMBER = "王建国", "13912345678", "150622197001010011"


@pytest.fixture
def world():
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    MiningAreaFactory(code="KQ-01", name="哈尔乌素露天煤矿", geom=box(111.22, 39.82, 111.28, 39.88))
    ParcelFactory(
        code="150622106202JD00001", land_use="grassland", holder_name="李桂兰", geom=box(111.04, 39.54, 111.06, 39.56)
    )


def client_for(role: str, scope: str = "", unit=None) -> Client:
    profile = StaffFactory(role=role, scope_code=scope, unit=unit)
    client = Client()
    client.force_login(profile.user)
    client.user = profile.user
    return client


def form_data(petitioners=((NAME, PHONE, ID_NUMBER),), **overrides) -> dict:
    data = {
        "category": "land_occupation",
        "channel": "talk_room",
        "kind": "claim",
        "description": "8亩多草地被占用",
        "lon": str(SHUANGAOBAO[0]),
        "lat": str(SHUANGAOBAO[1]),
        "datum": "wgs84",
        "accuracy_m": "",
        "parcel_code": "",
        "households_affected": "1",
        "accused_unit": "",
        "petitioners-TOTAL_FORMS": str(max(len(petitioners), 1)),
        "petitioners-INITIAL_FORMS": "0",
        "petitioners-MIN_NUM_FORMS": "0",
        "petitioners-MAX_NUM_FORMS": "20",
    }
    for i, (name, phone, id_number) in enumerate(petitioners):
        data.update(
            {f"petitioners-{i}-name": name, f"petitioners-{i}-phone": phone, f"petitioners-{i}-id_number": id_number}
        )
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def register(client: Client, **overrides) -> Case:
    response = client.post("/cases/new/", form_data(**overrides))
    assert response.status_code == 302, response.context and _errors(response)
    if response["Location"] == "/cases/":  # registered outside the registrar's own scope: back to the list
        return Case.objects.latest("id")
    return Case.objects.get(reference=response["Location"].strip("/").split("/")[-1])


def _errors(response) -> dict:
    form = response.context["form"]
    return {"form": form.errors, "petitioners": [f.errors for f in response.context["formset"]]}


def act(client: Client, case: Case, action: str, version: int | None = None, **params):
    case.refresh_from_db()
    data = {"action": action, "version": case.version if version is None else version, **params}
    return client.post(f"/cases/{case.reference}/actions/", data)


def text(response) -> str:
    return response.content.decode()


# Intake -------------------------------------------------------------------------------------------


def test_intake_form_creates_the_case_at_the_village_and_says_why(world):
    admin = client_for("banner_admin")
    page = admin.get("/cases/new/")
    assert page.status_code == 200
    body = text(page)
    assert "/static/maps/vendor/leaflet/leaflet.js" in body and "/api/layers/villages/" in body
    assert "GCJ-02 手机坐标" in body and "自然资源局" in body  # datum selector, departments in Chinese
    assert "petitioners-0-name" in body and 'id="petitioner-template"' in body

    response = admin.post("/cases/new/", form_data(departments=["natural_resources"]), follow=True)
    case = Case.objects.get()
    assert response.redirect_chain == [(f"/cases/{case.reference}/", 302)]
    assert (case.village_code, case.tier, case.unit.code) == ("150622106202", "village", "VC-150622106202")
    assert case.departments == ["natural_resources"] and case.created_by == admin.user
    assert [(p.name, p.phone) for p in case.petitioners.all()] == [(NAME, PHONE)]
    [message] = [str(m) for m in response.context["messages"]]
    assert case.reference in message and "村级" in message and case.routing_reason in message


def test_a_typed_gcj02_point_from_a_phone_lands_in_the_right_village(world):
    lon, lat = wgs84_to_gcj02(*BULA)
    case = register(
        client_for("grid_worker", "150622101206-001"),
        category="utilities",
        channel="grid_agent",
        lon=f"{lon:.7f}",
        lat=f"{lat:.7f}",
        datum="gcj02",
    )
    assert case.village_code == "150622101206" and case.datum == "gcj02"
    assert abs(case.location.x - BULA[0]) < 1e-6 and abs(case.location.y - BULA[1]) < 1e-6


def test_intake_by_parcel_code_and_several_petitioner_rows(world):
    case = register(
        client_for("banner_admin"),
        lon="",
        lat="",
        parcel_code="150622106202JD00001",
        petitioners=(("王建国", "", ""), ("", "", ""), ("李桂兰", "13800001111", "")),
    )
    assert case.village_code == "150622106202"
    assert sorted(case.petitioners.values_list("name", flat=True)) == ["李桂兰", "王建国"]


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"lon": "111.9", "lat": "39.5"}, "lon"),  # outside the banner (service error)
        ({"lon": "east"}, "lon"),  # not a number (form error)
        ({"lon": "", "lat": ""}, "lon"),  # no location at all
        ({"description": ""}, "description"),
        ({"parcel_code": "NOPE", "lon": "", "lat": ""}, "parcel_code"),
        ({"households_affected": "-3"}, "households_affected"),
        ({"datum": "bd09"}, "datum"),
    ],
)
def test_a_bad_field_shows_its_error_on_that_field_and_writes_nothing(world, overrides, field):
    response = client_for("banner_admin").post("/cases/new/", form_data(**overrides))
    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == [field]
    assert f'id="field-{field}"' in text(response) and "has-error" in text(response)
    assert Case.objects.count() == 0 and CaseEvent.objects.count() == 0 and Party.objects.count() == 0


def test_a_form_without_a_location_says_so_in_chinese_at_the_top_with_a_link_to_the_field(world):
    client = client_for("banner_admin")
    response = client.post("/cases/new/", form_data(lon="", lat=""))
    assert response.status_code == 400
    body = text(response)
    summary = body[body.index('id="error-summary"') :]
    summary = summary[: summary.index("</div>")]
    # Above the form's first field, focused on load (a phone user lands on it), linking to 经度's input.
    assert body.index('id="error-summary"') < body.index('id="field-category"')
    assert 'document.getElementById("error-summary").focus()' in body
    assert 'href="#id_lon"' in summary and "经度" in summary and 'id="id_lon"' in body
    assert "请填写位置" in summary and "a location is required" not in body
    field = body[body.index('id="field-lon"') :]
    assert "请填写位置" in field[: field.index("</div>")]

    client.cookies["django_language"] = "en"
    body = text(client.post("/cases/new/", form_data(lon="", lat="")))
    summary = body[body.index('id="error-summary"') :]
    summary = summary[: summary.index("</div>")]
    assert "a location is required: lon/lat with datum, or parcel_code" in summary and "请填写位置" not in body
    assert 'href="#id_lon"' in summary and "Not submitted" in summary
    assert Case.objects.count() == 0


def test_a_form_without_errors_has_no_error_summary(world):
    assert 'id="error-summary"' not in text(client_for("banner_admin").get("/cases/new/"))


def test_a_bad_petitioner_row_is_marked_on_that_row(world):
    response = client_for("banner_admin").post(
        "/cases/new/", form_data(petitioners=(("王建国", "", ""), ("李某", "", "123")))
    )
    assert response.status_code == 400
    rows = response.context["formset"].forms
    assert not rows[0].errors and list(rows[1].errors) == ["id_number"]
    assert 'href="#id_petitioners-1-id_number">信访人第 2 行 · 身份证号</a>' in text(response)  # the summary's link
    assert Case.objects.count() == 0


def test_intake_prefills_the_point_from_the_field_map_link(world):
    body = text(client_for("field_staff").get("/cases/new/?lon=111.0512345&lat=39.5512345&datum=wgs84"))
    assert 'value="111.0512345"' in body and 'value="39.5512345"' in body
    assert '<option value="wgs84" selected>' in body


def test_planners_cannot_register_and_pages_need_a_login(world):
    assert client_for("planner").get("/cases/new/").status_code == 403
    for url in ("/cases/", "/cases/new/", "/cases/export.csv", "/queues/", "/agenda/", "/cases/ZGE-2026-000001/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


# List, scope, export ------------------------------------------------------------------------------


def test_list_filters_and_village_scope(world):
    admin = client_for("banner_admin")
    mine = register(admin)
    other = register(admin, category="utilities", lon=str(BULA[0]), lat=str(BULA[1]))

    listed = admin.get("/cases/", {"category": "utilities"})
    assert [c.reference for c in listed.context["rows"]] == [other.reference]
    assert "不拉村" in text(listed) and "用水用电" in text(listed)
    assert admin.get("/cases/", {"status": "open", "township": "150622106"}).context["page"].paginator.count == 1
    assert admin.get("/cases/", {"tier": "banner"}).context["page"].paginator.count == 0
    today = timezone.localdate().isoformat()
    assert admin.get("/cases/", {"since": today, "until": today}).context["page"].paginator.count == 2
    bad = admin.get("/cases/", {"status": "lost"})
    assert bad.status_code == 200 and "status" in bad.context["form"].errors
    assert bad.context["page"].paginator.count == 2  # the invalid filter is reported and left out

    village = client_for("village_officer", "150622106202")
    assert [c.reference for c in village.get("/cases/").context["rows"]] == [mine.reference]
    assert village.get(f"/cases/{other.reference}/").status_code == 404
    assert village.get(f"/cases/{other.reference}/actions/").status_code == 405
    assert village.post(f"/cases/{other.reference}/actions/", {"action": "accept", "version": 1}).status_code == 404


def test_list_shows_a_red_badge_for_a_long_overdue_case(world):
    admin = client_for("banner_admin")
    case = register(admin, channel="visit")  # a petition: the statutory clock runs
    Case.objects.filter(pk=case.pk).update(received_at=timezone.now() - dt.timedelta(days=30))
    body = text(admin.get("/cases/"))
    # How many days overdue depends on the day it runs (the 15-day clock skips holidays; at 00:xx in Asia/Shanghai the
    # received day moves): a CI run at 16:xx UTC showed 13. What matters here is the red badge with a count.
    days = re.search(r"逾期(\d+)天", body)
    assert 'class="badge red overdue"' in body and days and int(days.group(1)) >= 10


def test_list_paginates_by_fifty(world):
    admin = client_for("banner_admin")
    register(admin)
    case = Case.objects.get()
    for _ in range(50):
        case.pk, case.reference = None, f"ZGE-2000-{Case.objects.count() + 1:06d}"
        case.save()
    first = admin.get("/cases/")
    assert len(first.context["rows"]) == 50 and first.context["page"].paginator.num_pages == 2
    assert len(admin.get("/cases/", {"page": 2}).context["rows"]) == 1


def test_csv_export_has_a_bom_the_filtered_rows_and_no_petitioner_data(world):
    admin = client_for("banner_admin")
    mine = register(admin)
    register(
        admin, category="utilities", lon=str(BULA[0]), lat=str(BULA[1]), petitioners=(("赵六", "13700007777", ""),)
    )
    response = admin.get("/cases/export.csv", {"category": "land_occupation"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    content = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][0] == "编号 reference" and [r[0] for r in rows[1:]] == [mine.reference]
    assert rows[1][14] == "双敖包村"
    for secret in (NAME, "王某", PHONE, "5678", ID_NUMBER, "赵六", "13700007777", "草地被占用"):
        assert secret not in content
    assert admin.get("/cases/export.csv", {"since": "2026-13-01"}).status_code == 400
    village = client_for("village_officer", "150622101206")
    exported = b"".join(village.get("/cases/export.csv").streaming_content).decode("utf-8-sig")
    assert mine.reference not in exported and len(exported.strip().splitlines()) == 2


# Case page ----------------------------------------------------------------------------------------


def test_case_page_says_why_this_tier_and_shows_the_deadlines_and_map(world):
    admin = client_for("banner_admin")
    case = register(admin, channel="visit")  # a petition, answered by the township (the village helps)
    response = admin.get(f"/cases/{case.reference}/")
    body = text(response)
    assert response.status_code == 200
    assert "为何由此层级办理" in body and str(case.routing_rule) in body
    assert case.routing_reason.split(" / ")[0] in body
    assert "<dt>程序</dt><dd>信访</dd>" in body
    accept_by = due_dates(case).accept_by.isoformat()  # 15 days, ending on a working day
    assert accept_by in body and "受理告知期限" in body
    assert [d["kind"] for d in response.context["deadlines"]] == ["accept_by"]  # only those that exist
    assert "申请司法确认期限" not in body and "提出异议期限" not in body
    assert "双敖包村" in body and "魏家峁镇" in body and "150622106202JD00001" in body
    assert "李桂兰" in body  # the banner admin sees the parcel holder whole
    assert "/static/maps/vendor/leaflet/leaflet.js" in body and "/api/layers/parcels/" in body
    assert "https://" not in body and "http://" not in body  # no outside request
    # The banner supervises from above; nothing here was forwarded, so there is nothing to object to.
    assert [a["action"] for a in response.context["actions"]] == ["accept", "reject", "transfer", "supervise"]
    history = [(e["event"].action, e["label"]) for e in response.context["events"]]
    assert history == [("report", "登记(说事)"), ("route", "分流"), ("procedure", "确定程序")]


def test_petitioners_masked_for_field_staff_unmasked_for_the_handling_officer(world):
    case = register(client_for("banner_admin"))
    field_body = text(client_for("field_staff").get(f"/cases/{case.reference}/"))
    assert "王某" in field_body and NAME not in field_body and PHONE not in field_body and ID_NUMBER not in field_body
    assert "139****5678" in field_body
    # Field staff do not handle the case: no parcel list at all (a parcel pinpoints a household), so no holder.
    assert "李桂兰" not in field_body and "150622106202JD00001" not in field_body

    officer = client_for("village_officer", "150622106202")
    officer_body = text(officer.get(f"/cases/{case.reference}/"))
    assert NAME in officer_body and PHONE in officer_body and ID_NUMBER in officer_body
    assert PersonalDataAccess.objects.filter(user=officer.user, case=case).count() == 1

    planner_page = client_for("planner").get(f"/cases/{case.reference}/")
    assert planner_page.context["petitioners"] == [] and "王某" not in text(planner_page)
    assert "规划分析角色不显示个人信息" in text(planner_page) and planner_page.context["actions"] == []


def test_a_script_in_the_description_is_shown_as_text(world):
    admin = client_for("banner_admin")
    case = register(admin, description="<script>alert(1)</script> 草地", petitioners=(("<b>张</b>", "", ""),))
    body = text(admin.get(f"/cases/{case.reference}/"))
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<b>张</b>" not in body and "&lt;b&gt;张&lt;/b&gt;" in body


def test_an_action_form_advances_the_case(world):
    admin = client_for("banner_admin")
    case = register(admin)
    officer = client_for("village_officer", "150622106202")
    response = act(officer, case, "accept", person="村支书张某")
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.reference}/"
    case.refresh_from_db()
    assert case.status == "accepted" and case.responsible_person == "村支书张某" and case.accepted_at is not None
    followed = officer.get(f"/cases/{case.reference}/")
    assert any("已受理" in str(m) for m in followed.context["messages"])
    response = act(officer, case, "agreement", text="退还草地", agreement_at=local_today().isoformat())
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "resolved" and case.outcome == "退还草地" and case.events.last().actor == officer.user


def test_the_mediation_page_offers_sessions_and_an_agreement_and_no_review(world):
    case = register(client_for("banner_admin"))  # a claim told at the talk room: people's mediation
    officer = client_for("village_officer", "150622106202")
    first = officer.get(f"/cases/{case.reference}/")
    assert "<dt>程序</dt><dd>人民调解</dd>" in text(first) and "本程序不适用信访时限" in text(first)
    assert "本程序不适用信访时限" in text(officer.get("/cases/"))  # the list's badge: no petition clock
    act(officer, case, "accept")
    page = officer.get(f"/cases/{case.reference}/")
    offered = [a["action"] for a in page.context["actions"]]
    assert {"session", "agreement", "fail"} <= set(offered)
    assert not {"request_review", "review_decision", "extend", "opinion", "serve", "supervise"} & set(offered)
    body = text(page)
    assert "调解" in body and "达成协议" in body
    assert "复查" not in body and "办结期限" not in body  # no petition clock, no review ladder

    assert (
        act(officer, case, "session", mediators="调解员李某、人大代表王某", deputies_reviewed="on").status_code == 302
    )
    agreed = local_today()
    assert act(officer, case, "agreement", text="退还草地3亩", agreement_at=agreed.isoformat()).status_code == 302
    page = officer.get(f"/cases/{case.reference}/")
    body = text(page)
    assert "调解员李某、人大代表王某" in body and "调解(共 1 次)" in body and "达成调解协议" in body
    assert [d["kind"] for d in page.context["deadlines"]] == ["confirm_apply_by"]
    case.refresh_from_db()
    assert "申请司法确认期限" in body and due_dates(case).confirm_apply_by.isoformat() in body
    assert "confirm" in [a["action"] for a in page.context["actions"]]

    response = act(
        officer,
        case,
        "confirm",
        court="准格尔旗人民法院",
        number="(2026)内0622民特1号",
        applied_at=agreed.isoformat(),
        ruled_at=agreed.isoformat(),
    )
    assert response.status_code == 302
    body = text(officer.get(f"/cases/{case.reference}/"))
    assert "司法确认" in body and "(2026)内0622民特1号" in body and "准格尔旗人民法院" in body


def test_a_petition_page_offers_the_handling_opinion_until_the_matter_is_led_elsewhere(world):
    admin = client_for("banner_admin")
    led = register(admin, channel="visit")
    township = client_for("township_officer", "150622106")
    act(township, led, "accept")
    assert act(township, led, "route", route="arbitration").status_code == 302  # Art. 31 item 2: no opinion
    offered = [a["action"] for a in township.get(f"/cases/{led.reference}/").context["actions"]]
    assert "opinion" not in offered and "route" not in offered

    case = register(admin, channel="visit", petitioners=[])
    act(township, case, "accept")
    offered = [a["action"] for a in township.get(f"/cases/{case.reference}/").context["actions"]]
    assert "route" in offered and "opinion" in offered  # an opinion records the item-6 route itself
    act(township, case, "assign", person="乡镇干部李某")

    assert act(township, case, "route", route="handling_opinion").status_code == 302
    page = township.get(f"/cases/{case.reference}/")
    offered = [a["action"] for a in page.context["actions"]]
    assert "opinion" in offered and "route" not in offered
    assert "出具信访处理意见(第31条第6项)" in text(page) and "确定办理途径(第31条)" in text(page)

    assert act(township, case, "opinion", outcome="explain", text="依法解释补偿标准").status_code == 302
    today = local_today().isoformat()
    assert act(township, case, "serve", served_at=today, method="in_person").status_code == 302
    page = township.get(f"/cases/{case.reference}/")
    body = text(page)
    assert "解释说明" in body and "直接送达" in body and "依法解释补偿标准" in body
    assert "申请复查/复核期限" in body
    offered = [a["action"] for a in page.context["actions"]]
    assert {"request_review", "follow_up", "close"} <= set(offered)
    assert act(township, case, "request_review", reason="对答复不服").status_code == 302
    body = text(admin.get(f"/cases/{case.reference}/"))
    assert "第 1 轮(复查)" in body and "复查/复核决定期限" in body


def test_a_court_case_page_records_filing_and_conclusion_and_has_no_petition_clock(world):
    admin = client_for("banner_admin")
    case = register(admin, channel="visit", procedure="litigation", petitioners=(("赵六", "", ""),))
    page = admin.get(f"/cases/{case.reference}/")
    offered = [a["action"] for a in page.context["actions"]]
    assert {"pre_mediate", "file", "conclude"} <= set(offered)
    assert not {"accept", "supervise", "extend", "request_review", "opinion"} & set(offered)  # 诉访分离
    assert page.context["deadlines"] == [] and "本程序不适用信访时限" in text(page)
    today = local_today().isoformat()
    assert (
        act(
            admin, case, "file", body="准格尔旗人民法院矿区法庭", number="(2026)内0622民初88号", filed_at=today
        ).status_code
        == 302
    )
    assert act(admin, case, "conclude", outcome="mediated", at=today, text="调解结案,赔偿2万元").status_code == 302
    body = text(admin.get(f"/cases/{case.reference}/"))
    legal = body[body.index('id="legal"') : body.index('id="result"')]
    assert "(2026)内0622民初88号" in legal and "准格尔旗人民法院矿区法庭" in legal and "调解结案" in legal
    assert "调解结案,赔偿2万元" in body


def test_a_failed_mediation_can_be_led_into_litigation_or_arbitration_only(world):
    case = register(client_for("banner_admin"))
    officer = client_for("village_officer", "150622106202")
    act(officer, case, "accept")
    assert act(officer, case, "fail", reason="双方分歧大").status_code == 302
    page = officer.get(f"/cases/{case.reference}/")
    [route] = [a["form"] for a in page.context["actions"] if a["action"] == "route"]
    assert [v for v, _ in route.fields["route"].choices] == ["litigation", "arbitration"]
    assert {"convert", "close", "follow_up"} <= {a["action"] for a in page.context["actions"]}
    assert act(officer, case, "route", route="party_appeal").status_code == 400  # not a choice here
    assert act(officer, case, "route", route="arbitration", body="旗劳动人事争议仲裁委").status_code == 302
    case.refresh_from_db()
    assert (case.procedure, case.status) == ("arbitration", "led_into")
    assert "确定办理途径(第31条)" in text(officer.get(f"/cases/{case.reference}/"))


def test_a_refused_action_shows_the_error_on_its_form_and_changes_nothing(world):
    admin = client_for("banner_admin")
    case = register(admin, channel="visit")
    act(admin, case, "accept")
    response = act(admin, case, "extend", days="31", reason="需鉴定", approved_by="乡长", told_at="2026-01-01")
    assert response.status_code == 400
    [extend] = [a for a in response.context["actions"] if a["action"] == "extend"]
    assert "days" in extend["form"].errors and extend["open"]
    case.refresh_from_db()
    assert case.extension_days == 0


def test_a_refusal_by_the_service_is_shown_in_chinese_and_english_next_to_its_field(world):
    admin = client_for("banner_admin")
    case = register(admin)
    officer = client_for("village_officer", "150622106202")
    act(officer, case, "accept", person="村支书张某")
    act(officer, case, "agreement", text="退还草地")
    case.refresh_from_db()
    version, events = case.version, case.events.count()
    response = act(officer, case, "follow_up", satisfaction="satisfied", by="村支书张某", method="phone")
    assert response.status_code == 400
    [form] = [a["form"] for a in response.context["actions"] if a["action"] == "follow_up"]
    [message] = form.errors["by"]
    assert message.startswith("回访须由承办人以外的人员进行 / follow_up:")
    body = text(response)
    field = body[body.index('id="field-follow_up-by"') :]
    field = field[: field.index("</div>")]
    assert "回访须由承办人以外的人员进行" in field and "handled the case" in field
    case.refresh_from_db()
    assert (case.version, case.events.count(), case.follow_ups.count()) == (version, events, 0)

    # the form's own check: the answer, or unreachable — not both
    both = act(officer, case, "follow_up", satisfaction="satisfied", unreachable="on", by="包片干部", method="visit")
    assert both.status_code == 400 and "二选一" in text(both)


def test_supervision_is_ordered_from_above_and_shown_with_the_follow_ups(world):
    admin = client_for("banner_admin")
    case = register(admin)
    officer = client_for("village_officer", "150622106202")
    assert "supervise" not in [a["action"] for a in officer.get(f"/cases/{case.reference}/").context["actions"]]
    act(officer, case, "accept")
    act(
        officer,
        case,
        "put_on_agenda",
        plan="三方调解",
        unit="VC-150622106202",
        person="村支书张某",
        deadline=local_today().isoformat(),
    )
    deadline = (local_today() + dt.timedelta(days=7)).isoformat()
    assert act(officer, case, "supervise", kind="urge", reason="自己督办自己", deadline=deadline).status_code == 403
    response = act(admin, case, "supervise", kind="listed", reason="逾期未化解,限期报告", deadline=deadline)
    assert response.status_code == 302
    act(officer, case, "agreement", text="退还草地")
    act(admin, case, "follow_up", unreachable="on", by="旗信访局赵某", method="phone")
    act(
        admin,
        case,
        "follow_up",
        satisfaction="basically_satisfied",
        by="旗信访局赵某",
        method="visit",
        reason="<b>回访</b>",
    )
    body = text(admin.get(f"/cases/{case.reference}/"))
    records = body[body.index('id="supervision"') : body.index('id="history"')]
    assert "督办记录" in records and "挂牌督办" in records and "双敖包村村委会" in records
    assert (
        "逾期未化解,限期报告" in records and deadline in records and "督办机关 " + admin.user.get_username() in records
    )
    assert "回访记录" in records and "未能联系到信访人" in records and "基本满意" in records and "上门回访" in records
    assert "旗信访局赵某" in records and "&lt;b&gt;回访&lt;/b&gt;" in records and "<b>回访</b>" not in records
    assert "满意度(回访)" in body


def test_the_page_has_chinese_labels_for_every_action_field_deadline_and_event(world):
    import re

    from geo_disputes.forms import ACTION_FORMS, ACTION_LABELS
    from geo_disputes.services.cases.workflow import PARAMETERS

    cjk = re.compile(r"[\u4e00-\u9fff]")
    assert set(ACTION_FORMS) == set(PARAMETERS) == set(ACTION_LABELS)
    for action, form_class in ACTION_FORMS.items():
        form = form_class(initial={"action": action, "version": 1})
        params = set(form.fields) - {"action", "version"}
        assert params <= PARAMETERS[action], action  # the form posts only what the service takes
        for name, field in form.fields.items():
            if name not in ("action", "version"):
                assert cjk.search(str(field.label)), (action, name)
            for value, label in getattr(field, "choices", []):
                assert value == "" or cjk.search(str(label)), (action, name, value)
        assert cjk.search(str(ACTION_LABELS[action]))

    admin = client_for("banner_admin")
    case = register(admin, channel="visit")
    act(admin, case, "accept")
    act(admin, case, "route", route="handling_opinion")
    act(admin, case, "supervise", kind="summon", reason="约谈", deadline=local_today().isoformat())
    act(admin, case, "opinion", outcome="support", text="予以支持")
    act(admin, case, "serve", served_at=local_today().isoformat(), method="post")
    act(admin, case, "follow_up", satisfaction="satisfied", by="回访员", method="sms")
    body = text(admin.get(f"/cases/{case.reference}/"))
    texts = re.findall(r"<(?:dt|summary|li id=\"due-[a-z_]+\")>(.*?)</(?:dt|summary|li)>", body, re.S)
    texts += re.findall(r"<label[^>]*>(.*?)</label>", body, re.S)
    assert len(texts) > 30
    for snippet in texts:
        plain = re.sub(r"<[^>]+>", "", snippet).strip()
        assert not plain or cjk.search(plain), plain
    history = body[body.index('id="history"') :]
    for row in re.findall(r"<tr>\s*<td>.*?</tr>", history, re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        assert cjk.search(cells[2]), cells[2]  # the action
        for line in re.findall(r"<small>(.*?)</small>", cells[5]):
            assert cjk.search(line.split(":")[0]), line  # each change names its field in Chinese


def test_a_stale_form_is_refused_with_a_message_and_nothing_changes(world):
    admin = client_for("banner_admin")
    case = register(admin)
    seen = case.version
    act(client_for("village_officer", "150622106202"), case, "accept")  # someone else acts first
    case.refresh_from_db()
    events = case.events.count()
    response = act(admin, case, "reject", version=seen, reason="不属于受理范围")
    assert response.status_code == 409
    body = text(response)
    assert "此事项已被他人修改,请刷新" in body
    after = Case.objects.get(pk=case.pk)
    assert (after.status, after.version, after.not_accepted_reason) == ("accepted", case.version, "")
    assert after.events.count() == events


def test_intake_chooses_the_procedure_the_forwarding_unit_and_the_representatives(world):
    admin = client_for("banner_admin")
    body = text(admin.get("/cases/new/"))
    assert "按类型和渠道自动选择" in body and "转送/交办单位" in body and "越级/上级交办" in body
    assert "petitioners-0-representative" in body and "代表" in body
    rows = [(f"张{n}", "", "") for n in range(7)]
    six = {f"petitioners-{n}-representative": "on" for n in range(6)}
    refused = admin.post("/cases/new/", form_data(petitioners=rows, channel="visit", **six))
    assert refused.status_code == 400 and "最多推选5名代表" in text(refused) and Case.objects.count() == 0

    two = {f"petitioners-{n}-representative": "on" for n in (1, 3)}
    case = register(
        admin,
        petitioners=rows,
        channel="visit",
        procedure="mediation",
        forwarded_by="TC-150622106",
        above_banner="city",
        **two,
    )
    assert case.procedure == "mediation" and case.forwarded_by.code == "TC-150622106" and case.above_banner == "city"
    assert sorted(case.petitioners.filter(representative=True).values_list("name", flat=True)) == ["张1", "张3"]
    page = admin.get(f"/cases/{case.reference}/")
    body = text(page)
    assert "<dt>程序</dt><dd>人民调解</dd>" in body and "赴市" in body and "转送/交办单位" in body

    petition = register(admin, petitioners=(("赵六", "", ""),), channel="letter", forwarded_by="BL-150622")
    page = admin.get(f"/cases/{petition.reference}/")
    assert "object" in [a["action"] for a in page.context["actions"]]
    assert "提出异议期限" in text(page)
    bad = admin.post("/cases/new/", form_data(procedure="lottery"))
    assert bad.status_code == 400 and list(bad.context["form"].errors) == ["procedure"]


def test_field_staff_see_no_action_forms_and_cannot_post_one(world):
    case = register(client_for("banner_admin"))
    field = client_for("field_staff")
    assert field.get(f"/cases/{case.reference}/").context["actions"] == []
    assert act(field, case, "accept").status_code == 403
    assert Case.objects.get(pk=case.pk).status == "reported"


# Queues and agenda --------------------------------------------------------------------------------


def test_village_queue_is_weekly_and_township_queue_monthly(world):
    admin = client_for("banner_admin")
    village_case = register(admin)
    township_case = register(
        admin,
        category="mining_subsidence",
        description="采煤导致41户房屋开裂",
        lon=str(SUJIGOU[0]),
        lat=str(SUJIGOU[1]),
        households_affected="41",
        departments=["housing", "justice"],
    )
    assert township_case.unit.code == "TC-150622004"

    officer = client_for("village_officer", "150622106202", unit=village_case.unit)
    mine = officer.get("/queues/")
    assert mine.status_code == 302 and mine["Location"] == "/queues/VC-150622106202/"
    weekly = officer.get("/queues/VC-150622106202/", {"date": "2026-03-04"})
    body = text(weekly)
    assert "本周" in body and "2026-03-02" in body and "2026-03-08" in body
    assert [c.reference for c in weekly.context["rows"]] == [village_case.reference]

    monthly = admin.get("/queues/TC-150622004/", {"date": "2026-03-04"})
    assert "本月" in text(monthly) and "2026-03-01" in text(monthly) and "2026-03-31" in text(monthly)
    assert [c.reference for c in monthly.context["rows"]] == [township_case.reference]

    assert officer.get("/queues/TC-150622004/").status_code == 404  # not a unit whose cases they see
    assert officer.get("/queues/NO-SUCH/").status_code == 404
    picker = admin.get("/queues/")
    assert picker.status_code == 200 and "VC-150622106202" in text(picker) and "TC-150622004" in text(picker)


def test_agenda_lists_on_agenda_cases_by_unit_with_overdue_flags(world):
    admin = client_for("banner_admin")
    listed = register(admin, legacy="on", description="历史遗留问题")
    register(admin, lon=str(BULA[0]), lat=str(BULA[1]), category="utilities")
    apply(listed, "accept", admin.user, listed.version)
    listed.refresh_from_db()
    apply(
        listed,
        "put_on_agenda",
        admin.user,
        listed.version,
        plan="包案领导约访,三方调解",
        unit="BL-150622",
        person="副旗长刘某",
        deadline=local_today(),
    )
    Case.objects.filter(pk=listed.pk).update(agenda_deadline=local_today() - dt.timedelta(days=2))
    response = admin.get("/agenda/")
    assert response.status_code == 200
    assert response.context["meeting"] == next_joint_meeting(local_today() - dt.timedelta(days=1))
    body = text(response)
    assert [c.reference for c in response.context["rows"]] == [listed.reference]
    assert "旗领导包案" in body and "包案领导约访,三方调解" in body and "副旗长刘某" in body
    assert response.context["rows"][0].agenda_overdue and "逾期" in body

    village = client_for("village_officer", "150622101206")
    assert village.get("/agenda/").context["rows"] == []  # scope holds on the agenda too
    past = admin.get("/agenda/", {"date": "2020-01-06"})
    assert past.context["rows"] == [] and past.context["meeting"] == dt.date(2020, 1, 6)


def test_the_intake_form_names_accused_persons_and_their_recusal(world):
    """One accused official per line; an account named is recused at once, a bad line is named."""
    director = StaffFactory(role="township_officer", scope_code="150622106").user
    admin = client_for("banner_admin")
    refused = admin.post(
        "/cases/new/",
        form_data(kind="accusation", accused_persons="李主任,村委会主任\n张会计,,VC-nowhere"),
    )
    assert refused.status_code == 400 and "第2行" in text(refused) and Case.objects.count() == 0
    case = register(
        admin,
        kind="accusation",
        accused_unit="VC-150622106202",
        accused_persons=f"李主任，村委会主任，VC-150622106202，{director.username}",
    )
    person = case.accused_persons.get()
    assert (person.name, person.position, person.unit.code, person.user) == (
        "李主任",
        "村委会主任",
        "VC-150622106202",
        director,
    )
    assert case.recusals.filter(user=director).exists()
    page = client_for("banner_admin").get(f"/cases/{case.reference}/")
    assert "被检举控告人" in text(page) and "李主任" in text(page)
    officer = Client()
    officer.force_login(director)
    assert officer.get(f"/cases/{case.reference}/").status_code == 404


# What planners and field staff read on the pages (issue 12 item 6) ----------------------------------

SECRET = "王建国家的草场被邻居李四围占8亩"
OFF_GRID = (111.0512345, 39.5487654)  # inside 双敖包村, on no 500 m grid node


def handled_case() -> tuple[Case, Client]:
    """A case with a secret description, transition reasons, a named person, mediators and a plan."""
    case = register(client_for("banner_admin"), description=SECRET, lon=str(OFF_GRID[0]), lat=str(OFF_GRID[1]))
    officer = client_for("village_officer", "150622106202")
    for action, params in (
        ("accept", {"reason": "村民李四承认围占"}),
        ("assign", {"person": "村支书张三丰", "reason": "由张三丰负责调解"}),
        ("session", {"mediators": "调解员赵六"}),
    ):
        case = apply(case, action, officer.user, case.version, **params)
    apply(
        case,
        "put_on_agenda",
        None,
        case.version,
        plan="约李四面谈退还草地",
        unit="VC-150622106202",
        person="村支书张三丰",
        deadline=(local_today() + dt.timedelta(days=20)).isoformat(),
    )
    return Case.objects.get(pk=case.pk), officer


SECRETS = (SECRET, "李四", "张三丰", "赵六", f"{OFF_GRID[0]:.6f}", f"{OFF_GRID[1]:.6f}")


def test_planners_and_field_staff_see_no_case_text_nor_exact_point_on_the_case_page(world):
    case, officer = handled_case()
    for reader in (client_for("planner"), client_for("field_staff")):
        response = reader.get(f"/cases/{case.reference}/")
        body = text(response)
        for secret in SECRETS:
            assert secret not in body, secret
        assert "经办人员" in body and "双敖包村" in body and case.get_category_display() in body
        lon, lat = response.context["map_config"]["point"]
        assert on_coarse_grid(lon, lat)
    full = text(officer.get(f"/cases/{case.reference}/"))
    for secret in SECRETS:
        assert secret in full, secret


def test_planners_get_no_person_or_plan_in_the_csv_queue_and_agenda(world):
    case, officer = handled_case()
    meeting = case.agenda_date.isoformat() if case.agenda_date else ""
    planner = client_for("planner")
    export = b"".join(planner.get("/cases/export.csv").streaming_content).decode("utf-8-sig")
    assert case.reference in export and "张三丰" not in export
    agenda = text(planner.get("/agenda/", {"date": meeting} if meeting else {}))
    assert case.reference in agenda and "张三丰" not in agenda and "李四" not in agenda
    queue = text(planner.get("/queues/VC-150622106202/"))
    assert case.reference in queue and "张三丰" not in queue
    officer_export = b"".join(officer.get("/cases/export.csv").streaming_content).decode("utf-8-sig")
    assert "村支书张三丰" in officer_export
    assert "约李四面谈退还草地" in text(officer.get("/agenda/", {"date": meeting} if meeting else {}))
