"""manage.py import_case: open a case from an exchange package; a dry run unless --commit (docs/exchange.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from geo_disputes.services.cases.exchange import (
    AlreadyPresent,
    ExchangeError,
    ImportReport,
    acting_user,
    import_package,
)


class Command(BaseCommand):
    help = (
        "Import a case-exchange package: checks the schema version and every file's SHA-256, opens the case "
        "through intake (location inside the banner, routing) with its attachments, in one transaction. "
        "Nothing is saved without --commit; a case already present is never imported twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the package (.zip)")
        parser.add_argument("--commit", action="store_true", help="write to the database (default: dry run)")
        parser.add_argument("--as", dest="username", help="the account registering it (default: the only superuser)")

    @no_translations
    def handle(self, *args, **options) -> None:
        if not options["commit"]:
            self.stdout.write(self.style.WARNING("DRY RUN: nothing will be saved; add --commit to write."))
        try:
            user = acting_user(options["username"])
            report = import_package(options["file"], user, commit=options["commit"])
        except AlreadyPresent as exc:
            raise CommandError(f"{options['file']}: {exc}") from exc
        except ExchangeError as exc:
            raise CommandError(f"import of {options['file']} failed, nothing saved:\n{exc}") from exc
        self._report(report)

    def _report(self, report: ImportReport) -> None:
        self.stdout.write(f"from {report.source}, reference there {report.external_reference}")
        self.stdout.write(f"  case {report.reference} (status {report.status})")
        self.stdout.write(f"  {len(report.petitioners)} petitioners")
        self.stdout.write(f"  {len(report.documents)} documents (as PDF attachments)")
        self.stdout.write(f"  {len(report.attachments)} attachments")
        for note in report.notes:
            self.stdout.write(self.style.WARNING(f"  {note}"))
        if report.committed:
            self.stdout.write(self.style.SUCCESS(f"Saved as {report.reference}."))
        else:
            self.stdout.write(self.style.WARNING("DRY RUN, rolled back: would be created as above. Add --commit."))
