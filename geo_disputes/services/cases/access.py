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

import copy
import re

from django.contrib.auth import get_user_model
from django.contrib.gis.db.models import PointField
from django.contrib.gis.db.models.functions import Transform
from django.contrib.gis.geos import Point
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import BooleanField, Expression, F, Func, Q, QuerySet, TextField, Value, When
from django.db.models import Case as SqlCase

from geo_disputes.models import Case, Parcel, PersonalDataAccess, Role, StaffProfile
from geo_disputes.models.areas import METRIC_SRID
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


# Several banners in one deployment (issue 16): every role sees the cases of its own banner only; these roles may
# instead be held for a whole city (a 4-digit code, 1506 鄂尔多斯市) and then see every banner of it.
CITY_ROLES = frozenset({Role.BANNER_ADMIN, Role.PLANNER})
_BANNER_CODE = re.compile(r"\d{6}")
_CITY_CODE = re.compile(r"\d{4}")


class ScopeError(ValueError):
    """A scope code that does not fit the role."""


def visible_cases(user, qs: QuerySet[Case] | None = None) -> QuerySet[Case]:
    """The cases `user` may see, narrowing `qs` (all cases when not given)."""
    qs = Case.objects.all() if qs is None else qs
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs.exclude(hidden_from(user, None))  # even a superuser named in an accusation, or recused
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


def administers_staff(user) -> bool:
    """Whether `user` manages staff, units and routing rules (the banner admin, and superusers)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    profile = staff_profile(user)
    return profile is not None and profile.role == Role.BANNER_ADMIN


def moves_cases(user) -> bool:
    """Whether `user`'s role moves cases along the workflow at all (can_act without a case says who registers):
    planners only look and field staff only register, so queues and the agenda are not theirs."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    profile = staff_profile(user)
    return profile is not None and profile.role not in (Role.PLANNER, Role.FIELD_STAFF) and can_act(user, None)


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
    return {**changes, "repeat_of": "(不在您的辖区)"}


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
    """Anyone who sees a case may recuse themselves (Art. 28); recusing someone else is the holder's decision,
    and never of someone who outranks the decider (a township does not recuse the banner from its matter)."""
    if not visible_cases(user, Case.objects.filter(pk=case.pk)).exists():
        return False
    username = (username or "").strip()
    if username == user.get_username():
        return True
    return may_decide(user, case) and not _outranks(username, user)


def _outranks(username: str, user) -> bool:
    """Whether the account `username` stands above `user` (a superuser, or a higher-ranking role): a body
    below never recuses those who supervise it — that would hide its own matter from them."""
    if user.is_superuser:
        return False
    target = StaffProfile.objects.filter(user__username=username).select_related("user").first()
    if target is None:
        return get_user_model().objects.filter(username=username, is_superuser=True).exists()
    if target.user.is_superuser:
        return True
    return _ROLE_RANK.get(target.role, 0) > _ROLE_RANK.get(staff_profile(user).role, 0)


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


def banner_filter(profile: StaffProfile) -> Q | None:
    """The banners a staff member works in, as a Q on cases: their banner, or every banner of their city for a
    city-wide role; None (nothing) for a code that fits neither."""
    code = (profile.banner_code or "").strip()
    if _BANNER_CODE.fullmatch(code):
        return Q(banner_code=code)
    if _CITY_CODE.fullmatch(code) and profile.role in CITY_ROLES:
        return Q(banner_code__startswith=code)
    return None


def banner_codes_seen(user) -> str | None:
    """The code whose banners `user` works in (a banner's 6 digits or a city's 4; "" = every banner, for a
    superuser), or None for a user without a role. Area layers and analyses scale their study area by it."""
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return ""
    profile = staff_profile(user)
    if profile is None or banner_filter(profile) is None:
        return None
    return profile.banner_code.strip()


def banner_prefix(user) -> str:
    """The code prefix of the places `user` works in, for filtering area and unit choices by code: their banner's 6
    digits, their city's 4, or "" (every banner: a superuser; a user without a role sees no case anyway)."""
    return banner_codes_seen(user) or ""


