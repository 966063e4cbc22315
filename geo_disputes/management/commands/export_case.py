"""manage.py export_case: a case with its notices and attachments as one exchange package (docs/exchange.md)."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from geo_disputes.services.cases.exchange import ExchangeError, acting_user, export_case, exportable_case


class Command(BaseCommand):
    help = (
        "Write a case-exchange package (zip: manifest.json + notices + attachments, each with its SHA-256) for "
        "the national petitions system or a neighbouring county. It holds the petitioners' identity: the export "
        "is recorded as a view of personal data by the account named with --as."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference", help="the case's reference, e.g. ZGE-2026-000123")
        parser.add_argument("--output", "-o", help="the zip to write (default: <reference>-exchange.zip)")
        parser.add_argument("--as", dest="username", help="the account exporting (default: the only superuser)")

    @no_translations
    def handle(self, *args, **options) -> None:
        reference = options["reference"]
        output = Path(options["output"] or f"{reference}-exchange.zip")
        try:
            user = acting_user(options["username"])
            case = exportable_case(user, reference)
            if case is None:
                raise ExchangeError(f"{reference}: 无此事项或不能导出 / no such case, or {user} may not export it")
            if output.exists():
                raise ExchangeError(f"--output: {output} 已存在,不覆盖 / exists already; not overwritten")
            # Readable by its owner only (petitioners' identity inside); written as .part and renamed when whole,
            # so a failed export leaves no half-written package under the real name.
            partial = output.with_name(output.name + ".part")
            try:
                with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
                    manifest = export_case(case, user, out)
                partial.replace(output)
            finally:
                partial.unlink(missing_ok=True)
        except (ExchangeError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{output}: {reference}, {len(manifest['petitioners'])} petitioners, "
                f"{len(manifest['history'])} history entries, {len(manifest['documents'])} documents, "
                f"{len(manifest['attachments'])} attachments, {len(manifest['files'])} files"
            )
        )
