"""Case exchange (issue 15 part 6): a case leaves as one zip (manifest + notices + attachments, each hashed) and
comes in at a neighbouring county through intake — once: the same package, our own case coming back, or a case
imported before is refused as already present. Tampered files, unknown versions and points outside the banner
are refused naming the file or field, with nothing written; a dry run writes nothing."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from geo_disputes.models import Attachment, Banner, Case, CaseEvent, Party, PersonalDataAccess
from geo_disputes.services.cases import attachment_store as store
from geo_disputes.services.cases import exchange, notices
from geo_disputes.services.cases.exchange import AlreadyPresent, ExchangeError, Source

from .factories import StaffFactory, UnitFactory, box, intake_body, seed_places
from .test_attachments import pdf, photo

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "exchange-schema.json"
NEIGHBOUR = Source("geo-disputes", "150627", "伊金霍洛旗")  # the county next door, simulated in the same database
IN_GRID = (111.005, 39.505)  # in 双敖包村's grid -001 (seed_places): its grid worker, the petition agent, sees it
PETITIONER = {"name": "李桂兰", "phone": "13800001111", "id_number": "150622196503030022"}


@pytest.fixture
def world(db):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    UnitFactory(code="BD-petitions", name="旗信访局", kind="banner_department")
    admin = StaffFactory(role="banner_admin").user
    api = APIClient()
    api.force_authenticate(admin)
    body = intake_body(
        category="land_occupation",
        channel="letter",
        description="村里土地调整后我家草场被占,来信请求处理",
        petitioners=[dict(PETITIONER), {"name": "王二小", "phone": "13900002222", "id_number": ""}],
        households_affected=2,
        lon=IN_GRID[0],
        lat=IN_GRID[1],
    )
    answer = api.post("/api/cases/", body, format="json")
    assert answer.status_code == 201, answer.content
    ref = answer.json()["reference"]
    for action, params in (
        ("accept", {}),
        ("route", {"route": "handling_opinion"}),
        ("opinion", {"outcome": "not_support", "text": "经核查,调整符合村规民约。"}),
    ):
        step = api.post(f"/api/cases/{ref}/transitions/", {"action": action, **params}, format="json")
        assert step.status_code == 200, (action, step.content)
    case = Case.objects.get(reference=ref)
    document = notices.issue(case, "handling_opinion", {"facts_and_reasons": "经查属实", "basis": "条例第32条"}, admin)
    photo_bytes, pdf_bytes = photo(), pdf()
    for data, name, kind in ((photo_bytes, "裂缝.jpg", "site_photo"), (pdf_bytes, "协议.pdf", "agreement")):
        sent = api.post(
            f"/api/cases/{ref}/attachments/", {"file": _named(data, name), "kind": kind}, format="multipart"
        )
        assert sent.status_code == 201, sent.content
    return {
        "admin": admin,
        "api": api,
        "ref": ref,
        "case": case,
        "document": document,
        "files": [photo_bytes, pdf_bytes],
    }


def _named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def package(world, source: Source | None = NEIGHBOUR, ref: str | None = None) -> bytes:
    case = Case.objects.get(reference=ref or world["ref"])
    return exchange.package_bytes(case, world["admin"], source=source)


def manifest_of(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read("manifest.json"))


def rezip(data: bytes, *, edit=None, replace: dict[str, bytes] | None = None, drop: str = "", add=None) -> bytes:
    """The package rewritten: the manifest edited, members replaced, dropped or added (a tamperer's tools)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename == drop:
                continue
            content = source.read(info)
            if info.filename == "manifest.json" and edit is not None:
                manifest = json.loads(content)
                edit(manifest)
                content = json.dumps(manifest, ensure_ascii=False).encode()
            content = (replace or {}).get(info.filename, content)
            target.writestr(info.filename, content)
        for name, content in (add or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def counts() -> tuple[int, ...]:
    return (
        Case.objects.count(),
        Party.objects.count(),
        Attachment.objects.count(),
        CaseEvent.objects.count(),
        PersonalDataAccess.objects.count(),
    )


def stored_files() -> set[str]:
    return {sha for sha, _ in store.stored()}


# -- The package ----------------------------------------------------------------------------------------------


def test_a_real_export_follows_the_documented_schema_and_lists_every_file_with_its_hash(world):
    data = package(world, source=None)
    manifest = manifest_of(data)
    jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))).validate(manifest)
    assert manifest["schema"] == "geo-disputes/case-exchange" and manifest["version"] == 1
    assert manifest["source"] == {"system": "geo-disputes", "banner_code": "150622", "banner_name": "准格尔旗"}
    case = manifest["case"]
    assert case["reference"] == world["ref"] and case["location"]["datum"] == "WGS84"
    assert case["village_code"] == "150622106202" and case["dates"]["accepted_at"]
    assert [p["id_number"] for p in manifest["petitioners"]] == [PETITIONER["id_number"], ""]
    assert [e["action"] for e in manifest["history"]][:1] == ["report"] and len(manifest["history"]) >= 5
    [document] = manifest["documents"]
    number = world["document"].number
    assert document["files"] == [f"documents/{number}.docx", f"documents/{number}.pdf"]
    assert PETITIONER["name"] in document["text"] and "经查属实" in document["text"]  # whole names: a transfer
    assert [a["sha256"] for a in manifest["attachments"]] == [hashlib.sha256(b).hexdigest() for b in world["files"]]
    assert manifest["attachments"][0]["exif"]["datum"] == "WGS84"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        assert names == {"manifest.json", *(f["path"] for f in manifest["files"])}
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"], entry["path"]
        assert archive.read(f"files/{manifest['attachments'][0]['sha256']}") == world["files"][0]


