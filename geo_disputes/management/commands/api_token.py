"""manage.py api_token USERNAME [--name NAME] [--days N] | --list | --revoke"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from geo_disputes.models import ApiToken
from geo_disputes.services.ops import tokens


class Command(BaseCommand):
    help = (
        "Issue an API token for USERNAME (the secret is printed once; only its hash is stored), "
        "list the user's tokens, or revoke them all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for, shown in the admin")
        parser.add_argument("--days", type=int, help="validity in days (default: API_TOKEN_DAYS, 30)")
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--list", dest="list_tokens", action="store_true", help="list the user's tokens (never their secrets)"
        )
        action.add_argument("--revoke", action="store_true", help="revoke every token of the user")

    def handle(self, *args, username: str, name: str, days: int | None, list_tokens: bool, revoke: bool, **options):
        try:
            user = get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"no user {username!r}") from exc
        if list_tokens:
            now = timezone.now()
            for token in ApiToken.objects.filter(user=user):
                state = (
                    "expired"
                    if token.expires_at <= now
                    else f"expires {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}"
                )
                created = timezone.localtime(token.created_at)
                self.stdout.write(f"{token.prefix}…  {token.name or '-'}  created {created:%Y-%m-%d}  {state}")
            return
        if revoke:
            self.stdout.write(f"revoked {tokens.revoke_all(user)} token(s) of {username}")
            return
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        if not user.is_active:
            raise CommandError(f"{username!r} is inactive: a token would not work")
        token, secret = tokens.issue(user, name=name, days=days)
        self.stdout.write(
            f"token for {username}, valid until {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M} (shown once):"
        )
        self.stdout.write(secret)