def validate_banner(role: str, banner_code: str, scope: str) -> None:
    """ScopeError unless `banner_code` is a 6-digit banner (or, for a city-wide role, a 4-digit city) and the
    scope lies inside it: a township officer of one banner cannot be given another banner's township."""
    code = (banner_code or "").strip()
    if _CITY_CODE.fullmatch(code):
        if role not in CITY_ROLES:
            raise ScopeError(
                f"市级代码 {code} 只用于市级管理员和规划分析 / a city code is for banner admins and planners only"
            )
        if scope.strip():
            raise ScopeError("市级角色不设辖区代码 / a city-wide role has no scope code")
        return
    if not _BANNER_CODE.fullmatch(code):
        raise ScopeError(f"旗代码 {code!r} 须为6位 / banner code {code!r} must be 6 digits (or 4 for a city)")
    if scope.strip() and not scope.strip().startswith(code):
        raise ScopeError(f"辖区 {scope} 不在旗 {code} 内 / scope {scope} is not inside banner {code}")


def _role_filter(profile: StaffProfile) -> Q | None:
    """The cases a role sees, as a Q (empty Q never: at least the banner); None = nothing."""
    banner = banner_filter(profile)
    seen = _scope_filter(profile)
    if banner is None or seen is None:
        return None
    return banner & seen


def _scope_filter(profile: StaffProfile) -> Q | None:
    """The cases a role sees by scope within its banner(s), as a Q (empty Q = all); None = nothing."""
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
        return bool(profile.banner_code) and parcel.code.startswith(profile.banner_code.strip())
    if profile.role in (Role.TOWNSHIP_OFFICER, Role.VILLAGE_OFFICER):
        return bool(profile.scope_code) and parcel.code.startswith(profile.scope_code)
    return False


# -- Case text and exact points (issue 12 item 6) ----------------------------------------------
#
# A description, a transition's reason, a named person, a contract number or an exact point can
# each identify a household in a village of a few hundred. They go to the roles that handle the
# case; planners and field staff get the aggregates (category, tier, unit, status, dates, village)
# and a coarse point. Kept apart from the rules above (visible_cases decides *which* cases).

REDACTED_DESCRIPTION = "（描述仅经办人员可见 / description visible to case handlers only）"
WITHHELD = "（仅经办人员可见）"
# Case fields of free text or named people, withheld from those who do not handle the case.
CASE_TEXT_FIELDS = (
    "responsible_person",
    "not_accepted_reason",
    "extension_reason",
    "extension_approved_by",
    "agenda_plan",
    "outcome",
    "mediators",
    "confirmation_number",
    "legal_number",
)
# History entries' change keys that carry no free text and no person (codes, dates, counts):
# everything else in an entry is withheld from non-handlers, so a new kind of note stays closed.
PLAIN_CHANGE_KEYS = frozenset(
    "status procedure tier unit holder_received_at forwarded_by objected_at accepted_at petition_route "
    "led_into_at extension_days extension_told_at agenda_date agenda_deadline opinion_outcome "
    "resolution_method replied_at served_at served_method review_requested_at review_round "
    "review_external review_outcome review_decided_at mediation_outcome agreement_at "
    "confirmation_applied_at confirmation_court confirmation_ruled_at legal_body pre_mediation_at "
    "filed_at legal_outcome legal_outcome_at satisfaction deputies_reviewed lead led_into "
    "reviewing_body follow_up answer supervision kind missed channel datum village group repeat_of "
    "case final attachment material file_type size".split()
)
COARSE_GRID_M = 500  # planners' and field staff's points: snapped to a 500 m grid
_NO_TEXT_ROLES = (Role.PLANNER, Role.FIELD_STAFF)


