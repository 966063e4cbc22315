"""The ladder of responsible bodies: which tier sits above which, and which unit serves a tier here.

Units are found by code, not by foreign key to an area, because boundaries are versioned
while the committee of a village stays the same body:
`VC-<village_code>` village committee, `TC-<township_code>` township committee,
`BL-<banner_code>` banner leadership (包案), `MC-<banner_code>` mining-area court, and the banner
departments `BD-<key>` (the home banner's, named before a deployment served several banners) or
`BD-<key>-<banner_code>` (any other banner's). A unit's banner is the first 6 digits of its area code.
Routing and escalation both use these helpers, so the ladder lives in one place.
"""

from __future__ import annotations

from django.conf import settings

from geo_disputes.models import Unit
from geo_disputes.models.cases import Tier

# Escalation and review go one step up; the mining court answers to the banner (条例 Art. 35).
TIER_ABOVE: dict[str, str] = {
    Tier.VILLAGE: Tier.TOWNSHIP,
    Tier.TOWNSHIP: Tier.BANNER,
    Tier.MINING_COURT: Tier.BANNER,
}

# The tier a unit acts at; the integrated centre (综治中心) is the banner's.
TIER_OF_UNIT_KIND: dict[str, str] = {
    Unit.Kind.VILLAGE_COMMITTEE: Tier.VILLAGE,
    Unit.Kind.TOWNSHIP_COMMITTEE: Tier.TOWNSHIP,
    Unit.Kind.BANNER_DEPARTMENT: Tier.BANNER,
    Unit.Kind.BANNER_LEADERSHIP: Tier.BANNER,
    Unit.Kind.INTEGRATED_CENTRE: Tier.BANNER,
    Unit.Kind.MINING_COURT: Tier.MINING_COURT,
}


def tier_above(tier: str) -> str | None:
    """The tier one step up, or None at the top (the banner) or for an unrouted case."""
    return TIER_ABOVE.get(tier)


def tier_of_unit(unit: Unit) -> str:
    """The tier a unit acts at."""
    return TIER_OF_UNIT_KIND[unit.kind]


def banner_of(township_code: str = "", village_code: str = "", banner_code: str = "") -> str:
    """The banner a place lies in: named, else the first 6 digits of its codes, else the home banner."""
    return banner_code or (township_code or village_code)[:6] or settings.BANNER_CODE


def department_code(key: str, banner_code: str = "") -> str:
    """The unit code of banner department `key` (DEPARTMENTS in routing) of `banner_code`'s banner."""
    banner = banner_code or settings.BANNER_CODE
    return f"BD-{key}" if banner == settings.BANNER_CODE else f"BD-{key}-{banner}"


def unit_banner(unit: Unit) -> str:
    """The banner a unit serves (its area code's first 6 digits; every unit's area lies in one banner)."""
    prefix = (unit.area_code or "")[:6]
    return prefix if len(prefix) == 6 and prefix.isdigit() else settings.BANNER_CODE


def unit_code_for_tier(tier: str, township_code: str = "", village_code: str = "", banner_code: str = "") -> str | None:
    """The code of the unit serving `tier` for a place, or None when the place lacks the needed code."""
    banner = banner_of(township_code, village_code, banner_code)
    if tier == Tier.VILLAGE:
        return f"VC-{village_code}" if village_code else None
    if tier == Tier.TOWNSHIP:
        return f"TC-{township_code}" if township_code else None
    if tier == Tier.BANNER:
        return f"BL-{banner}"
    if tier == Tier.MINING_COURT:
        return f"MC-{banner}"
    return None


def unit_for_tier(tier: str, township_code: str = "", village_code: str = "", banner_code: str = "") -> Unit | None:
    """The unit serving `tier` for the place with these codes, or None when no such unit is registered."""
    code = unit_code_for_tier(tier, township_code, village_code, banner_code)
    if code is None:
        return None
    return Unit.objects.filter(code=code).first()
