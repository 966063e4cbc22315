"""Case exchange (issue 15 item 6): a case with its notices and attachments as one zip, to and from the national
petitions system (条例 Art. 21) or a neighbouring county.

The package is `manifest.json` (schema `geo-disputes/case-exchange`, version 1, docs/exchange.md and
docs/exchange-schema.json) plus the files it lists, each with its SHA-256: `documents/<number>.docx|.pdf`
and `files/<sha256>` for attachments. It carries the petitioners' names, phones and ID numbers whole — it is a
transfer between bodies that handle the case — so only those who read the case's text and see its petitioners
may export it, and every export is recorded as a view of personal data.

Import reads a package and refuses it, naming the file or field, when the schema or major version is unknown,
a file is missing, unlisted or not what its hash says, or the point lies outside the banner. It never makes a
second case of one already here: a package of our own case coming back (our system and banner, our reference),
one whose origin is ours or one we imported before, or the same case sent again by the same source (the unique
pair `external_source`/`external_reference`). The case is opened through intake (`open_case`: locating,
routing, procedure, repeat detection), its own receipt starting our clock (Art. 23: the receiving body counts
from its own receipt), and attachments go through the attachment service, which checks them by content again.
A dry run executes the database part and rolls it back; it checks files by content without storing them.

Issued documents from another body come in as attachments (their PDF, kind "agreement"/文书扫描件), not as
CaseDocument records: a CaseDocument is an act of *our* issuing unit, numbered in our unit-and-year series
without gaps and served by us — a neighbour's notice fits none of that, and as a record it would take a
number of ours or a unit we do not have. As a PDF it is kept byte for byte, under the attachment rules of who
may see it; its number, title and date are listed in the import's history entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from geo_disputes.models import Attachment, Banner, Case, CaseEvent, PersonalDataAccess
from geo_disputes.models.attachments import AttachmentKind
from geo_disputes.models.cases import Datum, PetitionKind
from geo_disputes.services.cases.access import (
    can_act,
    can_read_case_text,
    can_see_pii,
    visible_cases,
    visible_changes,
)
from geo_disputes.services.cases.attachment_store import BLOCK, open_file
from geo_disputes.services.cases.attachment_types import FileTypeError, detect
from geo_disputes.services.cases.attachments import AttachmentError, attach
from geo_disputes.services.cases.intake import AccusedPersonInput, IntakeError, IntakeRequest, Petitioner, open_case
from geo_disputes.services.cases.notice_files import to_docx, to_pdf
from geo_disputes.services.cases.notices import issued_draft

SCHEMA = "geo-disputes/case-exchange"
VERSION = 1
MANIFEST = "manifest.json"
SCHEMA_FILE = Path(settings.BASE_DIR) / "docs" / "exchange-schema.json"
MANIFEST_MAX_BYTES = 20 * 1024 * 1024
MAX_MEMBERS = 2000
MAX_TOTAL_BYTES = 4 * 1024**3  # what one package may unpack to (a zip bomb's listed sizes are refused first)
MAX_PROBLEMS = 30  # listed per refusal; the rest counted
DATE_FIELDS = (
    "holder_received_at",
    "accepted_at",
    "replied_at",
    "served_at",
    "review_requested_at",
    "review_decided_at",
    "led_into_at",
    "extension_told_at",
    "agreement_at",
    "confirmation_applied_at",
    "confirmation_ruled_at",
    "pre_mediation_at",
    "filed_at",
    "legal_outcome_at",
    "agenda_date",
    "agenda_deadline",
)
_SHA = re.compile(r"[0-9a-f]{64}")


class ExchangeError(ValueError):
    """A package refused, or a case that may not be exported; each problem names the file or field at fault."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class AlreadyPresent(ExchangeError):
    """The package's case is here already (ours coming back, or imported before): nothing is created."""

    def __init__(self, reference: str, why: str) -> None:
        super().__init__(f"事项已存在,未重复导入 / already present, not imported again: {reference} ({why})")
        self.reference = reference


@dataclass(frozen=True)
class Source:
    """Who sends a package: a system and the banner (county) it serves; `key` is what the receiver stores."""

    system: str
    banner_code: str
    banner_name: str = ""

    @property
    def key(self) -> str:
        return f"{self.system}/{self.banner_code}"


