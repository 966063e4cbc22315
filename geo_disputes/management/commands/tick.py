"""`manage.py tick [--today YYYY-MM-DD]`: the daily supervision run (escalation and the joint-meeting agenda)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser

from geo_disputes.services.clock import local_today
from geo_disputes.services.supervision import run_tick


class Command(BaseCommand):
    help = "Escalate overdue cases one tier and list overdue banner cases for the next joint meeting. Safe to rerun."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="judge deadlines as of this date (YYYY-MM-DD), for replays and tests")

    def handle(self, *args, **options) -> None:
        try:
            today = dt.date.fromisoformat(options["today"]) if options["today"] else local_today()
        except ValueError as exc:
            raise CommandError(f"--today must be a date YYYY-MM-DD; got {options['today']!r}") from exc
        report = run_tick(today)
        for line in report.escalated:
            self.stdout.write(f"escalated {line}")
        for line in report.listed:
            self.stdout.write(f"listed {line}")
        for line in report.skipped:
            self.stderr.write(f"skipped {line}")
        self.stdout.write(
            f"tick {today}: {len(report.escalated)} escalated, {len(report.listed)} listed for the joint meeting, "
            f"{len(report.skipped)} skipped"
        )
