"""`manage.py backup [--output FILE]`: pg_dump (custom format) of the configured database."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from geo_disputes.services.ops.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up the configured database with pg_dump -Fc to FILE "
        "(default backups/<database>-YYYYmmdd-HHMMSS.dump, readable by its owner only)."
    )
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", metavar="FILE", help="where to write the archive (must not exist)")

    def handle(self, *args, **options) -> None:
        try:
            result = backup(options["output"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"backed up {result.database} to {result.path} ({result.size_bytes} bytes, {result.seconds:.1f} s)"
        )