def this_system(banner_code: str = "") -> Source:
    """This deployment as the sender of `banner_code`'s cases (the home banner when blank): one deployment may
    serve several banners, and a package names the banner its case belongs to."""
    code = banner_code or settings.BANNER_CODE
    banner = Banner.objects.filter(code=code).order_by("-valid_from").first()
    return Source(settings.EXCHANGE_SYSTEM, code, banner.name if banner else "")


def acting_user(username: str | None):
    """The account a command acts as: the one named, else the only active superuser (else a clear error)."""
    users = get_user_model().objects.filter(is_active=True)
    if username:
        user = users.filter(username=username).first()
        if user is None:
            raise ExchangeError(f"--as: 无此用户 / no active user {username!r}")
        return user
    supers = list(users.filter(is_superuser=True)[:2])
    if len(supers) != 1:
        raise ExchangeError("--as: 请指定操作人 / name the account to act as (--as USERNAME)")
    return supers[0]


# -- Export ------------------------------------------------------------------------------------------


def exportable_case(user, reference: str) -> Case | None:
    """The case, if `user` may export it: sees it, reads its text and its petitioners whole (else None → 404).
    The accused side never sees the case at all (visible_cases), planners and field staff read no text."""
    case = visible_cases(user).filter(reference=reference).select_related("unit").first()
    if case is None or not can_read_case_text(user, case) or not can_see_pii(user, case):
        return None
    return case


def export_case(case: Case, user, out: BinaryIO, *, source: Source | None = None, now: dt.datetime | None = None):
    """Write `case`'s package to `out` (a zip) and record the export as a view of personal data; the manifest.

    `source` stands in for this system (tests simulate a neighbouring county with it)."""
    if user is None or exportable_case(user, case.reference) is None:
        raise ExchangeError(f"{case.reference}: 您不能导出此事项 / you may not export this case")
    now = now or timezone.now()
    source = source or this_system(case.banner_code)
    files: list[tuple[str, bytes | str]] = []  # (path in zip, bytes or a stored sha256)
    documents = []
    for document in case.documents.select_related("unit", "supersedes").prefetch_related("services"):
        draft = issued_draft(document)
        paths = []
        for suffix, write in (("docx", to_docx), ("pdf", to_pdf)):
            paths.append(f"documents/{document.number}.{suffix}")
            files.append((paths[-1], write(draft)))
        documents.append(_document_entry(document, draft, paths))
    attachments = []
    for item in Attachment.objects.filter(case=case, removed_at__isnull=True):
        attachments.append(_attachment_entry(item))
        files.append((f"files/{item.sha256}", item.sha256))
    manifest = {
        "schema": SCHEMA,
        "version": VERSION,
        "exported_at": _iso(now),
        "exported_by": user.get_username(),
        "source": {"system": source.system, "banner_code": source.banner_code, "banner_name": source.banner_name},
        "case": _case_entry(case),
        "petitioners": [
            {"name": p.name, "phone": p.phone, "id_number": p.id_number, "representative": p.representative}
            for p in case.petitioners.order_by("id")
        ],
        "history": [_event_entry(e, user) for e in case.events.select_related("actor").order_by("at", "id")],
        "documents": documents,
        "attachments": attachments,
        "files": [],
    }
    listed: set[str] = set()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for path, content in files:
            if path in listed:  # the same bytes attached twice are one file
                continue
            listed.add(path)
            digest, size = _write_member(package, path, content)
            manifest["files"].append({"path": path, "sha256": digest, "size": size})
        package.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
    PersonalDataAccess.objects.create(user=user, case=case, purpose=f"导出交换包 export {case.reference}"[:60])
    return manifest


def _case_entry(case: Case) -> dict:
    origin = None
    if case.external_reference:
        origin = {"source": case.external_source, "reference": case.external_reference}
    return {
        "reference": case.reference,
        "category": case.category,
        "channel": case.channel,
        "kind": case.kind,
        "procedure": case.procedure,
        "description": case.description,
        "received_at": _iso(case.received_at),
        "location": {
            "lon": case.location.x,
            "lat": case.location.y,
            "datum": "WGS84",
            "accuracy_m": case.accuracy_m,
            "captured_datum": case.datum,
        },
        "township_code": case.township_code,
        "village_code": case.village_code,
        "grid_code": case.grid_code,
        "mining_area_code": case.mining_area_code,
        "households_affected": case.households_affected,
        "status": case.status,
        "tier": case.tier,
        "unit": {"code": case.unit.code, "name": case.unit.name} if case.unit_id else None,
        "responsible_person": case.responsible_person,
        "dates": {name: _iso(getattr(case, name)) for name in DATE_FIELDS},
        "resolution_method": case.resolution_method,
        "outcome": case.outcome,
        "satisfaction": case.satisfaction,
        "origin": origin,
        # An accusation's accused side travels with it: without it the receiving system would show the matter to
        # the accused unit's own staff (条例 Art. 30). A reader refuses an accusation that lacks these members.
        "accused_unit": {"code": case.accused_unit.code, "name": case.accused_unit.name}
        if case.accused_unit_id
        else None,
        "accused_persons": [
            {"name": p.name, "position": p.position, "unit_code": p.unit.code if p.unit_id else ""}
            for p in case.accused_persons.select_related("unit")
        ],
    }


