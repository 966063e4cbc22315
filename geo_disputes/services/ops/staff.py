"""Staff accounts: a user with a role, a scope and a unit, created or updated idempotently.

Scope codes must fit the role (services/cases/access.py decides which kinds) and, when that area
layer has been loaded, name an area in force — so a typo cannot give someone an empty or
wrong view. Officers default to their own committee's unit, which the accused-unit rule and
"the responsible unit's officer" check rely on.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from geo_disputes.models import Grid, Role, StaffProfile, Township, Unit, Village
from geo_disputes.models.cases import Tier
from geo_disputes.services.cases.access import validate_banner, validate_scope
from geo_disputes.services.cases.units import banner_of, unit_for_tier

_LAYERS = {"township": Township, "village": Village, "grid": Grid}


class StaffError(ValueError):
    """Input that cannot make a valid staff account."""


@dataclass(frozen=True)
class StaffResult:
    user: object
    profile: StaffProfile
    created: bool
    generated_password: str = ""  # set only when a new user got a generated password


@transaction.atomic
def upsert_staff(
    username: str,
    role: str,
    scope: str | None = None,
    password: str | None = None,
    unit_code: str | None = None,
    banner: str | None = None,
) -> StaffResult:
    """Create or update `username` as staff with `role` and `scope` in `banner` (a 6-digit banner or a city's
    4 digits for a city-wide role; None keeps an existing user's, else the scope's banner or the home banner).

    `scope=None` keeps an existing user's scope; `password=None` keeps an existing password
    and generates one for a new user; `unit_code=None` keeps the unit while role and scope stay,
    else takes the officer's own committee (or the mining court) when registered.
    Raises StaffError (a ValueError) with a message naming what is wrong.
    """
    username = username.strip()
    if not username:
        raise StaffError("用户名不能为空 / username is required")
    user_model = get_user_model()
    longest = user_model._meta.get_field(user_model.USERNAME_FIELD).max_length
    if len(username) > longest or "\x00" in username:
        raise StaffError(f"用户名至多 {longest} 个字符且不含 NUL / username: at most {longest} characters, no NUL")
    user = user_model.objects.filter(username=username).first()
    profile = StaffProfile.objects.filter(user=user).first() if user else None
    if scope is None:
        scope = profile.scope_code if profile else ""
    scope = scope.strip()
    if banner is None:
        banner = profile.banner_code if profile and not scope else banner_of(scope[:9])
    banner = banner.strip()
    kind = validate_scope(role, scope)
    validate_banner(role, banner, scope)
    _check_exists(kind, scope)
    unit = _unit(unit_code, role, scope, profile, banner)

    created = user is None
    generated = ""
    if created:
        user = user_model(username=username)
    if password:
        user.set_password(password)
    elif created:
        generated = secrets.token_urlsafe(12)
        user.set_password(generated)
    user.save()
    profile, _ = StaffProfile.objects.update_or_create(
        user=user, defaults={"role": role, "scope_code": scope, "banner_code": banner, "unit": unit}
    )
    return StaffResult(user=user, profile=profile, created=created, generated_password=generated)


def check_scope(role: str, scope: str, banner: str = "") -> None:
    """That `scope` fits `role`, lies in `banner` and names an area in force (the admin's staff form asks too, so a
    typed code is held to what `upsert_staff` holds it to); raises StaffError (or access.ScopeError, both
    ValueErrors)."""
    kind = validate_scope(role, scope)
    validate_banner(role, banner or banner_of(scope[:9]), scope)
    _check_exists(kind, scope)


def default_unit(role: str, scope: str, banner: str = "") -> Unit | None:
    """The unit an officer belongs to when none is named: their own committee (or their banner's mining court)."""
    return _unit(None, role, scope, None, banner)


def _check_exists(kind: str, scope: str) -> None:
    """A scope must name an area in force, once that layer has any data."""
    if not kind:
        return
    layer = _LAYERS[kind]
    if layer.objects.exists() and not layer.objects.in_force().filter(code=scope).exists():
        raise StaffError(f"没有代码为 {scope} 的现行{layer._meta.verbose_name} / no {kind} {scope} in force")


def _unit(unit_code: str | None, role: str, scope: str, profile: StaffProfile | None, banner: str = "") -> Unit | None:
    if unit_code:
        unit = Unit.objects.filter(code=unit_code.strip()).first()
        if unit is None:
            raise StaffError(f"没有代码为 {unit_code} 的单位 / no unit {unit_code}")
        return unit
    if profile is not None and profile.role == role and profile.scope_code == scope:
        return profile.unit
    if role == Role.TOWNSHIP_OFFICER:
        return unit_for_tier(Tier.TOWNSHIP, scope, "")
    if role == Role.VILLAGE_OFFICER:
        return unit_for_tier(Tier.VILLAGE, scope[:9], scope)
    if role == Role.MINING_COURT:
        return unit_for_tier(Tier.MINING_COURT, banner_code=banner)
    return None
