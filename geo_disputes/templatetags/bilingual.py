"""`translated` and `one_language`: text from the database or the services in the active language.

`translated`: a choice's label (models mark them with gettext_noop, so they stay plain strings for the JSON
the maps embed) looked up in the catalogue when shown.

`one_language`: show a service's bilingual text ("中文 / English") in the active language only.

Routing reasons, event reasons, refusals and deadline names are written once by the services as
"中文 / English" (the JSON API returns them whole, and old rows keep them) — on a page a Chinese user
should read the Chinese half, an English user the English half. Segments are separated by "; ".

The rule: a segment is cut once, at its first " / ", when Chinese stands before it and none after
(an English half may itself hold " / ": "accept / reject / transfer"). A segment of English words (no
Chinese, a lower-case word) that follows such a pair continues its English half — English sentences use
"; " too ("…; repeat petitions are not counted.") — and is shown only with it; a code or number
("ZGE-2026-000001") stays a segment of its own. Anything else is shown in both languages as it is.
The scripts follow the same rule from one copy, js/bilingual.js (window.GDOneLanguage).
"""

from __future__ import annotations

import re

from django import template
from django.forms.utils import ErrorList
from django.utils.translation import get_language, gettext

register = template.Library()

_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# An English gloss between Chinese words and a colon: "协同部门 partners: …" → "协同部门: …".
_GLOSS = re.compile(r"(?<=[\u4e00-\u9fff）)]) [A-Za-z][A-Za-z .'-]*(?=[:：])")
_OPEN, _CLOSE = "(（", ")）"
_WORD = re.compile(r"[a-z]{2,}")


@register.filter
def translated(label) -> str:
    """A choice label (get_FOO_display) in the active language; unknown text unchanged."""
    return gettext(str(label)) if label not in (None, "") else ""


@register.filter(is_safe=True)
def one_language(text, language: str | None = None) -> str:
    """`text` with each "中文 / English" segment cut to the half in `language` (default: the active one)."""
    if isinstance(text, ErrorList):  # a form's errors: each message, the list still renders as HTML
        return ErrorList(  # field_id: the list keeps its id="id_<field>_error" (aria-describedby points at it)
            [one_language(e, language) for e in text],
            error_class=text.error_class.removeprefix("errorlist").strip() or None,  # ErrorList adds it again
            renderer=text.renderer,
            field_id=getattr(text, "field_id", None),
        )
    if text in (None, ""):
        return ""
    english = (language or get_language() or "").startswith("en")
    return "; ".join(_segment(piece, english) for piece in split_bilingual(str(text)))


def split_bilingual(text: str) -> list[str | tuple[str, str]]:
    """`text`'s segments: (Chinese, English) for each bilingual one, the plain text for the others."""
    pieces: list[str | tuple[str, str]] = []
    for part in text.split("; "):
        zh, sep, en = part.partition(" / ")
        if sep and _CJK.search(zh) and not _CJK.search(en):
            pieces.append((zh, en))
        elif pieces and isinstance(pieces[-1], tuple) and not _CJK.search(part) and _WORD.search(part):
            pieces[-1] = (pieces[-1][0], f"{pieces[-1][1]}; {part}")  # the English half goes on
        else:
            pieces.append(part)
    return pieces


def _segment(piece: str | tuple[str, str], english: bool) -> str:
    if isinstance(piece, str):
        return piece if english else _GLOSS.sub("", piece)
    zh, en = piece
    if english:
        return en
    zh = _GLOSS.sub("", zh)
    opened = sum(zh.count(c) for c in _OPEN) - sum(zh.count(c) for c in _CLOSE)
    return zh + ")" * max(opened, 0)
