"""`manage.py restore FILE --yes`: replace the configured database's contents with a backup (and bring back its
attachment files)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from geo_disputes.services.ops.backup import BackupError, check_archive, connection_args, restore


class Command(BaseCommand):
    help = (
        "Restore a `manage.py backup` bundle: its attachment files (each checked against its SHA-256) into the "
        "attachment store, then the database with pg_restore --clean --if-exists --no-owner, in one transaction. "
        "Everything in the database is replaced: stop the application first."
    )
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a backup bundle (.tar), or a pg_dump custom-format archive (.dump)")
        parser.add_argument("--yes", action="store_true", help="confirm that the database's contents are replaced")

    def handle(self, *args, **options) -> None:
        try:
            path = check_archive(options["file"])
            database = connection_args()[0]
            if not options["yes"]:
                raise CommandError(
                    f"restore replaces everything in database {database!r} with {path}; run again with --yes to do it"
                )
            result = restore(path)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"restored {result.database} from {result.path} "
            f"({result.attachments} attachment files, {result.seconds:.1f} s)"
        )