def test_each_export_is_recorded_as_a_view_of_personal_data(world):
    before = PersonalDataAccess.objects.filter(user=world["admin"], case=world["case"]).count()
    package(world)
    assert PersonalDataAccess.objects.filter(user=world["admin"], case=world["case"]).count() == before + 1


# -- Import ---------------------------------------------------------------------------------------------------


def test_a_neighbours_package_becomes_one_case_here_with_its_petitioners_files_and_documents(world):
    original = world["case"]
    data = package(world)
    before, files_before = counts(), stored_files()
    dry = exchange.import_package(io.BytesIO(data), world["admin"])
    assert not dry.committed and dry.petitioners == [PETITIONER["name"], "王二小"]
    assert len(dry.attachments) == 2 and len(dry.documents) == 1
    assert counts() == before and stored_files() == files_before  # the dry run wrote nothing, not even bytes

    report = exchange.import_package(io.BytesIO(data), world["admin"], commit=True)
    new = Case.objects.get(reference=report.reference)
    assert new.pk != original.pk and (new.external_source, new.external_reference) == (
        "geo-disputes/150627",
        original.reference,
    )
    for name in ("category", "channel", "kind", "description", "received_at", "village_code", "households_affected"):
        assert getattr(new, name) == getattr(original, name), name
    assert abs(new.location.x - original.location.x) < 1e-9 and abs(new.location.y - original.location.y) < 1e-9
    assert new.holder_received_at is not None and new.holder_received_at > original.received_at  # our own receipt
    assert [(p.name, p.phone, p.id_number) for p in new.petitioners.order_by("id")] == [
        (p.name, p.phone, p.id_number) for p in original.petitioners.order_by("id")
    ]
    kept = list(Attachment.objects.filter(case=new).order_by("added_at", "id"))
    assert [store.read_bytes(a.sha256) for a in kept[:2]] == world["files"]  # byte for byte
    [issued] = kept[2:]
    assert issued.file_type == "application/pdf" and world["document"].doc_number in issued.caption
    imported = new.events.get(action="import_case")
    assert imported.changes["external_reference"] == original.reference and imported.changes["source"] == NEIGHBOUR.key
    assert [d["number"] for d in imported.changes["source_documents"]] == [world["document"].doc_number]
    assert "伊金霍洛旗" in imported.reason and report.status == new.status


def test_the_same_package_twice_is_refused_as_already_present(world):
    data = package(world)
    first = exchange.import_package(io.BytesIO(data), world["admin"], commit=True)
    before = counts()
    with pytest.raises(AlreadyPresent) as refused:
        exchange.import_package(io.BytesIO(data), world["admin"], commit=True)
    assert refused.value.reference == first.reference and "already present" in str(refused.value)
    with pytest.raises(AlreadyPresent):  # a fresh export of the same case by the same source: the same case
        exchange.import_package(io.BytesIO(package(world)), world["admin"])
    assert counts()[:4] == before[:4]