def _event_entry(event: CaseEvent, user) -> dict:
    """One history entry, its changes as the exporter may read them (a repeat's hidden original stays hidden)."""
    return {
        "at": _iso(event.at),
        "action": event.action,
        "actor": event.actor.get_username() if event.actor_id else None,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "reason": event.reason,
        "changes": visible_changes(user, event.changes or {}),
    }


def _document_entry(document, draft, paths: list[str]) -> dict:
    text = "\n".join(
        block if isinstance(block, str) else "\n".join(f"{label}:{value}" for label, value in block)
        for block in draft.blocks
    )
    return {
        "number": document.number,
        "doc_number": document.doc_number,
        "kind": document.kind,
        "title": document.title,
        "issued_at": _iso(document.issued_at),
        "issued_on": timezone.localdate(document.issued_at).isoformat(),
        "unit": {"code": document.unit.code, "name": document.unit.name},
        "supersedes": document.supersedes.number if document.supersedes_id else None,
        "text": text,
        "services": [
            {"method": s.method, "served_at": _iso(s.served_at), "tracking_number": s.tracking_number}
            for s in document.services.all()
        ],
        "files": paths,
    }


def _attachment_entry(item: Attachment) -> dict:
    exif = None
    if item.exif_point is not None or item.exif_taken_at is not None:
        exif = {
            "lon": item.exif_point.x if item.exif_point else None,
            "lat": item.exif_point.y if item.exif_point else None,
            "datum": "WGS84",
            "taken_at": _iso(item.exif_taken_at),
        }
    return {
        "id": str(item.pk),
        "kind": item.kind,
        "file_type": item.file_type,
        "name": item.name,
        "caption": item.caption,
        "sha256": item.sha256,
        "size": item.size,
        "added_at": _iso(item.added_at),
        "exif": exif,
        "path": f"files/{item.sha256}",
    }


def _write_member(package: zipfile.ZipFile, path: str, content: bytes | str) -> tuple[str, int]:
    """Write one file into the zip, streaming a stored attachment; its (sha256, size) as written."""
    digest, size = hashlib.sha256(), 0
    with package.open(path, "w", force_zip64=True) as member:
        for block in _blocks_of(content):
            digest.update(block)
            size += len(block)
            member.write(block)
    return digest.hexdigest(), size


def _blocks_of(content: bytes | str) -> Iterator[bytes]:
    if isinstance(content, bytes):
        yield content
        return
    with open_file(content) as handle:
        while block := handle.read(BLOCK):
            yield block


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat()
    return value.isoformat()


