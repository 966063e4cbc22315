"""The header's menu for a user: what their role can use, in the order they use it, and their due and overdue count.

Each entry's `allowed` is the rule the page itself applies (access.can_act for intake, access.moves_cases for queues
and the agenda, hearing_map.may_print_mining_area for the court map) — the menu asks, it does not restate. The
order puts a role's daily page first: the field page for field staff and grid workers, the planner map for planners,
the court map for the court. The same entries are the "what you can use" of the 403 page.

The badge counts the cases `/cases/?due=overdue` and `?due=soon` list for the user (case_queries.listed_cases, so
a click shows exactly the number), for roles that move cases; cached a minute per user, since every page shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from geo_disputes.models import Banner, Role
from geo_disputes.services.areas.hearing_map import may_print_mining_area
from geo_disputes.services.cases.access import administers_staff, can_act, moves_cases, staff_profile
from geo_disputes.services.cases.case_queries import OPEN, CaseFilter, listed_cases
from geo_disputes.services.cases.clock import DueState

BADGE_SECONDS = 60


def _anyone(user) -> bool:
    return user is not None and user.is_authenticated


def _looks_at_maps(user) -> bool:
    """The court and planner maps: aggregate layers for the desk roles, not for field staff and grid workers."""
    profile = None if user.is_superuser else staff_profile(user)
    return profile is None or profile.role not in (Role.FIELD_STAFF, Role.GRID_WORKER)


def _desk(user) -> bool:
    """The registers of follow-ups and leaders' acts: for the desk roles (field staff work from the field page)."""
    profile = None if user.is_superuser else staff_profile(user)
    return profile is None or profile.role != Role.FIELD_STAFF


@dataclass(frozen=True)
class Entry:
    key: str
    url: str
    label: str
    allowed: Callable[[object], bool]


ENTRIES = {
    e.key: e
    for e in (
        Entry("cases", "/cases/", _("信访事项"), _anyone),
        Entry("intake", "/cases/new/", _("登记"), lambda u: can_act(u, None)),
        Entry("queues", "/queues/", _("待办队列"), moves_cases),
        Entry("agenda", "/agenda/", _("联席会议"), moves_cases),
        Entry("follow_ups", "/follow-ups/", _("回访登记"), _desk),
        Entry("leaders", "/leaders/", _("领导包案与接访"), _desk),
        Entry("field", "/maps/field/", _("外业查询"), _anyone),
        Entry("court", "/maps/court/", _("矿区法庭"), lambda u: may_print_mining_area(u) or _looks_at_maps(u)),
        Entry("planner", "/maps/planner/", _("规划分析"), _looks_at_maps),
        Entry("dashboard", "/dashboard/", _("统计看板"), _looks_at_maps),
        Entry("report", "/report/monthly/", _("联席会议月报"), _looks_at_maps),
        Entry("admin", "/admin/", _("人员、单位和分流规则"), administers_staff),
    )
}
DEFAULT_ORDER = (
    "cases",
    "intake",
    "queues",
    "agenda",
    "follow_ups",
    "leaders",
    "field",
    "court",
    "planner",
    "dashboard",
    "report",
    "admin",
)
ORDER = {
    Role.FIELD_STAFF: ("field", "intake", "cases"),
    Role.GRID_WORKER: ("field", "intake", "cases", "queues"),
    Role.PLANNER: ("planner", "dashboard", "report", "court", "cases", "field"),
    Role.MINING_COURT: ("court", "cases", "queues", "intake", "field", "planner", "dashboard", "report", "agenda"),
}


def menu_for(user) -> list[Entry]:
    """The entries `user` may use, their role's daily page first."""
    if not _anyone(user):
        return []
    profile = None if user.is_superuser else staff_profile(user)
    order = ORDER.get(profile.role, DEFAULT_ORDER) if profile else DEFAULT_ORDER
    order = (*order, *(k for k in DEFAULT_ORDER if k not in order))
    return [ENTRIES[key] for key in order if ENTRIES[key].allowed(user)]


def due_counts(user) -> dict[str, int] | None:
    """{"overdue": n, "soon": m} of the user's list, or None for roles that move no cases."""
    if not moves_cases(user):
        return None
    key = f"menu-due:{user.pk}"
    counts = cache.get(key)
    if counts is None:
        counts = listed_cases(user, CaseFilter(status=OPEN)).aggregate(
            overdue=Count("id", filter=Q(due_state=DueState.OVERDUE)),
            soon=Count("id", filter=Q(due_state=DueState.DUE_SOON)),
        )
        cache.set(key, counts, BADGE_SECONDS)
    return counts


def role_label(user) -> str:
    """The user's role as the 403 page names it."""
    if not _anyone(user):
        return ""
    if user.is_superuser:
        return str(_("系统管理员"))
    profile = staff_profile(user)
    return str(_(Role(profile.role).label)) if profile else str(_("未分配角色"))


def banner_label(user) -> str:
    """The banner a page header names for `user` when it is not the home banner (several banners per deployment):
    its name, or "全市 1506" for a city-wide role; "" for the home banner's staff (the header's own name)."""
    if not _anyone(user) or user.is_superuser:
        return ""
    profile = staff_profile(user)
    code = profile.banner_code.strip() if profile else ""
    if not code or code == settings.BANNER_CODE:
        return ""
    if len(code) == 4:
        city = _("全市")
        return f"{city} {code}"
    name = Banner.objects.filter(code=code).order_by("-valid_from").values_list("name", flat=True).first()
    return name or code


def banner_name(user) -> str:
    """The name of the user's banner (or 全市 <code>) in the page's language: banner_label, else the home banner's."""
    return banner_label(user) or str(_("准格尔旗"))


def site_name(user) -> str:
    """The site's name on every page's title and the home page's heading: the user's banner's (several banners per
    deployment), the home banner's otherwise — so another banner's staff never read 准格尔旗 on their own pages."""
    return str(_("%(banner)s矛盾纠纷地图")) % {"banner": banner_name(user)}
