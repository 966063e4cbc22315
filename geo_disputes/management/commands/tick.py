"""`manage.py tick [--today YYYY-MM-DD]`: the daily supervision run (督办 against the holder of each overdue matter)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser

from geo_disputes.services.cases.clock import local_today
from geo_disputes.services.cases.supervision import run_tick


class Command(BaseCommand):
    help = (
        "Record supervision acts (urge, summon, notice, listed) against the units holding overdue matters. "
        "Never moves a case. Safe to rerun."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="judge deadlines as of this date (YYYY-MM-DD), for replays and tests")

    def handle(self, *args, **options) -> None:
        try:
            today = dt.date.fromisoformat(options["today"]) if options["today"] else local_today()
        except ValueError as exc:
            raise CommandError(f"--today must be a date YYYY-MM-DD; got {options['today']!r}") from exc
        report = run_tick(today)
        if options["verbosity"] >= 1:
            for line in report.supervised:
                self.stdout.write(f"supervised {line}")
        for line in report.skipped:
            self.stderr.write(f"skipped {line}")
        self.stdout.write(f"tick {today}: {len(report.supervised)} supervised, {len(report.skipped)} skipped")
