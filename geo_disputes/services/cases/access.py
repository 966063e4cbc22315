"""Who sees which case, and whose personal data: the one place every page, API and export asks.

Scope is geographic (banner, a township, a village, a grid) or, for the mining court, a subject
(mining-related cases). Petitioner names, phones and ID numbers are masked unless the role needs
them (PIPL; 信访工作条例 Art. 46); planners see none; every unmasked view is recorded.

Accused-side rule (Art. 30 ¶3, Art. 28): nobody on the accused side of an accusation — the accused
unit's staff, everyone whose scope lies inside an accused committee's area (officers, grid workers,
field staff), accused persons with an account, anyone recused — sees the case at all, not even
with masked names: the description of an accusation identifies the petitioner in a village of a
few hundred households. `services.cases.recusal` defines that side; the hand-overs keep to it too.

Deciding (item 4 of the hardening round): acceptance, rejection, transfers and outcomes are decided
by the holder's tier or above; lower tiers and grid workers only record facts (a session held, a
reply served, a follow-up, a review asked for on the petitioner's behalf).
"""

from __future__ import annotations

import re

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet

from geo_disputes.models import Case, Parcel, PersonalDataAccess, Role, StaffProfile
from geo_disputes.models.cases import MiningRelation, Tier
from geo_disputes.models.org import Unit
from geo_disputes.services.cases.recusal import hidden_from

# Two-character surnames kept whole when masking ("欧阳娜娜" → "欧阳某").
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 令狐 慕容 尉迟 长孙 宇文 公孙 夏侯 轩辕 澹台 呼延 端木 南宫 西门 "
    "司徒 司空 独孤 万俟 闻人 申屠 拓跋 百里 东郭 太史 钟离 赫连 第五 左丘 公冶 濮阳 淳于 单于".split()
)

# The kinds of scope code each role accepts ("" = the whole banner).
ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.BANNER_ADMIN: frozenset({""}),
    Role.TOWNSHIP_OFFICER: frozenset({"township"}),
    Role.VILLAGE_OFFICER: frozenset({"village"}),
    Role.GRID_WORKER: frozenset({"grid"}),
    Role.MINING_COURT: frozenset({""}),
    Role.PLANNER: frozenset({""}),
    Role.FIELD_STAFF: frozenset({"", "township", "village"}),
}

_SCOPE_PATTERNS = {
    "township": re.compile(r"\d{9}"),  # 150622004
    "village": re.compile(r"\d{12}"),  # 150622106202
    "grid": re.compile(r"\d{12}-[0-9A-Za-z]+"),  # 150622101206-001
}
_SCOPE_FIELDS = {"township": "township_code", "village": "village_code", "grid": "grid_code"}
_MINING_RELATED = (
    Q(mining_relation__in=[MiningRelation.INSIDE, MiningRelation.INFLUENCE_ZONE])
    | Q(tier=Tier.MINING_COURT)
    | Q(unit__kind=Unit.Kind.MINING_COURT)
)


class ScopeError(ValueError):
    """A scope code that does not fit the role."""


def visible_cases(user, qs: QuerySet[Case] | None = None) -> QuerySet[Case]:
    """The cases `user` may see, narrowing `qs` (all cases when not given)."""
    qs = Case.objects.all() if qs is None else qs
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    profile = staff_profile(user)
    if profile is None:
        return qs.none()
    seen = _role_filter(profile)
    if seen is None:
        return qs.none()
    return qs.filter(seen).exclude(hidden_from(user, profile))