def test_our_own_case_coming_back_is_already_present(world):
    with pytest.raises(AlreadyPresent) as refused:
        exchange.import_package(io.BytesIO(package(world, source=None)), world["admin"], commit=True)
    assert refused.value.reference == world["ref"]
    renamed = package(world, source=Source("gd-v2", "150622"))  # same banner and reference, another system name
    with pytest.raises(AlreadyPresent):
        exchange.import_package(io.BytesIO(renamed), world["admin"], commit=True)
    unknown = rezip(package(world, source=None), edit=lambda m: m["case"].update(reference="ZGE-2020-999999"))
    with pytest.raises(ExchangeError, match="claims to come from this banner"):
        exchange.import_package(io.BytesIO(unknown), world["admin"], commit=True)


def test_a_case_we_imported_sent_back_to_us_by_another_county_is_already_present(world):
    report = exchange.import_package(io.BytesIO(package(world)), world["admin"], commit=True)
    onward = package(world, source=Source("geo-disputes", "150621", "达拉特旗"), ref=report.reference)
    assert manifest_of(onward)["case"]["origin"] == {"source": NEIGHBOUR.key, "reference": world["ref"]}
    with pytest.raises(AlreadyPresent):
        exchange.import_package(io.BytesIO(onward), world["admin"], commit=True)


def test_a_tampered_file_is_refused_naming_it_and_nothing_is_written(world):
    data = package(world)
    manifest = manifest_of(data)
    path = manifest["attachments"][0]["path"]
    forged = bytearray(world["files"][0])
    forged[-10] ^= 0xFF
    before = counts()
    with pytest.raises(ExchangeError) as refused:
        exchange.import_package(io.BytesIO(rezip(data, replace={path: bytes(forged)})), world["admin"], commit=True)
    assert path in str(refused.value) and "SHA-256" in str(refused.value)
    assert counts() == before


def test_an_attachment_whose_listed_type_is_not_its_content_is_refused(world):
    def relabel(manifest: dict) -> None:
        manifest["attachments"][0]["file_type"] = "application/pdf"  # the photo, said to be a PDF

    before = counts()
    with pytest.raises(ExchangeError, match=r"attachments\[0\].file_type: .*image/jpeg"):
        exchange.import_package(io.BytesIO(rezip(package(world), edit=relabel)), world["admin"], commit=True)
    assert counts()[:4] == before[:4]


def test_a_missing_or_unlisted_file_is_refused(world):
    data = package(world)
    path = manifest_of(data)["attachments"][1]["path"]
    with pytest.raises(ExchangeError, match=f"{path}: .*missing"):
        exchange.import_package(io.BytesIO(rezip(data, drop=path)), world["admin"])
    with pytest.raises(ExchangeError, match="extra.exe: .*does not list"):
        exchange.import_package(io.BytesIO(rezip(data, add={"extra.exe": b"MZ"})), world["admin"])


@pytest.mark.parametrize(("version", "message"), [(2, "unsupported package version 2"), ("1", "version '1'")])
def test_an_unknown_version_is_refused_with_a_clear_message(world, version, message):
    data = rezip(package(world), edit=lambda m: m.update(version=version))
    before = counts()
    with pytest.raises(ExchangeError, match=message) as refused:
        exchange.import_package(io.BytesIO(data), world["admin"], commit=True)
    assert "不支持的交换包版本" in str(refused.value)
    assert counts() == before


def test_another_schema_and_a_malformed_field_are_refused_naming_the_field(world):
    data = package(world)
    with pytest.raises(ExchangeError, match="schema"):
        exchange.import_package(io.BytesIO(rezip(data, edit=lambda m: m.update(schema="other"))), world["admin"])
    with pytest.raises(ExchangeError, match=r"manifest.json: case.location.datum"):
        edit = lambda m: m["case"]["location"].update(datum="GCJ02")  # noqa: E731
        exchange.import_package(io.BytesIO(rezip(data, edit=edit)), world["admin"])
    with pytest.raises(ExchangeError, match=r"manifest.json: case.category: unknown category"):
        edit = lambda m: m["case"].update(category="weather")  # noqa: E731
        exchange.import_package(io.BytesIO(rezip(data, edit=edit)), world["admin"], commit=True)
    with pytest.raises(ExchangeError, match=r"petitioners\[0\].id_number"):
        edit = lambda m: m["petitioners"][0].update(id_number="12345")  # noqa: E731
        exchange.import_package(io.BytesIO(rezip(data, edit=edit)), world["admin"], commit=True)
    with pytest.raises(ExchangeError, match="not a zip"):
        exchange.import_package(io.BytesIO(b"not a zip at all"), world["admin"])


