"""A notice as a Word file (.docx, which county offices edit in Word or WPS) and as a PDF, in the layout of
党政机关公文格式 (GB/T 9704-2012): A4, margins 37/35/28/26 mm, the title in 小标宋 2号 centred, the 文号 under it,
the addressee flush left, the body in 仿宋 3号 indented two characters, the issuing unit and the date to the right
with room for the seal.

Word gets font names (方正小标宋简体, 仿宋_GB2312, as offices have them; Word substitutes when missing); the PDF
embeds WenQuanYi Micro Hei (Debian fonts-wqy-microhei, already used by the hearing map), so it reads the same on
any machine and makes no external request. Text goes into the PDF through reportlab's Paragraph, whose markup
is XML: every string is escaped first.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from geo_disputes.services.cases.notices import Draft, chinese_date
from geo_disputes.services.cjk_font import register_font

TITLE_FONT, BODY_FONT = "方正小标宋简体", "仿宋_GB2312"
SEAL_NOTE = "（印章）"


def _font(run, name: str, size: float, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)  # CJK text uses this one


def _superseded_line(draft: Draft) -> str:
    return f"本文书已被{draft.superseded_by}更正,以更正后的文书为准。" if draft.superseded_by else ""


def to_docx(draft: Draft) -> bytes:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)

    def paragraph(text: str, size: float = 16, align=None, indent: bool = False, font: str = BODY_FONT):
        p = document.add_paragraph()
        if align is not None:
            p.alignment = align
        if indent:
            p.paragraph_format.first_line_indent = Pt(size * 2)
        p.paragraph_format.space_after = Pt(4)
        _font(p.add_run(text), font, size)
        return p

    if draft.superseded_by:
        paragraph(_superseded_line(draft), 12)
    paragraph(draft.title, 22, WD_ALIGN_PARAGRAPH.CENTER, font=TITLE_FONT)
    paragraph(draft.doc_number, 16, WD_ALIGN_PARAGRAPH.CENTER)
    for block in draft.blocks:
        if isinstance(block, list):
            table = document.add_table(rows=0, cols=2)
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            for label, value in block:
                cells = table.add_row().cells
                for cell, text in zip(cells, (label, value), strict=True):
                    _font(cell.paragraphs[0].add_run(text), BODY_FONT, 14)
                cells[0].width, cells[1].width = Mm(45), Mm(111)
        elif block.endswith(("：", ":")) and len(block) <= 60:
            paragraph(block)  # the addressee, flush left
        else:
            paragraph(block, indent=True)
    document.add_paragraph()
    paragraph(f"{draft.unit_name}{SEAL_NOTE}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    paragraph(chinese_date(draft.issued_on), align=WD_ALIGN_PARAGRAPH.RIGHT)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def to_pdf(draft: Draft) -> bytes:
    font = register_font()
    body = ParagraphStyle("body", fontName=font, fontSize=16, leading=28, firstLineIndent=32, wordWrap="CJK")
    flush = ParagraphStyle("flush", parent=body, firstLineIndent=0)
    title = ParagraphStyle("title", parent=flush, fontSize=22, leading=34, alignment=TA_CENTER, spaceAfter=6)
    number = ParagraphStyle("number", parent=flush, alignment=TA_CENTER, spaceAfter=14)
    right = ParagraphStyle("right", parent=flush, alignment=TA_RIGHT)
    cell = ParagraphStyle("cell", parent=flush, fontSize=13, leading=20)
    note = ParagraphStyle("note", parent=flush, fontSize=11, leading=16, textColor=colors.HexColor("#b71c1c"))
    story = []
    if draft.superseded_by:
        story.append(Paragraph(escape(_superseded_line(draft)), note))
    story += [Paragraph(escape(draft.title), title), Paragraph(escape(draft.doc_number), number)]
    for block in draft.blocks:
        if isinstance(block, list):
            rows = [[Paragraph(escape(label), cell), Paragraph(escape(value), cell)] for label, value in block]
            table = Table(rows, colWidths=[45 * mm, 111 * mm])
            table.setStyle(
                TableStyle([("GRID", (0, 0), (-1, -1), 0.6, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP")])
            )
            story += [table, Spacer(1, 8)]
        elif block.endswith(("：", ":")) and len(block) <= 60:
            story.append(Paragraph(escape(block), flush))
        else:
            story.append(Paragraph(escape(block), body))
    story += [
        Spacer(1, 40),
        Paragraph(escape(f"{draft.unit_name}{SEAL_NOTE}"), right),
        Paragraph(escape(chinese_date(draft.issued_on)), right),
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        topMargin=37 * mm,
        bottomMargin=35 * mm,
        leftMargin=28 * mm,
        rightMargin=26 * mm,
        title=f"{draft.title} {draft.doc_number}",
        author=draft.unit_name,
    )
    doc.build(story)
    return out.getvalue()
