"""manage.py add_staff USERNAME --role ROLE [--scope CODE] [--banner CODE] [--password P] [--unit UNIT_CODE]"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from geo_disputes.models import Role
from geo_disputes.services.ops.staff import upsert_staff


class Command(BaseCommand):
    help = "Create or update a staff user with a role and scope (township, village or grid code)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--scope", help="9-digit township, 12-digit village or grid code (e.g. 150622101206-001)")
        parser.add_argument(
            "--banner",
            help="6-digit banner code (default: the scope's banner, else the home banner), or a 4-digit city code "
            "for a city-wide banner_admin or planner",
        )
        parser.add_argument("--password", help="kept unchanged for an existing user when omitted")
        parser.add_argument("--unit", dest="unit_code", help="unit code, e.g. TC-150622004 (default: own committee)")

    def handle(self, *args, username: str, role: str, scope, banner, password, unit_code, **options) -> None:
        if password:  # the site's password validators (settings.AUTH_PASSWORD_VALIDATORS), as on a password form
            try:
                validate_password(password, get_user_model()(username=username.strip()))
            except ValidationError as exc:
                raise CommandError(f"--password: {' '.join(exc.messages)}") from exc
        try:
            result = upsert_staff(username, role, scope, password=password, unit_code=unit_code, banner=banner)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        profile = result.profile
        verb = "created" if result.created else "updated"
        unit = profile.unit.code if profile.unit else "-"
        self.stdout.write(
            f"{verb} {username}: role={profile.role} scope={profile.scope_code or '-'} unit={unit} "
            f"banner={profile.banner_code}"
        )
        if result.generated_password:
            self.stdout.write(f"generated password (shown once): {result.generated_password}")
