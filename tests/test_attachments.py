"""Case attachments (issue 15): checked by content, kept byte for byte, shown by role (EXIF-free where the place
must not be seen), removed only by a recorded act, resumable on a weak line, and sent with the registration."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from PIL import Image
from PIL.ExifTags import IFD
from rest_framework.test import APIClient

from geo_disputes.models import Attachment, Banner, CaseEvent, PersonalDataAccess, UploadSession
from geo_disputes.services.cases import attachment_store as store
from geo_disputes.services.cases import attachments as service

from .factories import StaffFactory, UnitFactory, box, intake_body, seed_places

FIXTURES = Path(__file__).parent / "fixtures" / "attachments"
SHUANG = "150622106202"  # 双敖包村 (魏家峁镇 150622106)
PHOTO_PLACE = (111.0612345, 39.5523456)  # where the photo says it was taken: inside 双敖包村
IN_GRID = (111.005, 39.505)  # the case: in 双敖包村's grid -001 (seed_places), so its grid worker sees it


def photo(fmt: str = "JPEG", gps: bool = True, size=(640, 480)) -> bytes:
    """A phone photo: EXIF with GPS (WGS84), the time it was taken and the camera's orientation."""
    image = Image.new("RGB", size, (180, 120, 60))
    exif = Image.Exif()
    exif[0x0110] = "MARKPHONE-X1"  # camera model: must not survive in what is shown
    if gps:
        lon, lat = PHOTO_PLACE
        exif.get_ifd(IFD.GPSInfo).update(
            {1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon), 18: "WGS-84"}  # phones write WGS84
        )
    exif.get_ifd(IFD.Exif).update({0x9003: "2026:11:30 14:05:09", 0x9011: "+08:00"})
    out = io.BytesIO()
    image.save(out, fmt, exif=exif.tobytes() if fmt == "HEIF" else exif)
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    d = int(value)
    m = int((value - d) * 60)
    return (float(d), float(m), round((value - d - m / 60) * 3600, 4))


def pdf() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Agreement scan")
    page.save()
    return out.getvalue()


@pytest.fixture
def world(db):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    UnitFactory(code="BD-petitions", name="旗信访局", kind="banner_department")
    admin = StaffFactory(role="banner_admin").user
    api = APIClient()
    api.force_authenticate(admin)
    answer = api.post(
        "/api/cases/", intake_body(description="院墙开裂,怀疑采煤沉陷", lon=IN_GRID[0], lat=IN_GRID[1]), format="json"
    )
    assert answer.status_code == 201, answer.content
    return {"admin": admin, "api": api, "ref": answer.json()["reference"]}