def can_see_pii(user, case: Case) -> bool:
    """Whether `user` may see the petitioners of `case` unmasked (each such view is recorded)."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    profile = staff_profile(user)
    if profile is None or profile.role in (Role.PLANNER, Role.FIELD_STAFF):
        return False
    if not visible_cases(user, Case.objects.filter(pk=case.pk)).exists():
        return False
    if profile.role in (Role.BANNER_ADMIN, Role.GRID_WORKER):
        return True  # the grid worker is the household's petition agent
    if profile.role == Role.MINING_COURT:
        return _court_case(case)
    return _handles(profile, case)


def can_act(user, case: Case | None) -> bool:
    """Whether `user` may register a case (`case=None`) or move `case` along the workflow.

    Planners only look. Field staff open cases where they stand (intake) but do not move them.
    Others act within what they see: the banner admin
    anywhere, township officers and grid workers (the petition agents) in their scope, village
    officers on cases their committee handles, the mining court on its own cases.
    """
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    profile = staff_profile(user)
    if profile is None or profile.role == Role.PLANNER:
        return False
    if case is None:
        return _role_filter(profile) is not None
    if profile.role == Role.FIELD_STAFF:
        return False
    if not visible_cases(user, Case.objects.filter(pk=case.pk)).exists():
        return False
    if profile.role == Role.MINING_COURT:
        return _court_case(case)
    if profile.role == Role.VILLAGE_OFFICER:
        return _handles(profile, case)
    return True


def visible_reference(user, case_id: int | None) -> str | None:
    """A linked case's reference only when `user` may see that case (a repeat never reveals its original)."""
    if case_id is None:
        return None
    return visible_cases(user).filter(pk=case_id).values_list("reference", flat=True).first()


def visible_changes(user, changes: dict) -> dict:
    """A history entry's changes as `user` may read them: a linked case's reference only if they may see it."""
    reference = changes.get("repeat_of")
    if not isinstance(reference, str) or visible_cases(user).filter(reference=reference).exists():
        return changes
    return {**changes, "repeat_of": "(不在您的辖区 / outside your scope)"}


def can_supervise(user, case: Case) -> bool:
    """Whether `user` may order a supervision act (督办…) against the unit holding `case` (条例 Chapter 5).

    Supervision comes from above: the banner (its admin, for any unit it sees) or a township officer
    over a village committee of the township. Nobody supervises their own unit, and nobody supervises
    a court (诉访分离).
    """
    if not can_act(user, case) or _court_case(case):
        return False
    if user.is_superuser:
        return True
    profile = staff_profile(user)
    if profile.role == Role.BANNER_ADMIN:
        return True
    if profile.role == Role.TOWNSHIP_OFFICER:
        return case.unit_id is not None and case.unit.kind == Unit.Kind.VILLAGE_COMMITTEE
    return False


# Steps that record a fact rather than decide the matter: anyone acting on the case may take them —
# the grid worker who delivered the reply, sat in on a session, called the petitioner back, or
# passed on the petitioner's request for review (the request is the petitioner's, not the agent's).
RECORDING_ACTIONS = frozenset({"serve", "session", "follow_up", "request_review"})
# How high each tier stands, and the highest tier each role decides at (grid workers decide nothing).
_TIER_RANK = {"": 1, Tier.VILLAGE: 1, Tier.TOWNSHIP: 2, Tier.BANNER: 3}
_ROLE_RANK = {Role.VILLAGE_OFFICER: 1, Role.TOWNSHIP_OFFICER: 2, Role.BANNER_ADMIN: 3}


def may_decide(user, case: Case) -> bool:
    """Whether `user` decides for the body holding `case`: its tier or above (a court's cases: the court).

    A township officer decides a village's or a township's matter, never a banner body's; a grid
    worker, as the petitioner's agent, decides nothing; a court's matter is the court's alone (诉访分离).
    """
    if not can_act(user, case):
        return False
    if user.is_superuser:
        return True
    profile = staff_profile(user)
    if _court_case(case):
        return profile.role == Role.MINING_COURT
    if profile.role == Role.MINING_COURT:
        return False
    return _ROLE_RANK.get(profile.role, 0) >= _TIER_RANK.get(case.tier, 3)


def may_recuse(user, case: Case, username: str) -> bool:
    """Anyone who sees a case may recuse themselves (Art. 28); recusing someone else is the holder's decision."""
    if not visible_cases(user, Case.objects.filter(pk=case.pk)).exists():
        return False
    return (username or "").strip() == user.get_username() or may_decide(user, case)