# -- Import ------------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    source: str
    external_reference: str
    committed: bool = False
    reference: str = ""  # the case's reference here (a dry run's is rolled back with it)
    status: str = ""
    petitioners: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def import_package(package: str | Path | IO[bytes], user, *, commit: bool = False) -> ImportReport:
    """Check the package and open its case here; everything in one transaction, rolled back unless `commit`.

    Raises ExchangeError (naming each file or field at fault) or AlreadyPresent; nothing is written then."""
    if not can_act(user, None):
        raise ExchangeError("您不能登记事项 / you may not register cases")
    name = str(package) if isinstance(package, str | Path) else getattr(package, "name", "package")
    try:
        archive = zipfile.ZipFile(package)
    except FileNotFoundError:
        raise ExchangeError(f"{name}: 文件不存在 / no such file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExchangeError(f"{name}: 不是有效的 zip 交换包 / not a zip package ({exc})") from None
    with archive, tempfile.TemporaryDirectory(prefix="exchange-") as tmp:
        manifest = read_manifest(archive)
        source = Source(manifest["source"]["system"], manifest["source"]["banner_code"])
        extracted = _verify_files(archive, manifest, Path(tmp))
        report = ImportReport(source=source.key, external_reference=manifest["case"]["reference"])
        _refuse_if_present(manifest, source)
        with transaction.atomic():
            case = _open(manifest, source, user, report)
            _attach_files(case, user, manifest, extracted, report, commit)
            if commit:
                PersonalDataAccess.objects.create(
                    user=user, case=case, purpose=f"导入交换包 import {case.reference}"[:60]
                )
            else:
                transaction.set_rollback(True)
    report.committed = commit
    return report


def read_manifest(archive: zipfile.ZipFile) -> dict:
    """The manifest, checked: our schema, a major version we know, then the whole structure (the JSON Schema)."""
    try:
        info = archive.getinfo(MANIFEST)
    except KeyError:
        raise ExchangeError(f"{MANIFEST}: 交换包中没有清单 / the package has no {MANIFEST}") from None
    if info.file_size > MANIFEST_MAX_BYTES:
        raise ExchangeError(f"{MANIFEST}: 清单过大 / larger than {MANIFEST_MAX_BYTES >> 20} MB")
    try:
        manifest = json.loads(archive.read(MANIFEST).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, zipfile.BadZipFile) as exc:
        raise ExchangeError(f"{MANIFEST}: 不是有效的 UTF-8 JSON / not valid UTF-8 JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        got = manifest.get("schema") if isinstance(manifest, dict) else None
        raise ExchangeError(f"{MANIFEST}: schema: 不是案件交换包 / not a {SCHEMA!r} package (schema {got!r})")
    version = manifest.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version != VERSION:
        raise ExchangeError(
            f"{MANIFEST}: version: 不支持的交换包版本 {version!r},本系统只读第 {VERSION} 版 / "
            f"unsupported package version {version!r}; this system reads version {VERSION} "
            "(a newer major version changed the meaning of fields: upgrade this system)"
        )
    problems = [
        f"{MANIFEST}: {_pointer(error.absolute_path) or '(root)'}: {_short(error.message)}"
        for error in sorted(_validator().iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if problems:
        raise ExchangeError(["交换包清单不符合格式 / the manifest does not follow the schema:", *_capped(problems)])
    return manifest


def _short(message: str, limit: int = 300) -> str:
    """A validator's message quotes the offending value: a 10,000-character description is cut."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], f"…另有 {more} 处 / and {more} more"]


@cache
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def _pointer(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _verify_files(archive: zipfile.ZipFile, manifest: dict, into: Path) -> dict[str, Path]:
    """Every listed file present, of its size and hash, and nothing else in the zip; path → extracted copy."""
    problems: list[str] = []
    listed = {}
    for i, entry in enumerate(manifest["files"]):
        if entry["path"] in listed:
            problems.append(f"{MANIFEST}: files[{i}].path: {entry['path']} 重复列出 / listed twice")
        listed[entry["path"]] = entry
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise ExchangeError(f"{len(members)} 个文件,超过上限 {MAX_MEMBERS} / more than {MAX_MEMBERS} files")
    total = sum(entry["size"] for entry in listed.values())
    if total > MAX_TOTAL_BYTES:
        raise ExchangeError(f"{MANIFEST}: files: 合计 {total} 字节,超过上限 / {total} bytes in all, over the limit")
    present = {m.filename: m for m in members if not m.is_dir()}
    for path in sorted(set(present) - set(listed) - {MANIFEST}):
        problems.append(f"{path}: 清单未列出的文件 / a file the manifest does not list")
    for i, attachment in enumerate(manifest["attachments"]):
        if attachment["path"] != f"files/{attachment['sha256']}" or attachment["path"] not in listed:
            problems.append(f"{MANIFEST}: attachments[{i}].path: 须为已列出的 files/<sha256> / a listed files/<sha256>")
    for i, document in enumerate(manifest["documents"]):
        for path in document["files"]:
            if path not in listed:
                problems.append(f"{MANIFEST}: documents[{i}].files: {path} 未列出 / not listed in files")
    extracted: dict[str, Path] = {}
    for n, (path, entry) in enumerate(listed.items()):
        member = present.get(path)
        if member is None:
            problems.append(f"{path}: 交换包中缺少此文件 / listed but missing from the package")
            continue
        if member.file_size != entry["size"] or member.file_size > settings.ATTACHMENT_MAX_BYTES:
            problems.append(
                f"{path}: 大小 {member.file_size} 与清单 {entry['size']} 不符或超限 / size mismatch or over the limit"
            )
            continue
        target = into / f"{n:05d}"
        digest = _extract(archive, member, target, entry["size"])
        if digest != entry["sha256"]:
            problems.append(
                f"{path}: 校验值不符,文件已被改动或损坏 / SHA-256 mismatch: listed {entry['sha256']}, content {digest}"
            )
            continue
        extracted[path] = target
    if problems:
        raise ExchangeError(
            [
                "交换包文件校验未通过,未导入 / the package's files failed the check, nothing imported:",
                *_capped(problems),
            ]
        )
    return extracted


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, limit: int) -> str:
    """Copy one member out, hashing it and reading no more than its listed size (a zip's header may lie)."""
    digest, size = hashlib.sha256(), 0
    try:
        with archive.open(member) as source, target.open("wb") as out:
            while block := source.read(BLOCK):
                size += len(block)
                if size > limit:
                    return "(longer than listed)"
                digest.update(block)
                out.write(block)
    except (zipfile.BadZipFile, OSError) as exc:  # a CRC error, a broken entry
        return f"(unreadable: {exc})"
    return digest.hexdigest()


def _refuse_if_present(manifest: dict, source: Source) -> None:
    """Raise AlreadyPresent when the package's case is one of ours, or one imported before."""
    served = Banner.objects.filter(code=source.banner_code).exists()  # a banner this deployment serves
    ours = this_system(source.banner_code if served else "")
    reference = manifest["case"]["reference"]
    if source.banner_code == ours.banner_code and Case.objects.filter(reference=reference).exists():
        # Same banner and reference: our case coming back, whichever system name the sender wrote.
        raise AlreadyPresent(reference, "本旗自己的事项 / one of this banner's own cases")
    if source.key == ours.key:
        raise ExchangeError(
            f"{MANIFEST}: source: 交换包自称来自本旗,但本旗没有事项 {reference} / "
            f"claims to come from this banner, which has no case {reference}"
        )
    pairs = [(source.key, reference)]
    origin = manifest["case"].get("origin")
    if origin:
        if origin["source"] == ours.key and Case.objects.filter(reference=origin["reference"]).exists():
            raise AlreadyPresent(origin["reference"], f"原为本旗事项,经 {source.key} 转回 / ours, sent back")
        pairs.append((origin["source"], origin["reference"]))
    for key, ref in pairs:
        found = Case.objects.filter(external_source=key, external_reference=ref).values_list("reference", flat=True)
        if found:
            raise AlreadyPresent(found[0], f"已于此前从 {key} 导入 {ref} / imported before from {key}")


def _open(manifest: dict, source: Source, user, report: ImportReport) -> Case:
    """Open the case through intake; the foreign reference kept, our own receipt starting our clock."""
    data = manifest["case"]
    try:
        received_at = parse_datetime(data["received_at"])
    except ValueError:
        received_at = None
    if received_at is None:
        raise ExchangeError(f"{MANIFEST}: case.received_at: 不是有效时间 / not a valid time: {data['received_at']!r}")
    now = timezone.now()
    request = IntakeRequest(
        category=data["category"],
        channel=data["channel"],
        kind=data["kind"],
        description=data["description"],
        lon=float(data["location"]["lon"]),
        lat=float(data["location"]["lat"]),
        datum=Datum.WGS84.value,
        accuracy_m=data["location"].get("accuracy_m"),
        households_affected=data.get("households_affected", 1),
        petitioners=[
            Petitioner(p["name"], p.get("phone", ""), p.get("id_number", ""), p.get("representative"))
            for p in manifest["petitioners"]
        ],
        received_at=received_at,
        procedure=data["procedure"],
        **_accused_side(data),
    )
    try:
        case = open_case(request, user)
    except IntakeError as exc:
        raise ExchangeError(f"{MANIFEST}: {_manifest_field(exc.field)}: {exc.message}") from None
    case.external_source, case.external_reference, case.holder_received_at = source.key, data["reference"], now
    try:
        with transaction.atomic():
            case.save(update_fields=["external_source", "external_reference", "holder_received_at"])
    except IntegrityError:  # the same package imported at this very moment by someone else
        raise AlreadyPresent(data["reference"], f"同时从 {source.key} 导入 / imported concurrently") from None
    CaseEvent.objects.create(
        case=case,
        at=now,
        actor=user,
        action="import_case",
        from_status=case.status,
        to_status=case.status,
        changes={
            "source": source.key,
            "source_name": manifest["source"].get("banner_name", ""),
            "external_reference": data["reference"],
            "source_status": data["status"],
            "source_unit": (data.get("unit") or {}).get("name", ""),
            "exported_at": manifest["exported_at"],
            "source_documents": [
                {"number": d["doc_number"], "title": d["title"], "issued_on": d.get("issued_on", "")}
                for d in manifest["documents"]
            ],
            "source_dates": {k: v for k, v in (data.get("dates") or {}).items() if v},
            "source_history": manifest["history"],
        },
        reason=f"由{manifest['source'].get('banner_name', '')[:40] or source.key}交换导入,原编号 {data['reference']} / "
        f"imported from {source.key}, reference there {data['reference']}",
    )
    report.reference, report.status = case.reference, case.status
    report.petitioners = [p["name"] for p in manifest["petitioners"]]
    return case


def _accused_side(data: dict) -> dict:
    """An accusation's accused unit and persons for intake, so the imported case is kept from the accused side as
    the sender's was. A package without the members (an older writer) cannot say who that is: refused."""
    if data["kind"] != PetitionKind.ACCUSATION:
        return {}
    if "accused_unit" not in data or "accused_persons" not in data:
        raise ExchangeError(
            f"{MANIFEST}: case.accused_unit: 检举控告事项的交换包未写明被检举控告的单位和人员,不能导入(否则会被"
            "被检举一方看到),请按原件人工登记 / an accusation without its accused unit and persons is not imported "
            "(the accused side would see it); register it by hand from the original"
        )
    unit = data["accused_unit"]
    persons = [
        AccusedPersonInput(p["name"], p.get("position", ""), p.get("unit_code", "")) for p in data["accused_persons"]
    ]
    return {"accused_unit_code": unit["code"] if unit else "", "accused_persons": persons}


def _manifest_field(intake_field: str) -> str:
    """Intake's field name as the manifest spells it (lon → case.location.lon)."""
    if intake_field.startswith("petitioners"):
        return intake_field
    if intake_field in ("lon", "lat", "accuracy_m", "datum"):
        return f"case.location.{intake_field}"
    return f"case.{intake_field}"


def _attach_files(
    case: Case, user, manifest: dict, extracted: dict[str, Path], report: ImportReport, commit: bool
) -> None:
    """Attachments and the sender's issued PDFs through the attachment service (checked by content again).

    A dry run checks each file's content (`detect`) without storing it: it writes nothing, not even bytes."""
    items = [
        (f"attachments[{i}]", extracted[a["path"]], a["name"], a["kind"], a.get("caption", ""), a["file_type"])
        for i, a in enumerate(manifest["attachments"])
    ]
    sender = manifest["source"].get("banner_name") or manifest["source"]["banner_code"]
    for i, document in enumerate(manifest["documents"]):
        pdf = next((p for p in document["files"] if p.endswith(".pdf")), None)
        if pdf is None:
            report.notes.append(f"documents[{i}] {document['doc_number']}: 无 PDF,仅记入历史 / no PDF: history only")
            continue
        caption = f"来文:{sender} {document['doc_number']}"[:200]
        items.append(
            (
                f"documents[{i}]",
                extracted[pdf],
                f"{document['title']} {document['number']}.pdf",
                "agreement",
                caption,
                "application/pdf",
            )
        )
    problems = []
    for where, path, name, kind, caption, file_type in items:
        if kind not in AttachmentKind.values:
            problems.append(f"{MANIFEST}: {where}.kind: 未知类别 {kind!r} / unknown kind")
            continue
        try:
            if commit:
                found = attach(case, user, path, name=name, kind=kind, caption=caption, at_intake=True).file_type
            else:
                found = detect(path).file_type
        except (AttachmentError, FileTypeError) as exc:
            problems.append(f"{MANIFEST}: {where}: {name}: {exc}")
            continue
        if found != file_type:  # the content decides; a manifest that says otherwise was altered or is wrong
            problems.append(
                f"{MANIFEST}: {where}.file_type: 清单 {file_type},内容 {found} / listed {file_type}, found {found}"
            )
            continue
        (report.documents if where.startswith("documents") else report.attachments).append(name)
    if problems:
        raise ExchangeError(
            ["附件未通过内容检查,未导入 / files failed the content check, nothing imported:", *_capped(problems)]
        )


def package_bytes(case: Case, user, **kwargs) -> bytes:
    """The package as bytes (tests, small cases); the view and the command stream to a file."""
    out = io.BytesIO()
    export_case(case, user, out, **kwargs)
    return out.getvalue()
