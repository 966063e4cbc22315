"""`translated` and `one_language`: text from the database or the services in the active language.

`translated`: a choice's label (models mark them with gettext_noop, so they stay plain strings for the JSON
the maps embed) looked up in the catalogue when shown.

`one_language`: show a service's bilingual text ("中文 / English") in the active language only.

Routing reasons, event reasons, refusals and deadline names are written once by the services as
"中文 / English" (the JSON API returns them whole, and old rows keep them) — on a page a Chinese user
should read the Chinese half, an English user the English half. Segments are separated by "; ".
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
    return "; ".join(_segment(part, english) for part in str(text).split("; "))


def _segment(part: str, english: bool) -> str:
    zh, sep, en = part.partition(" / ")
    if not sep or not _CJK.search(zh) or _CJK.search(en):
        return part if english else _GLOSS.sub("", part)
    if english:
        return en
    zh = _GLOSS.sub("", zh)
    opened = sum(zh.count(c) for c in _OPEN) - sum(zh.count(c) for c in _CLOSE)
    return zh + ")" * max(opened, 0)