def may_perform(user, case: Case, action: str) -> bool:
    """Whether `user` may take workflow `action` on `case`: recording a fact needs acting at all,
    deciding needs the holder's tier or above, and supervision comes only from above."""
    return refusal(user, case, action) is None


def refusal(user, case: Case, action: str) -> str | None:
    """Why `user` may not take `action` on `case` (Chinese, then English), or None when they may."""
    if action == "supervise":
        if can_supervise(user, case):
            return None
        return (
            "督办由上级机关作出,不能督办本单位或法院 / "
            "supervision is ordered from above, never of one's own unit or a court"
        )
    if not can_act(user, case):
        return "当前角色无权办理此事项 / your role cannot act on this case"
    if action in RECORDING_ACTIONS or may_decide(user, case):
        return None
    tier = Tier(case.tier).label if case.tier in Tier.values else case.tier
    return (
        f"此事项由{tier}办理,受理、不予受理、转送和处理结果由承办层级或上级决定 / "
        f"this matter is held at the {case.tier or 'unrouted'} tier: acceptance, rejection, transfers and "
        "outcomes are decided by the holder's tier or above"
    )


def petitioner_view(user, case: Case, purpose: str = "查看信访人 view petitioners") -> list[dict]:
    """The petitioners of `case` as `user` may see them; an unmasked view is recorded once per call.

    Empty for a case the user cannot see (including the accused unit's staff) and for planners,
    who see no personal data at all.
    """
    profile = None if user is None or user.is_superuser else staff_profile(user)
    if profile is not None and profile.role == Role.PLANNER:
        return []
    if not visible_cases(user, Case.objects.filter(pk=case.pk)).exists():
        return []
    unmasked = can_see_pii(user, case)
    parties = list(case.petitioners.order_by("id"))
    if unmasked and parties:
        PersonalDataAccess.objects.create(user=user, case=case, purpose=purpose)
    return [
        {
            "id": p.pk,
            "name": p.name if unmasked else mask_name(p.name),
            "phone": p.phone if unmasked else mask_phone(p.phone),
            "id_number": p.id_number if unmasked else mask_id(p.id_number),
            "masked": not unmasked,
            "representative": p.representative,
        }
        for p in parties
    ]


def accused_persons_view(user, case: Case) -> list:
    """The officials an accusation names, for those who handle it (the same roles that see petitioners whole)."""
    if not can_see_pii(user, case):
        return []
    return list(case.accused_persons.select_related("unit"))


def parcel_holder(user, parcel: Parcel, purpose: str = "查看地块承包户 view parcel holder") -> str:
    """A parcel's holder as `user` may see it: whole (and recorded) for the banner admin and the
    township/village officers whose scope holds the parcel (parcel codes start with their village's
    code); masked for everyone else, field staff and grid workers included; nothing for planners."""
    if not parcel.holder_name:
        return ""
    profile = None if user is None or not user.is_authenticated or user.is_superuser else staff_profile(user)
    if profile is not None and profile.role == Role.PLANNER:
        return ""
    whole = user is not None and user.is_authenticated and (user.is_superuser or _holds_parcel(profile, parcel))
    if not whole:
        return mask_name(parcel.holder_name)
    PersonalDataAccess.objects.create(user=user, parcel=parcel, purpose=purpose)
    return parcel.holder_name


def mask_name(name: str) -> str:
    """Surname + 某, as the seed writes names ("王建国" → "王某", "欧阳娜娜" → "欧阳某")."""
    name = (name or "").strip()
    if not name:
        return ""
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2] + "某"
    return name[0] + "某"


def mask_phone(phone: str) -> str:
    """First three and last four digits ("13812340000" → "138****0000"); short numbers fully hidden."""
    phone = (phone or "").strip()
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_id(id_number: str) -> str:
    """First four and last four characters of an ID number ("1506**********1234")."""
    id_number = (id_number or "").strip()
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return f"{id_number[:4]}{'*' * (len(id_number) - 8)}{id_number[-4:]}"