def test_a_point_outside_the_banner_is_refused_naming_the_field_and_nothing_is_written(world):
    data = rezip(package(world), edit=lambda m: m["case"]["location"].update(lon=100.0, lat=30.0))
    before, files_before = counts(), stored_files()
    with pytest.raises(ExchangeError, match=r"manifest.json: case.location.lon"):
        exchange.import_package(io.BytesIO(data), world["admin"], commit=True)
    assert counts() == before and stored_files() == files_before


def test_a_planner_may_not_import(world):
    with pytest.raises(ExchangeError, match="may not register"):
        exchange.import_package(io.BytesIO(package(world)), StaffFactory(role="planner").user, commit=True)


# -- The commands ---------------------------------------------------------------------------------------------


def test_the_commands_export_to_a_file_and_import_it_dry_then_for_real(world, tmp_path):
    target = tmp_path / "out.zip"
    out = io.StringIO()
    call_command("export_case", world["ref"], "--output", str(target), "--as", world["admin"].username, stdout=out)
    assert target.is_file() and "2 petitioners" in out.getvalue() and "1 documents" in out.getvalue()
    assert target.stat().st_mode & 0o777 == 0o600  # the petitioners' identity: readable by its owner only
    with pytest.raises(CommandError, match="already present"):  # our own case
        call_command("import_case", str(target), "--commit", "--as", world["admin"].username, stdout=io.StringIO())
    neighbours = tmp_path / "neighbour.zip"
    neighbours.write_bytes(package(world))
    before = counts()
    out = io.StringIO()
    call_command("import_case", str(neighbours), "--as", world["admin"].username, stdout=out)
    text = out.getvalue()
    assert "DRY RUN" in text and "2 petitioners" in text and "2 attachments" in text and "1 documents" in text
    assert counts() == before
    out = io.StringIO()
    call_command("import_case", str(neighbours), "--commit", "--as", world["admin"].username, stdout=out)
    assert "Saved as ZGE-" in out.getvalue() and Case.objects.count() == before[0] + 1
    with pytest.raises(CommandError, match="already present"):
        call_command("import_case", str(neighbours), "--commit", "--as", world["admin"].username, stdout=io.StringIO())
    with pytest.raises(CommandError, match="--as"):
        call_command("import_case", str(neighbours), "--as", "nobody", stdout=io.StringIO())
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_case", str(tmp_path / "none.zip"), "--as", world["admin"].username, stdout=io.StringIO())
    with pytest.raises(CommandError, match="exists already"):  # an export never overwrites a file
        call_command("export_case", world["ref"], "-o", str(target), "--as", world["admin"].username)


# -- The download ---------------------------------------------------------------------------------------------


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_download_is_for_those_who_read_the_case_and_404_for_planners_and_field_staff(world):
    url = f"/cases/{world['ref']}/exchange.zip"
    answer = browser(world["admin"]).get(url)
    assert answer.status_code == 200 and answer["Content-Type"] == "application/zip"
    assert answer["Cache-Control"] == "private, no-store" and world["ref"] in answer["Content-Disposition"]
    assert manifest_of(b"".join(answer.streaming_content))["case"]["reference"] == world["ref"]
    grid = StaffFactory(role="grid_worker", scope_code="150622106202-001").user  # the petition agent reads it
    assert browser(grid).get(url).status_code == 200
    for role, scope in (("planner", ""), ("field_staff", "150622106202"), ("village_officer", "150622101206")):
        assert browser(StaffFactory(role=role, scope_code=scope).user).get(url).status_code == 404, role
    assert Client().get(url).status_code == 302  # to the login page


def test_the_accused_side_never_gets_an_accusations_package(world):
    UnitFactory(code="BD-discipline", name="旗纪委监委", kind="banner_department", area_code="150622")
    body = intake_body(kind="accusation", accused_unit="VC-150622106202", description="检举村委会私自出租集体草场")
    answer = world["api"].post("/api/cases/", body, format="json")
    assert answer.status_code == 201, answer.content
    url = f"/cases/{answer.json()['reference']}/exchange.zip"
    assert browser(world["admin"]).get(url).status_code == 200
    for role, scope in (("village_officer", "150622106202"), ("grid_worker", "150622106202-001")):
        assert browser(StaffFactory(role=role, scope_code=scope).user).get(url).status_code == 404, role


