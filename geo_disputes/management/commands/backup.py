"""`manage.py backup [--output FILE]`: the configured database (pg_dump, custom format) and the case attachments,
bundled into one file (services/ops/backup.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from geo_disputes.services.ops.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up the configured database (pg_dump -Fc) and the case attachments into one bundle FILE "
        "(default backups/<database>-YYYYmmdd-HHMMSS.tar, readable by its owner only)."
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
            f"backed up {result.database} to {result.path} ({result.size_bytes} bytes, "
            f"{result.attachments} attachment files, {result.seconds:.1f} s)"
        )
