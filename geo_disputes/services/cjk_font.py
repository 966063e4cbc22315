"""The CJK font every server-made PDF embeds (hearing maps, notices): WenQuanYi Micro Hei from Debian's
fonts-wqy-microhei (bin/system-deps). Embedded, so the PDF reads the same everywhere with no external request."""

from __future__ import annotations

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT = "WQYMicroHei"


def register_font() -> str:
    """Register the font with reportlab once per process; its name for setFont / ParagraphStyle."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, FONT_PATH, subfontIndex=0))
    return FONT