def case_text_filter(user) -> Q | None:
    """Among the cases `user` sees, those whose text they may read, as a Q (empty Q = all; None = none).

    Mirrors can_see_pii so lists (SQL) and pages (one case) agree: the superuser, the banner admin
    and the grid worker (the petition agent) for all they see; the mining court for its own cases;
    township/village officers for cases their committee handles or that are not yet routed.
    Planners and field staff: none.
    """
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return Q()
    profile = staff_profile(user)
    if profile is None or profile.role in _NO_TEXT_ROLES:
        return None
    if profile.role in (Role.BANNER_ADMIN, Role.GRID_WORKER):
        return Q()
    if profile.role == Role.MINING_COURT:
        return Q(tier=Tier.MINING_COURT) | Q(unit__kind=Unit.Kind.MINING_COURT)
    if profile.role in (Role.TOWNSHIP_OFFICER, Role.VILLAGE_OFFICER):
        return _committee_text_filter(profile)
    return None


def text_filter_key(user) -> tuple:
    """What case_text_filter (and so if_text_readable, location_as_seen) builds from for `user`: a statement
    using them may be reused for another request with an equal key (geojson.PAGE_STATEMENTS)."""
    if user is None or not user.is_authenticated:
        return (None,)
    profile = staff_profile(user)
    if profile is None:
        return (user.pk, user.is_superuser, None)
    return (user.pk, user.is_superuser, profile.role, profile.banner_code, profile.scope_code, profile.unit_id)


def can_read_case_text(user, case: Case) -> bool:
    """Whether `user` may read `case`'s description, history reasons and notes, named people,
    party details, contract numbers and exact point — the roles that handle it (case_text_filter)."""
    allowed = case_text_filter(user)
    if allowed is None:
        return False
    return visible_cases(user, Case.objects.filter(pk=case.pk)).filter(allowed).exists()


def reads_all_case_text(user) -> bool:
    """Whether `user` may read the text and exact point of every case they see (for aggregates drawn
    from many cases at once, such as cluster hulls, which are coarse unless this holds)."""
    allowed = case_text_filter(user)
    return allowed is not None and not allowed