def scope_kind(code: str) -> str:
    """ "township", "village" or "grid" by the shape of the code; "" for blank (the banner).

    Raises ScopeError for a code of no known shape.
    """
    code = (code or "").strip()
    if not code:
        return ""
    for kind, pattern in _SCOPE_PATTERNS.items():
        if pattern.fullmatch(code):
            return kind
    raise ScopeError(
        f"辖区代码 {code!r} 不是9位乡镇、12位村或网格代码 / scope {code!r} is not a 9-digit township, "
        "12-digit village or grid code (e.g. 150622101206-001)"
    )


def validate_scope(role: str, scope: str) -> str:
    """The scope's kind if it fits `role`; ScopeError naming what the role needs otherwise."""
    if role not in ROLE_SCOPES:
        raise ScopeError(f"未知角色 unknown role {role!r}; use one of: {', '.join(ROLE_SCOPES)}")
    kind = scope_kind(scope)
    allowed = ROLE_SCOPES[role]
    if kind not in allowed:
        need = " / ".join(k or "banner (no scope)" for k in sorted(allowed))
        got = kind or "no scope"
        raise ScopeError(f"角色 {role} 的辖区须为 / role {role} needs scope: {need}; got {got}")
    return kind


def staff_profile(user) -> StaffProfile | None:
    """The user's StaffProfile (with its unit), or None for a user without one."""
    try:
        return user.staff
    except (ObjectDoesNotExist, AttributeError):
        return None


def kept_from(user, case: Case) -> bool:
    """Whether `user` stands on the accused side of `case` or was recused: then even the person who registered it
    gets a receipt and nothing of the matter (out of scope alone, a registrar still sees what they registered)."""
    if user is None or not user.is_authenticated or user.is_superuser:
        return False
    return Case.objects.filter(pk=case.pk).filter(hidden_from(user, staff_profile(user))).exists()


def is_accused(profile: StaffProfile, case: Case) -> bool:
    """Whether `profile`'s account stands on the accused side of `case` (services.cases.recusal)."""
    return Case.objects.filter(pk=case.pk).filter(hidden_from(profile.user, profile)).exists()


def _role_filter(profile: StaffProfile) -> Q | None:
    """The cases a role sees by scope, as a Q (empty Q = all); None = nothing."""
    role, scope = profile.role, profile.scope_code.strip()
    if role in (Role.BANNER_ADMIN, Role.PLANNER):
        return Q()
    if role == Role.MINING_COURT:
        return _MINING_RELATED
    fixed = {Role.TOWNSHIP_OFFICER: "township", Role.VILLAGE_OFFICER: "village", Role.GRID_WORKER: "grid"}
    if role in fixed:
        return Q(**{_SCOPE_FIELDS[fixed[role]]: scope}) if scope else None
    if role == Role.FIELD_STAFF:
        try:
            kind = scope_kind(scope)
        except ScopeError:
            return None
        return Q(**{_SCOPE_FIELDS[kind]: scope}) if kind else Q()
    return None


def _handles(profile: StaffProfile, case: Case) -> bool:
    """A township/village officer needs names for cases their own committee handles, or that are
    not yet routed (still at the talk room where they were recorded)."""
    if case.unit_id is None:
        return True
    return case.unit_id == profile.unit_id or case.unit.area_code == profile.scope_code


def _court_case(case: Case) -> bool:
    return case.tier == Tier.MINING_COURT or (case.unit_id is not None and case.unit.kind == Unit.Kind.MINING_COURT)


def _holds_parcel(profile: StaffProfile | None, parcel: Parcel) -> bool:
    if profile is None:
        return False
    if profile.role == Role.BANNER_ADMIN:
        return True
    if profile.role in (Role.TOWNSHIP_OFFICER, Role.VILLAGE_OFFICER):
        return bool(profile.scope_code) and parcel.code.startswith(profile.scope_code)
    return False
