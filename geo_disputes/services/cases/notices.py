"""Written notices (文书) from a case: which may be issued now, issuing them, and their words as a reader sees them.

The words live in template files an office edits without touching code (`settings.NOTICE_TEMPLATE_DIR`,
default `templates/notices/<kind>.txt`: its own header, unit names, wording). A template is plain text with
Django's `{{ }}` placeholders: first the `标题：` line, then paragraphs separated by blank lines; a line
starting with `|` is a table row (`| 标签 | 内容 |`). Layout — 文号, addressee, issuing unit, date, seal
space — is the renderer's (GB/T 9704), so an edit cannot break it.

Issuing freezes both the template's text and the case's facts in the row (models/documents.py): a later
edit of the template or of the case never changes what was issued. A correction is a new document that
supersedes the old one. Numbers run per issuing unit and year without gaps (the counter is locked in the
issuing transaction; a failure rolls the number back with everything else).

Names are personal data: a reader who may not see the petitioners whole (access.can_see_pii) gets them
masked in every rendering; a whole view is recorded, as on the case page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.template import Context, Engine
from django.utils import timezone
from django.utils.translation import gettext_noop

from geo_disputes.models import CaseDocument, CaseEvent, DocumentCounter, NoticeKind, PersonalDataAccess, Unit
from geo_disputes.models.cases import (
    Case,
    MediationOutcome,
    OpinionOutcome,
    PetitionRoute,
    Procedure,
    ReviewOutcome,
    Status,
    Tier,
)
from geo_disputes.services.cases.access import can_act, can_read_case_text, can_see_pii, mask_name, visible_cases
from geo_disputes.services.cases.clock import due_dates, local_date
from geo_disputes.services.cases.supervision import supervising_body
from geo_disputes.services.cases.units import unit_for_tier

K = NoticeKind
INPUT_MAX = 2000
_ENGINE = Engine(autoescape=False)  # plain text for Word and PDF; each writer escapes for its own format


class NoticeError(ValueError):
    """A notice that cannot be issued now, or a missing or bad input; `field` names the input."""

    def __init__(self, message: str, field: str = "kind") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Input:
    """Text the issuer writes at issue time (the facts and reasons, the legal basis, a mediation's terms)."""

    name: str
    label: str
    required: bool = True
    default: Callable[[Case], str] = lambda case: ""


@dataclass(frozen=True)
class Spec:
    kind: str
    available: Callable[[Case], bool]
    inputs: tuple[Input, ...] = ()
    issuer: Callable[[Case], Unit | None] = lambda case: case.unit
    reply: bool = False  # its service is the written reply's service: the review window runs from it (Art. 35)
    prefix: str = "告"  # the 文号's kind mark


def _petition(case: Case) -> bool:
    return case.procedure == Procedure.PETITION and case.status != Status.REPEAT


FACTS_AND_REASONS = Input("facts_and_reasons", gettext_noop("查明的事实和理由"))
BASIS = Input("basis", gettext_noop("依据(法律、法规、政策条款)"))
SPECS: dict[str, Spec] = {
    s.kind: s
    for s in (
        Spec(K.ACCEPTANCE, lambda c: _petition(c) and c.accepted_at is not None, prefix="受"),
        Spec(
            K.NON_ACCEPTANCE,
            lambda c: c.status == Status.NOT_ACCEPTED,
            (Input("reason", gettext_noop("不予受理的理由及依据"), default=lambda c: c.not_accepted_reason),),
            prefix="不受",
        ),
        Spec(
            K.TRANSFER,
            lambda c: c.forwarded_by_id is not None and c.unit_id is not None,
            (Input("requirement", gettext_noop("办理要求"), required=False),),
            issuer=lambda c: c.forwarded_by,
            prefix="转",
        ),
        Spec(K.EXTENSION, lambda c: _petition(c) and c.extension_days > 0, prefix="延"),
        Spec(
            K.HANDLING_OPINION,
            lambda c: _petition(c) and c.petition_route == PetitionRoute.HANDLING_OPINION and bool(c.opinion_outcome),
            (FACTS_AND_REASONS, BASIS),
            reply=True,
            prefix="处",
        ),
        Spec(
            K.REVIEW_OPINION,
            lambda c: _petition(c) and c.review_round == 1 and bool(c.review_outcome),
            (FACTS_AND_REASONS, BASIS),
            reply=True,
            prefix="复查",
        ),
        Spec(
            K.REREVIEW_OPINION,
            lambda c: _petition(c) and c.review_round >= 2 and bool(c.review_outcome),
            (FACTS_AND_REASONS, BASIS),
            reply=True,
            prefix="复核",
        ),
        Spec(
            K.MEDIATION_AGREEMENT,
            lambda c: c.procedure == Procedure.MEDIATION and c.mediation_outcome == MediationOutcome.AGREEMENT,
            (
                Input("other_party", gettext_noop("对方当事人")),
                Input("terms", gettext_noop("协议内容(各方权利义务、履行方式和期限)"), default=lambda c: c.outcome),
            ),
            prefix="调",
        ),
        Spec(K.SERVICE_RECEIPT, lambda c: c.documents.exclude(kind=K.SERVICE_RECEIPT).exists(), prefix="送"),
        # The joint meeting's assignment (闭环议事): the agreed plan, unit, person and deadline, issued in the
        # banner's name to the responsible unit — the same numbering, freezing and history as any notice.
        Spec(
            K.AGENDA_ASSIGNMENT,
            lambda c: c.agenda_date is not None and c.unit_id is not None and c.status != Status.REPEAT,
            (Input("requirement", gettext_noop("办理要求"), required=False, default=lambda c: c.agenda_plan),),
            issuer=lambda c: unit_for_tier(Tier.BANNER, banner_code=c.banner_code),
            prefix="联交",
        ),
    )
}
PERSON_INPUTS = {"other_party"}  # inputs that name people: masked like the petitioners


def offered_kinds(case: Case) -> list[str]:
    """The notices the case's state allows now, in the order of the procedure."""
    return [kind for kind, spec in SPECS.items() if spec.available(case)]


def template_path(kind: str) -> Path:
    return Path(settings.NOTICE_TEMPLATE_DIR) / f"{kind}.txt"


def chinese_date(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def _day(moment: dt.datetime | None) -> dt.date | None:
    return local_date(moment) if moment else None


def review_body(case: Case) -> str:
    """Where the petitioner asks for review (Art. 35: the body above the one that answered), by name.

    supervising_body answers "code name", or the city in words when the banner's top holds the matter."""
    code, _sep, name = supervising_body(case).partition(" ")
    if not name or "/" in name or code == case.unit.code:
        return f"{settings.CITY_NAME}人民政府"
    return name


def case_facts(case: Case, spec: Spec, inputs: dict[str, str], on: dt.date, receipt_for=None) -> dict:
    """What the notice states, frozen at issue: plain strings, lists and numbers (stored as JSON)."""
    dues = due_dates(case, on)
    above = review_body(case) if case.unit_id else ""
    facts = {
        "reference": case.reference,
        "received": chinese_date(_day(case.received_at)),
        "accepted": chinese_date(_day(case.accepted_at)),
        "request": case.description,
        "category": str(case.get_category_display()),
        "petitioners": [p.name for p in case.petitioners.order_by("id")],
        "unit": case.unit.name if case.unit_id else "",
        "unit_head": case.unit.head_name if case.unit_id else "",
        "unit_phone": case.unit.phone if case.unit_id else "",
        "forwarded_by": case.forwarded_by.name if case.forwarded_by_id else "",
        "review_body": above,
        "conclude_by": chinese_date(dues.conclude_by),
        "accept_by": chinese_date(dues.accept_by),
        "extension_days": case.extension_days,
        "extension_reason": case.extension_reason,
        "extension_approved_by": case.extension_approved_by,
        "opinion_outcome": str(OpinionOutcome(case.opinion_outcome).label) if case.opinion_outcome else "",
        "review_outcome": str(ReviewOutcome(case.review_outcome).label) if case.review_outcome else "",
        "mediators": case.mediators,
        "agreement_at": chinese_date(case.agreement_at),
        "agenda_date": chinese_date(case.agenda_date),
        "agenda_plan": case.agenda_plan,
        "agenda_deadline": chinese_date(case.agenda_deadline),
        "responsible_person": case.responsible_person,
        **inputs,
    }
    if receipt_for is not None:
        facts["served_document"] = f"{receipt_for.title}({receipt_for.doc_number})"
    return facts


def _clean_inputs(spec: Spec, case: Case, given: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    for item in spec.inputs:
        value = (given.get(item.name) or "").strip() or (item.default(case) or "").strip()
        if "\x00" in value:
            raise NoticeError(f"{item.label}: 含有非法字符 / contains a NUL character", item.name)
        if len(value) > INPUT_MAX:
            raise NoticeError(f"{item.label}: 超过 {INPUT_MAX} 字 / longer than {INPUT_MAX} characters", item.name)
        if item.required and not value:
            raise NoticeError(f"请填写{item.label} / {item.name} is required", item.name)
        cleaned[item.name] = value
    return cleaned


def _spec(case: Case, kind: str) -> Spec:
    spec = SPECS.get(kind)
    if spec is None:
        raise NoticeError(f"未知文书种类 {kind!r} / unknown notice kind")
    if not spec.available(case):
        raise NoticeError(
            f"事项 {case.reference} 当前状态不能制发{NoticeKind(kind).label} / not available in this state"
        )
    return spec


def _receipt_target(case: Case, number: str) -> CaseDocument:
    target = case.documents.exclude(kind=K.SERVICE_RECEIPT).filter(number=number).first()
    if target is None:
        raise NoticeError("请选择要送达的文书 / choose the document served", "receipt_for")
    return target


@dataclass
class Draft:
    """A notice before issue (the preview) or as issued: everything the writers need."""

    kind: str
    title: str
    doc_number: str
    template_text: str
    facts: dict
    unit_name: str
    issued_on: dt.date
    superseded_by: str = ""
    blocks: list = field(default_factory=list)  # filled by render(): str paragraphs and [(label, value)] tables


def _doc_mark(unit: Unit, spec: Spec) -> str:
    return f"{unit.name}{spec.prefix}"


def prepare(
    case: Case, kind: str, inputs: dict[str, str], user, *, on: dt.date | None = None, receipt_for: str = ""
) -> Draft:
    """The notice as it would be issued now (no number yet): for the preview, and the basis of `issue`."""
    if not can_act(user, case):
        raise NoticeError("您不能为此事项制发文书 / you may not issue notices for this case")
    on = on or timezone.localdate()
    spec = _spec(case, kind)
    unit = spec.issuer(case)
    if unit is None:
        raise NoticeError("事项尚无责任单位,不能制发文书 / the case has no responsible unit yet")
    target = _receipt_target(case, receipt_for) if kind == K.SERVICE_RECEIPT else None
    text = template_path(kind).read_text(encoding="utf-8")
    facts = case_facts(case, spec, _clean_inputs(spec, case, inputs), on, target)
    title = _title(text) or str(NoticeKind(kind).label)
    return Draft(kind, title, f"{_doc_mark(unit, spec)}〔{on.year}〕（待编号）号", text, facts, unit.name, on)


@transaction.atomic
def issue(
    case: Case,
    kind: str,
    inputs: dict[str, str],
    user,
    *,
    supersedes: str = "",
    reason: str = "",
    receipt_for: str = "",
    now: dt.datetime | None = None,
) -> CaseDocument:
    """Number and record the notice, and write it into the case history. Raises NoticeError, writes nothing then."""
    now = now or timezone.now()
    on = timezone.localdate(now)
    draft = prepare(case, kind, inputs, user, on=on, receipt_for=receipt_for)
    spec = SPECS[kind]
    unit = spec.issuer(case)
    old = None
    if supersedes:
        old = case.documents.filter(number=supersedes, kind=kind).first()
        if old is None or CaseDocument.objects.filter(supersedes=old).exists():
            raise NoticeError("只能更正本事项中尚未被更正的同类文书 / only a current notice of this kind", "supersedes")
        if not reason.strip():
            raise NoticeError("请说明更正理由 / say why it is corrected", "reason")
    counter, _ = DocumentCounter.objects.select_for_update().get_or_create(unit=unit, year=on.year)
    counter.last += 1
    counter.save(update_fields=["last"])
    document = CaseDocument.objects.create(
        case=case,
        kind=kind,
        unit=unit,
        year=on.year,
        seq=counter.last,
        number=f"{unit.code}-{on.year}-{counter.last:04d}",
        doc_number=f"{_doc_mark(unit, spec)}〔{on.year}〕{counter.last}号",
        title=draft.title,
        template_text=draft.template_text,
        facts=draft.facts,
        issued_at=now,
        issued_by=user if getattr(user, "is_authenticated", False) else None,
        supersedes=old,
        receipt_for=_receipt_target(case, receipt_for) if kind == K.SERVICE_RECEIPT else None,
        correction_reason=reason.strip()[:INPUT_MAX],
    )
    CaseEvent.objects.create(
        case=case,
        at=now,
        actor=document.issued_by,
        action="issue_document",
        from_status=case.status,
        to_status=case.status,
        changes={
            "document": f"{document.title} {document.doc_number}",
            **({"supersedes": old.doc_number} if old else {}),
        },
        reason=reason.strip()[:INPUT_MAX],
    )
    return document


def documents_for(user, case: Case) -> list[CaseDocument]:
    """The case's issued notices for a reader who may read the case's text; none for anyone else."""
    if not can_read_case_text(user, case):
        return []
    return list(case.documents.select_related("unit", "supersedes").prefetch_related("services", "superseded_by"))


def readable_document(user, reference: str, number: str) -> CaseDocument | None:
    """The document, when `user` sees the case and may read its text (else None: the caller answers 404)."""
    case = visible_cases(user).filter(reference=reference).first()
    if case is None or not can_read_case_text(user, case):
        return None
    return case.documents.select_related("unit", "case").filter(number=number).first()


def as_read_by(user, document: CaseDocument) -> Draft:
    """The issued document with names as `user` may see them (a whole view is recorded)."""
    whole = can_see_pii(user, document.case)
    facts = dict(document.facts)
    if whole:
        PersonalDataAccess.objects.create(user=user, case=document.case, purpose=f"下载文书 {document.number}")
    else:
        facts["petitioners"] = [mask_name(n) for n in facts.get("petitioners", [])]
        for name in PERSON_INPUTS & facts.keys():
            facts[name] = "、".join(mask_name(n) for n in re.split(r"[、,，\s]+", facts[name]) if n)
    return issued_draft(document, facts)


def issued_draft(document: CaseDocument, facts: dict | None = None) -> Draft:
    """The issued document rendered with `facts` (default: as issued, names whole — for a caller that has
    checked the reader may see them, e.g. a case-exchange package, which records the view itself)."""
    later = CaseDocument.objects.filter(supersedes=document).first()
    draft = Draft(
        document.kind,
        document.title,
        document.doc_number,
        document.template_text,
        dict(document.facts) if facts is None else facts,
        document.unit.name,
        timezone.localdate(document.issued_at),
        superseded_by=later.doc_number if later else "",
    )
    return render(draft)


def render(draft: Draft) -> Draft:
    """Fill the template with the facts: the title line and the blocks (paragraphs and tables)."""
    names = draft.facts.get("petitioners", [])
    # A newline in a petitioner's text would split the paragraph or start a table row: one line each.
    facts = {k: " ".join(v.split()) if isinstance(v, str) else v for k, v in draft.facts.items()}
    context = {**facts, "addressee": "、".join(names) or "信访人", "issued": chinese_date(draft.issued_on)}
    text = _ENGINE.from_string(draft.template_text).render(Context(context, autoescape=False))
    draft.blocks = _blocks(text)
    return draft


def _title(text: str) -> str:
    match = re.search(r"^标题[:：]\s*(.+)$", text, re.M)
    return match.group(1).strip() if match else ""


def _blocks(text: str) -> list:
    """Paragraphs (blank-line separated) and tables (consecutive `|` lines), the title line left out."""
    blocks: list = []
    paragraph: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if re.match(r"^标题[:：]", stripped):
            continue
        if stripped.startswith("|"):
            if paragraph:
                blocks.append("".join(paragraph))
                paragraph = []
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            row = (cells[0], cells[1] if len(cells) > 1 else "")
            if blocks and isinstance(blocks[-1], list):
                blocks[-1].append(row)
            else:
                blocks.append([row])
        elif stripped:
            paragraph.append(stripped)
        elif paragraph:
            blocks.append("".join(paragraph))
            paragraph = []
    if paragraph:
        blocks.append("".join(paragraph))
    return blocks