def can_read_contract_numbers(user) -> bool:
    """Whether `user` sees parcels' contract numbers: a contract number names a household's contract,
    so planners and field staff (and anyone without a role) do not; the roles that handle cases do."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    profile = staff_profile(user)
    return profile is not None and profile.role not in _NO_TEXT_ROLES


# -- Attachments (issue 15) ------------------------------------------------------------------------
# Photos, scans and recordings identify people (an ID card, a signature, a voice) and places (EXIF GPS).
FULL, SHOWN = "full", "shown"
# What a role that sees the case but not its text may look at: the picture of the damage, never the papers.
SHOWN_KINDS = ("site_photo", "sketch")


def attachment_view(user, case: Case) -> str | None:
    """How `user` may see `case`'s attachments: FULL (originals, EXIF included — the handlers, who read the
    exact point), SHOWN (site photos and sketches only, re-encoded without EXIF — field staff in their scope,
    the mining court on a mining case it does not hold) or None (planners, the accused side, everyone else)."""
    if can_read_case_text(user, case):
        return FULL
    profile = staff_profile(user)
    if profile is None or profile.role not in (Role.FIELD_STAFF, Role.MINING_COURT):
        return None
    return SHOWN if visible_cases(user, Case.objects.filter(pk=case.pk)).exists() else None


def may_attach(user, case: Case) -> bool:
    """Adding or removing a case's files: those who act on the case and read all of it (field staff attach
    only at intake, in the same request that registers the case)."""
    return can_act(user, case) and can_read_case_text(user, case)


def coarse_point(point: Point) -> Point:
    """`point` snapped to the nearest node of a COARSE_GRID_M grid in EPSG:4546, back in WGS84.

    What a planner needs is where disputes concentrate, not whose house it is: clustering, hot spots
    and cell counts still run server-side on exact points; what leaves the server for a planner or
    field staff is this point, at most ~350 m from the truth — the scale of a hot-spot cell, finer
    than a village, coarser than a homestead. Same result as coarse_location_sql (ST_SnapToGrid).
    """
    metric = point.transform(METRIC_SRID, clone=True)
    snapped = Point(_snap(metric.x), _snap(metric.y), srid=METRIC_SRID)
    return snapped.transform(4326, clone=True)


def case_point_for(user, case: Case) -> tuple[float, float]:
    """(lon, lat) of `case` as `user` may see it: exact for those who handle it, coarse for others."""
    point = case.location if can_read_case_text(user, case) else coarse_point(case.location)
    return round(point.x, 7), round(point.y, 7)


def coarse_location_sql(field: str = "location") -> Func:
    """SQL for coarse_point: the location snapped to the COARSE_GRID_M grid in EPSG:4546, in WGS84."""
    metric = Transform(field, METRIC_SRID)
    snapped = Func(metric, Value(float(COARSE_GRID_M)), function="ST_SnapToGrid", output_field=PointField(srid=0))
    return Transform(snapped, 4326)


def if_text_readable(user, then: Expression, otherwise: Expression, output_field) -> Expression:
    """Per row of a case queryset: `then` where `user` may read the case's text (case_text_filter),
    `otherwise` elsewhere — the list form of can_read_case_text."""
    allowed = case_text_filter(user)
    if allowed is None:
        return otherwise
    if not allowed:
        return then
    return SqlCase(When(allowed, then=then), default=otherwise, output_field=output_field)


def location_as_seen(user, field: str = "location") -> Expression:
    """A case queryset's point as `user` may see it, per row: exact where they may read the case's text,
    coarse elsewhere (for lists and map layers; annotate and draw this instead of `location`)."""
    return if_text_readable(user, F(field), coarse_location_sql(field), PointField(srid=4326))


def text_as_seen(user, field: str) -> Expression:
    """A case's free-text or person field (CASE_TEXT_FIELDS) as `user` may read it, per row of a list:
    the text where they handle the case, WITHHELD elsewhere (blank stays blank)."""
    withheld = SqlCase(When(**{field: ""}, then=Value("")), default=Value(WITHHELD), output_field=TextField())
    return if_text_readable(user, F(field), withheld, TextField())


def text_readable(user) -> Expression:
    """A boolean per row of a case queryset: may `user` read this case's text (case_text_filter)?"""
    return if_text_readable(
        user, Value(True, output_field=BooleanField()), Value(False, output_field=BooleanField()), BooleanField()
    )


def case_as_seen(user, case: Case) -> tuple[Case, bool]:
    """`case` as `user` may read it, and whether that is in full.

    Non-handlers get an unsaved copy: description redacted, text and named people withheld,
    the exact point and the submitted coordinates replaced by the coarse point. Never save it.
    """
    if can_read_case_text(user, case):
        return case, True
    shown = copy.copy(case)
    shown._state = copy.copy(case._state)
    shown.description = REDACTED_DESCRIPTION
    for name in CASE_TEXT_FIELDS:
        setattr(shown, name, WITHHELD if getattr(case, name) else "")
    shown.location = coarse_point(case.location)
    shown.submitted_lon, shown.submitted_lat = shown.location.x, shown.location.y
    shown.accuracy_m = None
    shown.save = _refuse_save
    return shown, False


def changes_as_seen(changes: dict, full: bool) -> dict:
    """A history entry's changes: whole for a handler; otherwise only codes, dates and counts."""
    if full:
        return changes
    return {key: (value if key in PLAIN_CHANGE_KEYS else WITHHELD) for key, value in changes.items()}


def _committee_text_filter(profile: StaffProfile) -> Q:
    """As _handles: not yet routed, or held by the officer's own committee (by unit or by area)."""
    allowed = Q(unit__isnull=True)
    if profile.unit_id is not None:
        allowed |= Q(unit_id=profile.unit_id)
    if profile.scope_code:
        allowed |= Q(unit__area_code=profile.scope_code)
    return allowed


def _snap(value: float) -> float:
    return round(value / COARSE_GRID_M) * COARSE_GRID_M


def _refuse_save(*args, **kwargs) -> None:
    raise RuntimeError("a redacted case (access.case_as_seen) is for display only and is never saved")