def client_for(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def upload(api: APIClient, ref: str, data: bytes, name: str, **fields):
    return api.post(f"/api/cases/{ref}/attachments/", {"file": _named(data, name), **fields}, format="multipart")


def _named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# -- Content, not names --------------------------------------------------------------------------

ACCEPTED = [
    ("jpeg", lambda: photo(), "墙体裂缝.jpg", "image/jpeg"),
    ("png", lambda: photo("PNG", gps=False), "草图.png", "image/png"),
    ("heic", lambda: photo("HEIF"), "IMG_0001.HEIC", "image/heic"),
    ("pdf", pdf, "协议.pdf", "application/pdf"),
    ("mp3", lambda: (FIXTURES / "note.mp3").read_bytes(), "录音.mp3", "audio/mpeg"),
    ("m4a", lambda: (FIXTURES / "note.m4a").read_bytes(), "录音.m4a", "audio/mp4"),
    ("jpeg-named-txt", lambda: photo(), "not-a-photo.txt", "image/jpeg"),  # the content decides, not the name
]


@pytest.mark.parametrize(("label", "make", "name", "file_type"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_each_allowed_type_is_recognised_by_its_content_and_comes_back_byte_for_byte(
    world, label, make, name, file_type
):
    data = make()
    answer = upload(world["api"], world["ref"], data, name)
    assert answer.status_code == 201, answer.content
    info = answer.json()
    assert info["file_type"] == file_type and info["size"] == len(data) and info["id"]
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    got = world["api"].get(f"/api/cases/{world['ref']}/attachments/{info['id']}/")
    assert got.status_code == 200 and got["Content-Type"] == file_type
    assert body_of(got) == data
    assert got["X-Content-Type-Options"] == "nosniff" and got["Content-Disposition"].startswith("attachment;")


REFUSED = [
    ("html-named-jpg", lambda: b"<html><script>alert(1)</script></html>", "photo.jpg", "not one of"),
    ("truncated-jpeg", lambda: photo()[:400], "cut.jpg", "cannot be decoded"),
    ("video-named-m4a", lambda: (FIXTURES / "film.mp4").read_bytes(), "note.m4a", "holds video"),
    ("zip-named-pdf", lambda: b"PK\x03\x04" + bytes(200), "scan.pdf", "not one of"),
    ("pdf-header-only", lambda: b"%PDF-1.7\n" + b"garbage " * 50, "scan.pdf", "PDF"),
    ("empty", lambda: b"", "empty.jpg", "empty"),
    ("exe", lambda: b"MZ\x90\x00" + bytes(500), "setup.jpg", "not one of"),
]


@pytest.mark.parametrize(("label", "make", "name", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_content_that_is_not_an_allowed_type_is_400_naming_the_file_and_stores_nothing(
    world, label, make, name, message
):
    before = sorted(sha for sha, _ in store.stored())
    answer = upload(world["api"], world["ref"], make(), name)
    assert answer.status_code == 400, answer.content
    assert "file" in answer.json() and message in answer.json()["file"][0] or message in str(answer.json())
    assert Attachment.objects.count() == 0
    assert not CaseEvent.objects.filter(action="attach").exists()
    assert sorted(sha for sha, _ in store.stored()) == before


def test_a_file_over_the_limit_is_refused(world, settings):
    settings.ATTACHMENT_MAX_BYTES = 10_000
    answer = upload(world["api"], world["ref"], (FIXTURES / "note.mp3").read_bytes() * 3, "long.mp3")
    assert answer.status_code in (400, 413) and "MB" in str(answer.json())
    assert Attachment.objects.count() == 0


# -- Who sees what ---------------------------------------------------------------------------------


def test_the_scope_matrix_of_attachments(world):
    """Handlers get the original (EXIF included); field staff a site photo without EXIF and no ID scan; the
    planner, another village and another township nothing; 404 answers alike."""
    ref, api = world["ref"], world["api"]
    site = upload(api, ref, photo(), "裂缝.jpg", kind="site_photo").json()["id"]
    card = upload(api, ref, photo(gps=False), "身份证.jpg", kind="identity").json()["id"]
    roles = {
        "village_officer": ("full", StaffFactory(role="village_officer", scope_code=SHUANG).user),
        "grid_worker": ("full", StaffFactory(role="grid_worker", scope_code=f"{SHUANG}-001").user),
        # The township reads the text of matters its own committee holds; this one is at the village.
        "township_officer": (None, StaffFactory(role="township_officer", scope_code="150622106").user),
        "field_staff": ("shown", StaffFactory(role="field_staff", scope_code=SHUANG).user),
        "planner": (None, StaffFactory(role="planner").user),
        "other_village": (None, StaffFactory(role="village_officer", scope_code="150622101206").user),
        "other_township": (None, StaffFactory(role="township_officer", scope_code="150622101").user),
        "other_grid_worker": (None, StaffFactory(role="grid_worker", scope_code="150622101206-001").user),
    }
    original = photo()
    for role, (view, user) in roles.items():
        api_user = client_for(user)
        listed = api_user.get(f"/api/cases/{ref}/attachments/")
        got_site = api_user.get(f"/api/cases/{ref}/attachments/{site}/")
        got_card = api_user.get(f"/api/cases/{ref}/attachments/{card}/")
        thumb = api_user.get(f"/api/cases/{ref}/attachments/{site}/?variant=thumbnail")
        if view is None:
            assert {listed.status_code, got_site.status_code, got_card.status_code, thumb.status_code} == {404}, role
            continue
        assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg", role
        assert not Image.open(io.BytesIO(body_of(thumb))).getexif(), role
        if view == "full":
            assert [a["id"] for a in listed.json()["attachments"]] == [site, card], role
            assert body_of(got_site) == original, role
            assert got_card.status_code == 200, role
            assert listed.json()["attachments"][0]["exif"]["datum"] == "WGS84"
        else:
            rows = listed.json()["attachments"]
            assert [a["id"] for a in rows] == [site], role  # no ID card
            assert "exif" not in rows[0] and rows[0]["name"] == "", role
            shown = body_of(got_site)
            assert shown != original and b"MARKPHONE" not in shown, role
            picture = Image.open(io.BytesIO(shown))
            assert not picture.getexif() and picture.size == (640, 480), role
            assert got_card.status_code == 404, role


def test_exif_place_and_time_are_kept_in_wgs84_and_told_to_handlers(world):
    info = upload(world["api"], world["ref"], photo(), "裂缝.jpg").json()
    lon, lat = PHOTO_PLACE
    assert abs(info["exif"]["lon"] - lon) < 1e-6 and abs(info["exif"]["lat"] - lat) < 1e-6
    assert info["exif"]["datum"] == "WGS84" and info["exif"]["taken_at"].startswith("2026-11-30T14:05:09+08:00")
    heic = upload(world["api"], world["ref"], photo("HEIF"), "IMG.HEIC").json()
    assert abs(heic["exif"]["lon"] - lon) < 1e-6  # a HEIC photo's EXIF is read too
    page = Client()
    page.force_login(world["admin"])
    html = page.get(f"/cases/{world['ref']}/").content.decode()
    section = html[html.index('id="attachments"') :]
    assert "拍摄位置 111.06123" in section and "39.552346 (WGS84)" in section and "2026-11-30 14:05" in section, (
        section[:3000]
    )


def test_a_photo_naming_another_datum_is_not_offered_as_a_place(world):
    image = Image.new("RGB", (32, 32))
    exif = Image.Exif()
    exif.get_ifd(IFD.GPSInfo).update({1: "N", 2: (39.0, 33.0, 0.0), 3: "E", 4: (111.0, 3.0, 0.0), 18: "TOKYO"})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    info = upload(world["api"], world["ref"], out.getvalue(), "x.jpg").json()
    assert info["exif"]["lon"] is None and info["exif"]["lat"] is None


def test_downloading_an_id_scan_is_recorded_as_a_view_of_personal_data(world):
    card = upload(world["api"], world["ref"], photo(gps=False), "身份证.jpg", kind="identity").json()["id"]
    before = PersonalDataAccess.objects.count()
    world["api"].get(f"/api/cases/{world['ref']}/attachments/{card}/")
    assert PersonalDataAccess.objects.count() == before + 1


def test_planners_may_not_attach_and_the_page_shows_them_no_files(world):
    planner = StaffFactory(role="planner").user
    answer = upload(client_for(planner), world["ref"], photo(), "x.jpg")
    assert answer.status_code == 404
    upload(world["api"], world["ref"], photo(), "院墙.jpg")
    page = Client()
    page.force_login(planner)
    html = page.get(f"/cases/{world['ref']}/").content.decode()
    assert 'id="attachments"' not in html and "院墙.jpg" not in html and "/attachments/" not in html


def test_field_staff_see_the_site_photo_but_cannot_add_files_after_intake(world):
    field = StaffFactory(role="field_staff", scope_code=SHUANG).user
    assert upload(client_for(field), world["ref"], photo(), "x.jpg").status_code == 403
    upload(world["api"], world["ref"], photo(), "院墙<b>.jpg")
    page = Client()
    page.force_login(field)
    html = page.get(f"/cases/{world['ref']}/").content.decode()
    assert 'id="attachments"' in html and "variant=thumbnail" in html
    assert "院墙" not in html and 'id="attach-form"' not in html  # no name (it may name someone), no upload form


def test_names_and_captions_are_escaped_on_the_page(world):
    upload(world["api"], world["ref"], photo(), "<img src=x onerror=alert(1)>.jpg", caption="<script>x</script>")
    page = Client()
    page.force_login(world["admin"])
    html = page.get(f"/cases/{world['ref']}/").content.decode()
    assert "<img src=x" not in html and "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


# -- Removal is a recorded act -----------------------------------------------------------------


def test_removal_needs_a_reason_keeps_the_record_and_purges_the_bytes(world):
    data = photo()
    info = upload(world["api"], world["ref"], data, "错传的身份证.jpg", kind="identity").json()
    url = f"/api/cases/{world['ref']}/attachments/{info['id']}/"
    no_reason = world["api"].delete(url)
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    gone = world["api"].delete(url, {"reason": "误传他人身份证"}, format="json")
    assert gone.status_code == 204
    row = Attachment.objects.get(pk=info["id"])
    assert row.removed_at and row.removed_by == world["admin"] and row.removal_reason == "误传他人身份证"
    event = CaseEvent.objects.get(action="remove_attachment")
    assert event.reason == "误传他人身份证" and event.changes["attachment"] == info["id"]
    assert world["api"].get(url).status_code == 404
    assert world["api"].delete(url, {"reason": "again"}, format="json").status_code == 404


def test_removed_bytes_leave_the_disk_once_the_removal_commits(world, django_capture_on_commit_callbacks):
    data = photo()
    info = upload(world["api"], world["ref"], data, "a.jpg").json()
    sha = hashlib.sha256(data).hexdigest()
    assert store.exists(sha)
    with django_capture_on_commit_callbacks(execute=True):
        world["api"].delete(
            f"/api/cases/{world['ref']}/attachments/{info['id']}/", {"reason": "重复上传"}, format="json"
        )
    assert not store.exists(sha)
    row = Attachment.objects.get(pk=info["id"])
    assert not store.exists(row.thumbnail_sha256) and not store.exists(row.stripped_sha256)


def test_the_database_refuses_to_delete_or_rewrite_an_attachment_row(world):
    info = upload(world["api"], world["ref"], photo(), "a.jpg").json()
    for statement in (
        "DELETE FROM geo_disputes_attachment WHERE id = %s",
        "UPDATE geo_disputes_attachment SET name = 'other.jpg' WHERE id = %s",
        "UPDATE geo_disputes_attachment SET removed_at = now() WHERE id = %s",  # no remover, no reason
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [info["id"]])
    assert Attachment.objects.get(pk=info["id"]).name == "a.jpg"


def test_the_case_history_records_the_attachment_without_its_name(world):
    info = upload(world["api"], world["ref"], photo(), "王建国身份证.jpg", kind="identity").json()
    event = CaseEvent.objects.get(action="attach")
    assert event.changes == {
        "attachment": info["id"],
        "material": "identity",
        "file_type": "image/jpeg",
        "size": info["size"],
    }
    planner = StaffFactory(role="planner").user
    page = Client()
    page.force_login(planner)
    assert "王建国身份证" not in page.get(f"/cases/{world['ref']}/").content.decode()


# -- Resumable upload --------------------------------------------------------------------------


def test_a_large_upload_resumes_after_a_dropped_chunk_and_ends_byte_for_byte(world, settings):
    settings.ATTACHMENT_CHUNK_BYTES = 4096
    data = pdf() + b"\n%" + os.urandom(20_000)  # a PDF with trailing bytes: still a PDF, > 5 chunks
    api, ref = world["api"], world["ref"]
    start = api.post(
        f"/api/cases/{ref}/uploads/",
        {"name": "大扫描件.pdf", "size": len(data), "kind": "agreement", "sha256": hashlib.sha256(data).hexdigest()},
        format="json",
    )
    assert start.status_code == 201, start.content
    url = start.json()["url"]

    def put(first: int, last: int):
        return api.generic(
            "PUT",
            url,
            data[first : last + 1],
            content_type="application/octet-stream",
            HTTP_CONTENT_RANGE=f"bytes {first}-{last}/{len(data)}",
        )

    assert put(0, 4095).json()["received"] == 4096
    # The line drops; the client does not know whether its second chunk arrived, and sends the third.
    wrong = put(8192, 12287)
    assert wrong.status_code == 409 and wrong.json()["received"] == 4096
    assert api.get(url).json()["received"] == 4096  # where to resume
    offset, answer = 4096, None
    while offset < len(data):
        last = min(offset + 4095, len(data) - 1)
        answer = put(offset, last)
        offset = last + 1
    assert answer.status_code == 201, answer.content
    got = api.get(f"/api/cases/{ref}/attachments/{answer.json()['id']}/")
    assert body_of(got) == data
    assert not UploadSession.objects.exists()


def test_an_upload_whose_bytes_do_not_match_its_checksum_is_refused_whole(world, settings):
    settings.ATTACHMENT_CHUNK_BYTES = 4096
    data = pdf()
    api, ref = world["api"], world["ref"]
    start = api.post(
        f"/api/cases/{ref}/uploads/", {"name": "x.pdf", "size": len(data), "sha256": "0" * 64}, format="json"
    ).json()
    offset, answer = 0, None
    while offset < len(data):
        last = min(offset + 4095, len(data) - 1)
        answer = api.generic(
            "PUT",
            start["url"],
            data[offset : last + 1],
            content_type="application/octet-stream",
            HTTP_CONTENT_RANGE=f"bytes {offset}-{last}/{len(data)}",
        )
        offset = last + 1
    assert answer.status_code == 400 and "SHA-256" in str(answer.json())
    assert Attachment.objects.count() == 0 and not UploadSession.objects.exists()


def test_another_users_upload_session_is_404(world):
    start = (
        world["api"].post(f"/api/cases/{world['ref']}/uploads/", {"name": "x.pdf", "size": 100}, format="json").json()
    )
    other = client_for(StaffFactory(role="banner_admin").user)
    assert other.get(start["url"]).status_code == 404


def test_the_daily_sweep_removes_stale_sessions_and_unreferenced_files(world):
    import datetime as dt

    from django.utils import timezone

    kept = photo()
    upload(world["api"], world["ref"], kept, "kept.jpg")
    orphan = store.put_bytes(b"left by a rolled-back transaction")
    old = 1_000_000_000
    os.utime(store.path_for(orphan), (old, old))
    os.utime(store.path_for(hashlib.sha256(kept).hexdigest()), (old, old))
    start = world["api"].post(f"/api/cases/{world['ref']}/uploads/", {"name": "x.pdf", "size": 10}, format="json")
    UploadSession.objects.filter(pk=start.json()["id"]).update(touched_at=timezone.now() - dt.timedelta(days=2))
    result = service.sweep()
    assert result["upload_sessions"] == 1 and result["files"] == 1
    assert not store.exists(orphan) and store.exists(hashlib.sha256(kept).hexdigest())


# -- At intake (the phone form) -------------------------------------------------------------------


def _intake_post(user, files: list[tuple[str, bytes]]):
    page = Client()
    page.force_login(user)
    form = {
        "category": "land_occupation",
        "channel": "talk_room",
        "kind": "claim",
        "description": "院墙开裂,拍照为证",
        "lon": str(IN_GRID[0]),
        "lat": str(IN_GRID[1]),
        "datum": "wgs84",
        "households_affected": "1",
        "petitioners-TOTAL_FORMS": "1",
        "petitioners-INITIAL_FORMS": "0",
        "petitioners-MIN_NUM_FORMS": "0",
        "petitioners-MAX_NUM_FORMS": "1000",
        "petitioners-0-name": "王建国",
        "petitioners-0-phone": "13912345678",
        "photos": [_named(data, name) for name, data in files],
    }
    return page.post("/cases/new/", form)


def test_a_grid_worker_attaches_photos_with_the_registration(world):
    worker = StaffFactory(role="grid_worker", scope_code=f"{SHUANG}-001").user
    answer = _intake_post(worker, [("IMG_1.jpg", photo()), ("录音.m4a", (FIXTURES / "note.m4a").read_bytes())])
    assert answer.status_code == 302, answer.content.decode()[:2000]
    case_ref = answer["Location"].rstrip("/").rsplit("/", 1)[-1]
    files = Attachment.objects.filter(case__reference=case_ref).order_by("name")
    assert [(a.name, a.kind, a.added_by) for a in files] == [
        ("IMG_1.jpg", "site_photo", worker),
        ("录音.m4a", "audio", worker),
    ]


def test_field_staff_attach_at_intake_and_a_bad_file_registers_nothing(world):
    field = StaffFactory(role="field_staff", scope_code=SHUANG).user
    from geo_disputes.models import Case

    before = Case.objects.count()
    answer = _intake_post(field, [("IMG_1.jpg", photo()), ("evil.jpg", b"<html>not a photo</html>")])
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "evil.jpg" in html and "现场照片、材料和录音" in html
    assert Case.objects.count() == before and Attachment.objects.count() == 0
    ok = _intake_post(field, [("IMG_1.jpg", photo())])
    assert ok.status_code == 302 and Attachment.objects.filter(added_by=field).count() == 1


def test_the_intake_form_offers_the_camera(world):
    worker = StaffFactory(role="grid_worker", scope_code=f"{SHUANG}-001").user
    page = Client()
    page.force_login(worker)
    html = page.get("/cases/new/").content.decode()
    assert 'enctype="multipart/form-data"' in html and 'capture="environment"' in html and 'name="photos"' in html


def test_the_attachments_section_is_english_when_chosen(world):
    import re

    upload(world["api"], world["ref"], photo(), "wall.jpg")
    page = Client()
    page.force_login(world["admin"])
    page.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = page.get(f"/cases/{world['ref']}/").content.decode()
    start = html.index('id="attachments"')
    section = html[start : html.index("</section>", start)]
    assert "Attachments" in section and "Take a photo" in section and "Site photo" in section
    assert not re.search(r"[\u4e00-\u9fff]", section), re.findall(r"[\u4e00-\u9fff]+", section)