def _accusation(world) -> str:
    UnitFactory(code="BD-discipline", name="旗纪委监委", kind="banner_department", area_code="150622")
    body = intake_body(
        kind="accusation",
        accused_unit="VC-150622106202",
        accused_persons=[{"name": "赵某", "position": "村委会主任", "unit": "VC-150622106202"}],
        description="检举村委会私自出租集体草场",
    )
    answer = world["api"].post("/api/cases/", body, format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()["reference"]


ACCUSED_SIDE = (("village_officer", "150622106202"), ("grid_worker", "150622106202-001"))


def test_an_imported_accusation_is_kept_from_the_unit_it_accuses_as_the_senders_was(world):
    """The package names the accused unit and persons; imported without them, the accused village's own officer
    and grid worker read the accusation (an attack found it: the hand-over dropped the accused unit)."""
    ref = _accusation(world)
    data = package(world, ref=ref)
    written = manifest_of(data)["case"]
    assert written["accused_unit"]["code"] == "VC-150622106202"
    assert written["accused_persons"] == [{"name": "赵某", "position": "村委会主任", "unit_code": "VC-150622106202"}]
    report = exchange.import_package(io.BytesIO(data), world["admin"], commit=True)
    new = Case.objects.get(reference=report.reference)
    assert new.accused_unit.code == "VC-150622106202" and [p.name for p in new.accused_persons.all()] == ["赵某"]
    for role, scope in ACCUSED_SIDE:
        reader = StaffFactory(role=role, scope_code=scope).user
        assert browser(reader).get(f"/cases/{report.reference}/").status_code == 404, role


def test_an_accusation_without_its_accused_side_is_refused_and_nothing_is_written(world):
    data = package(world, ref=_accusation(world))
    before = counts()
    for drop in ("accused_unit", "accused_persons"):
        older = rezip(data, edit=lambda m, drop=drop: m["case"].pop(drop))
        with pytest.raises(ExchangeError, match=r"case\.accused_unit: .*not imported"):
            exchange.import_package(io.BytesIO(older), world["admin"], commit=True)
    unknown = rezip(data, edit=lambda m: m["case"]["accused_unit"].update(code="VC-999"))
    with pytest.raises(ExchangeError, match=r"case\.accused_unit: no unit with code 'VC-999'"):
        exchange.import_package(io.BytesIO(unknown), world["admin"], commit=True)
    assert counts()[:4] == before[:4]


def test_a_repeats_hidden_original_stays_hidden_in_the_package(world):
    """History entries are written as the exporter may read them (access.visible_changes)."""
    from geo_disputes.services.cases.exchange import _event_entry

    event = CaseEvent(action="link_repeat", changes={"repeat_of": "ZGE-2026-999999"}, from_status="", to_status="")
    grid = StaffFactory(role="grid_worker", scope_code="150622106202-001").user
    assert _event_entry(event, grid)["changes"] == {"repeat_of": "(不在您的辖区)"}


def test_the_case_page_links_the_package_for_handlers_and_shows_where_an_imported_case_came_from(world):
    link = f'href="/cases/{world["ref"]}/exchange.zip"'
    assert link in browser(world["admin"]).get(f"/cases/{world['ref']}/").content.decode()
    assert link not in browser(StaffFactory(role="planner").user).get(f"/cases/{world['ref']}/").content.decode()
    report = exchange.import_package(io.BytesIO(package(world)), world["admin"], commit=True)
    page = browser(world["admin"]).get(f"/cases/{report.reference}/")
    html = page.content.decode()
    assert page.status_code == 200 and "交换导入" in html and world["ref"] in html and "geo-disputes/150627" in html


@pytest.mark.django_db(transaction=True)
def test_the_migration_is_reversible():
    from django.db import connection

    def columns() -> set[str]:
        with connection.cursor() as cursor:
            return {c.name for c in connection.introspection.get_table_description(cursor, "geo_disputes_case")}

    assert {"external_source", "external_reference"} <= columns()
    try:
        call_command("migrate", "geo_disputes", "0018", verbosity=0)
        assert not {"external_source", "external_reference"} & columns()
    finally:
        call_command("migrate", "geo_disputes", verbosity=0)
    assert {"external_source", "external_reference"} <= columns()
