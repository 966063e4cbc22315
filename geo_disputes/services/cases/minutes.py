"""The joint meeting's minutes (会议纪要), generated from its agenda (闭环议事, issue 15 item 5c).

The minutes are not a new document generator: they are a notices.Draft whose blocks are built here and
written by notice_files.to_docx, the same Word layout as every notice. What a reader does not handle is
withheld, as on the agenda page: plans and responsible persons only for those who may read the case's text
(access.text_as_seen); cases only from access.visible_cases. The assignments themselves (交办单) are issued
per case as the notice kind `agenda_assignment`, numbered and recorded in the history like any notice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from geo_disputes.models import Case, CaseDocument, NoticeKind
from geo_disputes.models.cases import Category, Status
from geo_disputes.services.cases.access import banner_prefix, text_as_seen, text_readable, visible_cases
from geo_disputes.services.cases.notices import Draft, chinese_date
from geo_disputes.services.cases.units import unit_for_tier

MEETING_NAME = "信访工作联席会议"


@dataclass
class MinuteItem:
    case: Case
    plan: str
    person: str
    assignment: str  # the 交办单's 文号, when issued and readable
    overdue: bool


def agenda_cases(user, meeting: dt.date):
    """The cases listed for `meeting` (as the agenda page): listed for that date, or on the agenda since before it."""
    listed = Q(agenda_date=meeting) | Q(status=Status.ON_AGENDA, agenda_date__lte=meeting)
    return (
        visible_cases(user, Case.objects.filter(listed))
        .annotate(
            plan_shown=text_as_seen(user, "agenda_plan"),
            person_shown=text_as_seen(user, "responsible_person"),
            text_ok=text_readable(user),
        )
        .select_related("unit")
        .order_by("unit__code", "agenda_deadline", "received_at")
    )


def minute_items(user, meeting: dt.date, today: dt.date) -> list[MinuteItem]:
    """Each agenda case with its plan, person, deadline and (for those who read its text) its 交办单."""
    cases = list(agenda_cases(user, meeting))
    issued = {
        d.case_id: d.doc_number
        for d in CaseDocument.objects.filter(
            case__in=[c.pk for c in cases if c.text_ok], kind=NoticeKind.AGENDA_ASSIGNMENT, superseded_by__isnull=True
        ).order_by("issued_at")
    }
    return [
        MinuteItem(
            case=c,
            plan=c.plan_shown,
            person=c.person_shown,
            assignment=issued.get(c.pk, ""),
            overdue=c.agenda_deadline is not None and c.agenda_deadline < today and c.status == Status.ON_AGENDA,
        )
        for c in cases
    ]


def minutes_draft(user, meeting: dt.date, today: dt.date) -> Draft:
    """The minutes as a Draft for notice_files.to_docx (Chinese, the office's working language)."""
    items = minute_items(user, meeting, today)
    seen = banner_prefix(user)
    banner = unit_for_tier("banner", banner_code=seen if len(seen) == 6 else "")
    issuer = banner.name if banner else MEETING_NAME
    blocks: list = [
        f"{chinese_date(meeting)}，召开{MEETING_NAME}，研究重点、复杂、疑难信访事项{len(items)}件。"
        "会议逐件明确化解方案、责任单位、责任人和办结期限，形成如下议定事项：",
    ]
    for n, item in enumerate(items, 1):
        c = item.case
        blocks.append(f"{n}. {c.reference} {Category(c.category).label}")
        blocks.append(
            [
                ("责任单位", c.unit.name if c.unit_id else "未指定"),
                ("责任人", item.person or "—"),
                ("议事方案", item.plan or "—"),
                ("办结期限", chinese_date(c.agenda_deadline) or "按法定期限"),
                ("当前状态", str(Status(c.status).label)),
                ("交办单", item.assignment or "未制发"),
            ]
        )
    if not items:
        blocks.append("本次会议没有议题。")
    blocks.append(
        "各责任单位按议定事项和期限办理，办理结果报送联席会议办公室；逾期未办结的，依照《信访工作条例》第五章督办。"
    )
    return Draft(
        kind="minutes",
        title=f"{MEETING_NAME}纪要",
        doc_number=f"{chinese_date(meeting)}",
        template_text="",
        facts={},
        unit_name=issuer,
        issued_on=today,
        blocks=blocks,
    )
