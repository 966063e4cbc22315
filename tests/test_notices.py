"""Written notices (issue 15): what a case's state allows, issuing with numbers that never skip, Word and PDF files
that hold the reference, the unit, the date and the petitioner (masked for readers who may not see names),
corrections that supersede, and service whose date runs the review clock."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.db import DatabaseError, transaction
from django.test import Client
from django.utils import timezone
from docx import Document
from pypdf import PdfReader
from rest_framework.test import APIClient

from geo_disputes.models import Banner, Case, CaseDocument, CaseEvent, DocumentCounter, NoticeKind
from geo_disputes.services.cases import notices
from geo_disputes.services.cases.clock import due_dates, local_today
from geo_disputes.services.cases.notice_files import to_docx, to_pdf
from geo_disputes.services.cases.notices import NoticeError
from geo_disputes.services.cases.service_of_documents import record_service

from .factories import StaffFactory, UnitFactory, box, intake_body, seed_places

PETITIONER = {"name": "李桂兰", "phone": "13800001111", "id_number": "150622196503030022"}
K = NoticeKind


@pytest.fixture
def world(db):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    UnitFactory(code="BD-petitions", name="旗信访局", kind="banner_department")
    admin = StaffFactory(role="banner_admin").user
    api = APIClient()
    api.force_authenticate(admin)
    return {"admin": admin, "api": api}


NAMES = ["李桂兰", "张玉梅", "刘长青", "赵海军", "孙秀英", "周建平", "吴国庆", "郑淑芬", "冯志强", "陈春花"]


def post(world, **overrides) -> str:
    """A new letter petition; each from another petitioner (the same one twice would be a repeat, Art. 19)."""
    n = world["posted"] = world.get("posted", -1) + 1
    someone = {"name": NAMES[n % len(NAMES)], "phone": f"138000{n:05d}", "id_number": ""}
    defaults = dict(
        category="land_occupation",
        channel="letter",
        description=f"对村里第{n + 1}次土地调整不服,来信请求处理",
        petitioners=[dict(PETITIONER) if n == 0 else someone],
        households_affected=3,
    )
    body = intake_body(**{**defaults, **overrides})
    response = world["api"].post("/api/cases/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["reference"]


def act(world, reference: str, action: str, **params) -> None:
    response = world["api"].post(f"/api/cases/{reference}/transitions/", {"action": action, **params}, format="json")
    assert response.status_code == 200, (action, response.json())


def case(reference: str) -> Case:
    return Case.objects.select_related("unit", "forwarded_by").get(reference=reference)


def answered(world) -> str:
    """A petition accepted, answered by a handling opinion (not yet served)."""
    ref = post(world)
    act(world, ref, "accept")
    act(world, ref, "route", route="handling_opinion")
    act(world, ref, "opinion", outcome="not_support", text="经核查,调整符合村规民约。")
    return ref


def texts(document: CaseDocument, user) -> tuple[str, str]:
    draft = notices.as_read_by(user, document)
    word = "\n".join(p.text for p in Document(io.BytesIO(to_docx(draft))).paragraphs)
    word += "\n".join(c.text for t in Document(io.BytesIO(to_docx(draft))).tables for r in t.rows for c in r.cells)
    reader = PdfReader(io.BytesIO(to_pdf(draft)))
    return word, "".join(page.extract_text() for page in reader.pages)


def issued_date(document: CaseDocument) -> str:
    day = document.issued_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    return f"{day.year}年{day.month}月{day.day}日"


# --- what the state allows -------------------------------------------------------------------------------------


def test_the_notices_offered_follow_the_procedure_and_state(world):
    ref = post(world)
    assert notices.offered_kinds(case(ref)) == []  # registered, not yet decided
    act(world, ref, "accept")
    assert notices.offered_kinds(case(ref)) == [K.ACCEPTANCE]
    act(world, ref, "route", route="handling_opinion")
    act(
        world,
        ref,
        "extend",
        days=30,
        reason="需要土地权属鉴定",
        approved_by="镇长王某",
        told_at=local_today().isoformat(),
    )
    assert notices.offered_kinds(case(ref)) == [K.ACCEPTANCE, K.EXTENSION]
    act(world, ref, "opinion", outcome="not_support", text="不予支持。")
    assert K.HANDLING_OPINION in notices.offered_kinds(case(ref))
    mediation = post(world, channel="talk_room", petitioners=[], description="草场边界纠纷")
    assert case(mediation).procedure == "mediation"
    act(world, mediation, "accept")
    act(world, mediation, "agreement", text="占用方退还8亩草地。", mediators="村调委会 张主任")
    assert notices.offered_kinds(case(mediation)) == [K.MEDIATION_AGREEMENT]


def test_a_notice_the_state_does_not_allow_is_refused_and_writes_nothing(world):
    ref = post(world)
    with pytest.raises(NoticeError, match="不能制发"):
        notices.issue(case(ref), K.HANDLING_OPINION, {}, world["admin"])
    assert not CaseDocument.objects.exists() and not DocumentCounter.objects.exists()


# --- every notice, as Word and PDF ------------------------------------------------------------------------------


def every_notice(world) -> list[CaseDocument]:
    admin = world["admin"]
    issued = []
    ref = answered(world)
    c = case(ref)
    issued.append(notices.issue(c, K.ACCEPTANCE, {}, admin))
    issued.append(
        notices.issue(c, K.HANDLING_OPINION, {"facts_and_reasons": "经现场核查…", "basis": "《农村土地承包法》"}, admin)
    )
    issued.append(notices.issue(case(ref), K.SERVICE_RECEIPT, {}, admin, receipt_for=issued[-1].number))
    act(world, ref, "serve", served_at=local_today().isoformat(), method="in_person")
    act(world, ref, "request_review", reason="不服处理意见")
    act(world, ref, "review_decision", outcome="uphold", text="维持原处理意见。")
    issued.append(
        notices.issue(case(ref), K.REVIEW_OPINION, {"facts_and_reasons": "复查查明…", "basis": "条例"}, admin)
    )
    act(world, ref, "serve", served_at=local_today().isoformat(), method="post")
    act(world, ref, "request_review", reason="申请复核")
    act(world, ref, "review_decision", outcome="uphold", text="复核维持。")
    issued.append(notices.issue(case(ref), K.REREVIEW_OPINION, {"facts_and_reasons": "复核…", "basis": "条例"}, admin))

    ext = post(world)
    act(world, ext, "accept")
    act(world, ext, "route", route="handling_opinion")
    act(world, ext, "extend", days=20, reason="需要鉴定", approved_by="镇长王某", told_at=local_today().isoformat())
    issued.append(notices.issue(case(ext), K.EXTENSION, {}, admin))

    rejected = post(world)
    act(world, rejected, "reject", reason="已由人民法院受理,属诉讼程序")
    issued.append(notices.issue(case(rejected), K.NON_ACCEPTANCE, {}, admin))

    moved = post(world)
    act(world, moved, "transfer", unit="BD-natural_resources", reason="属自然资源部门职责")
    issued.append(notices.issue(case(moved), K.TRANSFER, {}, admin))

    mediated = post(world, channel="talk_room", description="草场边界纠纷")
    act(world, mediated, "accept")
    act(world, mediated, "agreement", text="占用方退还8亩草地。", mediators="村调委会 张主任")
    issued.append(notices.issue(case(mediated), K.MEDIATION_AGREEMENT, {"other_party": "赵二虎"}, admin))

    agreed = post(world)
    act(world, agreed, "accept")
    deadline = (local_today() + dt.timedelta(days=30)).isoformat()
    act(
        world, agreed, "put_on_agenda", plan="联合调处", unit="BD-natural_resources", person="刘局长", deadline=deadline
    )
    issued.append(notices.issue(case(agreed), K.AGENDA_ASSIGNMENT, {}, admin))  # the joint meeting's 交办单
    return issued


def test_every_notice_opens_in_word_and_as_pdf_with_reference_unit_date_and_petitioner(world):
    issued = every_notice(world)
    assert {d.kind for d in issued} == set(K.values)
    for document in issued:
        word, pdf = texts(document, world["admin"])
        for text in (word, pdf):
            flat = re.sub(r"\s+", "", text)
            assert document.case.reference in flat, (document.kind, "reference")
            assert re.sub(r"\s+", "", document.unit.name) in flat, (document.kind, "unit")
            assert issued_date(document) in flat, (document.kind, "date")
            assert document.doc_number in flat, (document.kind, "number")
            names = [p.name for p in document.case.petitioners.all()]
            assert all(name in flat for name in names), (document.kind, "name")
    opinion = next(d for d in issued if d.kind == K.HANDLING_OPINION)
    word, _pdf = texts(opinion, world["admin"])
    assert "三十日内" in word and "复查" in word and "予以支持" not in word and "不予支持" in word
    final = next(d for d in issued if d.kind == K.REREVIEW_OPINION)
    assert "不再受理" in texts(final, world["admin"])[0]
    agreement = next(d for d in issued if d.kind == K.MEDIATION_AGREEMENT)
    assert "司法确认" in texts(agreement, world["admin"])[0] and "赵二虎" in texts(agreement, world["admin"])[0]


def test_a_petitioners_markup_is_text_in_the_pdf_not_markup(world):
    ref = answered(world)
    document = notices.issue(
        case(ref), K.HANDLING_OPINION, {"facts_and_reasons": "<b>加粗</b> & <font>", "basis": "条例"}, world["admin"]
    )
    _word, pdf = texts(document, world["admin"])
    assert "<b>加粗</b>" in pdf and "& <font>" in pdf


# --- numbers, immutability, corrections ------------------------------------------------------------------------


def test_numbers_run_per_unit_and_year_without_gaps_even_after_a_refusal(world):
    first, second = answered(world), answered(world)
    admin = world["admin"]
    a = notices.issue(case(first), K.ACCEPTANCE, {}, admin)
    with pytest.raises(NoticeError) as refusal:
        notices.issue(case(first), K.HANDLING_OPINION, {"facts_and_reasons": "…"}, admin)  # no basis
    assert refusal.value.field == "basis"
    b = notices.issue(case(second), K.ACCEPTANCE, {}, admin)
    assert a.unit_id == b.unit_id and (a.seq, b.seq) == (1, 2)
    assert b.doc_number.endswith(f"〔{b.year}〕2号") and b.number == f"{b.unit.code}-{b.year}-0002"


def test_an_issued_notice_never_changes_the_database_refuses_and_a_template_edit_leaves_it(world, settings, tmp_path):
    ref = answered(world)
    document = notices.issue(case(ref), K.ACCEPTANCE, {}, world["admin"])
    before = texts(document, world["admin"])[0]
    for name in K.values:
        (tmp_path / f"{name}.txt").write_text("标题：改过的标题\n\n新的措辞 {{ reference }}", encoding="utf-8")
    settings.NOTICE_TEMPLATE_DIR = tmp_path
    assert texts(CaseDocument.objects.get(pk=document.pk), world["admin"])[0] == before
    later = notices.issue(case(answered(world)), K.ACCEPTANCE, {}, world["admin"])
    assert later.title == "改过的标题" and "新的措辞" in texts(later, world["admin"])[0]  # the office's own words
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        CaseDocument.objects.filter(pk=document.pk).update(title="篡改")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        CaseDocument.objects.filter(pk=document.pk).delete()


def test_a_correction_supersedes_the_notice_and_the_old_one_says_so(world):
    ref = answered(world)
    admin = world["admin"]
    inputs = {"facts_and_reasons": "经核查…", "basis": "错误的条款"}
    old = notices.issue(case(ref), K.HANDLING_OPINION, inputs, admin)
    with pytest.raises(NoticeError, match="理由"):
        notices.issue(case(ref), K.HANDLING_OPINION, {**inputs, "basis": "x"}, admin, supersedes=old.number)
    new = notices.issue(
        case(ref),
        K.HANDLING_OPINION,
        {**inputs, "basis": "《信访工作条例》第三十二条"},
        admin,
        supersedes=old.number,
        reason="依据引用错误",
    )
    assert new.supersedes_id == old.pk and new.seq == old.seq + 1
    assert f"已被{new.doc_number}更正" in texts(old, admin)[0]
    with pytest.raises(NoticeError):  # a notice is superseded once; correct the correction instead
        notices.issue(case(ref), K.HANDLING_OPINION, inputs, admin, supersedes=old.number, reason="再改")
    history = list(
        CaseEvent.objects.filter(case__reference=ref, action="issue_document").values_list("changes", flat=True)
    )
    assert history[-1]["supersedes"] == old.doc_number


# --- service -------------------------------------------------------------------------------------------------------


def test_serving_the_written_reply_by_post_starts_the_review_window_from_the_service_date(world):
    ref = answered(world)
    admin = world["admin"]
    an_hour_ago = timezone.now() - dt.timedelta(minutes=10)  # not an hour: the reply was made now, and an hour back
    # crossed into the day before it between 00:00 and 01:00 in Asia/Shanghai (a CI run at 16:xx UTC failed so)
    inputs = {"facts_and_reasons": "…", "basis": "条例"}
    opinion = notices.issue(case(ref), K.HANDLING_OPINION, inputs, admin, now=an_hour_ago)
    with pytest.raises(NoticeError) as missing:
        record_service(opinion, admin, method="post", served_at=opinion.issued_at)
    assert missing.value.field == "tracking_number"
    with pytest.raises(NoticeError):
        record_service(
            opinion,
            admin,
            method="post",
            served_at=opinion.issued_at + dt.timedelta(days=3),
            tracking_number="1234567890123",
        )
    served = opinion.issued_at + dt.timedelta(minutes=5)
    record_service(opinion, admin, method="post", served_at=served, tracking_number="1234567890123", recipient="李桂兰")
    c = case(ref)
    assert (c.status, c.served_at, c.served_method) == ("served", served, "post")
    assert due_dates(c).review_request_by >= local_today() + dt.timedelta(days=30)


# --- the pages: scope, masks, contract ---------------------------------------------------------------------------


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_documents_page_lists_what_can_be_issued_previews_and_issues_by_post(world):
    ref = answered(world)
    web = browser(world["admin"])
    page = web.get(f"/cases/{ref}/documents/").content.decode()
    assert 'id="issue-acceptance"' in page and 'id="issue-handling_opinion"' in page
    preview = web.post(
        f"/cases/{ref}/documents/",
        {"kind": "handling_opinion", "facts_and_reasons": "<script>x</script>", "basis": "条例", "preview": "1"},
    )
    assert preview.status_code == 200 and "信访事项处理意见书" in preview.content.decode()
    assert "&lt;script&gt;x&lt;/script&gt;" in preview.content.decode() and not CaseDocument.objects.exists()
    bad = web.post(f"/cases/{ref}/documents/", {"kind": "handling_opinion", "facts_and_reasons": "…"})
    assert bad.status_code == 400 and 'data-field="basis"' in bad.content.decode()
    issued = web.post(f"/cases/{ref}/documents/", {"kind": "acceptance"})
    assert issued.status_code == 303
    number = issued["X-Document-Number"]
    word = web.get(f"/cases/{ref}/documents/{number}.docx")
    assert word["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    text = "\n".join(p.text for p in Document(io.BytesIO(word.content)).paragraphs)
    assert ref in text and PETITIONER["name"] in text
    pdf = web.get(f"/cases/{ref}/documents/{number}.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf["Cache-Control"] == "private, no-store"
    assert ref in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    served = web.post(
        f"/cases/{ref}/documents/{number}/service/",
        {"method": "in_person", "served_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "proof": "回证已签收"},
    )
    assert served.status_code == 303 and CaseDocument.objects.get(number=number).services.count() == 1


def test_readers_outside_the_case_get_404_and_masked_readers_no_names(world):
    ref = answered(world)
    document = notices.issue(case(ref), K.ACCEPTANCE, {}, world["admin"])
    url = f"/cases/{ref}/documents/{document.number}.docx"
    township = case(ref).township_code
    for outsider in (
        StaffFactory(role="planner").user,
        StaffFactory(role="village_officer", scope_code="150622101206").user,  # another township's village
        StaffFactory(role="township_officer", scope_code="150622101").user,
    ):
        web = browser(outsider)
        assert web.get(url).status_code == 404
        assert web.get(f"/cases/{ref}/documents/").status_code == 404
    officer = StaffFactory(role="township_officer", scope_code=township).user
    assert browser(officer).get(url).status_code == 200
    masked = notices.as_read_by(StaffFactory(role="field_staff", scope_code=township).user, document)
    assert PETITIONER["name"] not in str(masked.blocks) and "李某" in str(masked.blocks)


def test_an_accusations_notices_never_reach_the_accused_committee(world):
    UnitFactory(code="BD-discipline", name="旗纪委监委", kind="banner_department", area_code="150622")
    ref = post(world, kind="accusation", accused_unit="VC-150622106202", description="检举村委会私自出租集体草场")
    assert case(ref).unit.code == "BD-discipline"  # accusations go to the discipline body (条例 Art. 22)
    act(world, ref, "transfer", unit="BD-petitions", reason="涉及信访事项部分转旗信访局")
    assert notices.offered_kinds(case(ref)) == [K.TRANSFER]
    document = notices.issue(case(ref), K.TRANSFER, {}, world["admin"])
    accused = StaffFactory(role="village_officer", scope_code="150622106202").user
    grid = StaffFactory(role="grid_worker", scope_code="150622106202-001").user
    for user in (accused, grid):
        for url in (f"/cases/{ref}/documents/", f"/cases/{ref}/documents/{document.number}.pdf"):
            assert browser(user).get(url).status_code == 404, (user, url)
    assert browser(world["admin"]).get(f"/cases/{ref}/documents/{document.number}.pdf").status_code == 200


def test_the_case_page_links_its_documents_for_those_who_read_its_text(world):
    ref = answered(world)
    assert f'href="/cases/{ref}/documents/"' in browser(world["admin"]).get(f"/cases/{ref}/").content.decode()
    planner_page = browser(StaffFactory(role="planner").user).get(f"/cases/{ref}/").content.decode()
    assert "/documents/" not in planner_page


def test_service_in_person_keeps_the_photo_of_the_signed_receipt(world):
    """送达回证: the clerk photographs the receipt the petitioner signed; it is kept as a case attachment (a personal
    record: names and a signature) and linked from the service record, and it stands as the proof."""
    from PIL import Image

    from geo_disputes.models import Attachment, DocumentService

    ref = answered(world)
    document = notices.issue(case(ref), K.ACCEPTANCE, {}, world["admin"])
    web = browser(world["admin"])
    scan = io.BytesIO()
    Image.new("RGB", (300, 400), (250, 250, 250)).save(scan, "JPEG")
    scan.seek(0)
    scan.name = "回证.jpg"
    moment = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    served = web.post(
        f"/cases/{ref}/documents/{document.number}/service/",
        {"method": "in_person", "served_at": moment, "receipt_scan": scan},
    )
    assert served.status_code == 303
    record = DocumentService.objects.get(document=document)
    receipt = Attachment.objects.get(pk=record.receipt_scan_id)
    assert receipt.kind == "service_receipt" and receipt.case.reference == ref
    assert record.proof == "签收回证扫描件 回证.jpg"
    page = web.get(f"/cases/{ref}/documents/").content.decode()
    assert f"/api/cases/{ref}/attachments/{receipt.pk}/" in page
    # Not a picture of the damage: field staff, who may see site photos, do not get it.
    field = StaffFactory(role="field_staff", scope_code=case(ref).village_code).user
    assert browser(field).get(f"/api/cases/{ref}/attachments/{receipt.pk}/").status_code == 404
    # A receipt scan with service by post is refused, and nothing is kept.
    other = notices.issue(case(ref), K.ACCEPTANCE, {}, world["admin"], supersedes=document.number, reason="更正")
    scan.seek(0)
    refused = web.post(
        f"/cases/{ref}/documents/{other.number}/service/",
        {"method": "post", "served_at": moment, "tracking_number": "9876543210", "receipt_scan": scan},
    )
    assert refused.status_code == 302 and not DocumentService.objects.filter(document=other).exists()
    assert Attachment.objects.count() == 1
