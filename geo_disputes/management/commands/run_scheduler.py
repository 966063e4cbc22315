"""`manage.py run_scheduler [--once] [--now ISO]`: the daily jobs (`tick`, housekeeping) at 01:00 Asia/Shanghai.

Thin: the schedule, the once-across-servers rule and the retries are in services/ops/scheduler.py.
SIGTERM or SIGINT stops it after the run in progress (a second one ends it at once).
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import threading

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from geo_disputes.services.cases.clock import STATUTE_TZ
from geo_disputes.services.ops import scheduler


class Command(BaseCommand):
    help = (
        "Run the periodic jobs (the daily supervision `tick`, housekeeping) at start-up if the day's run is "
        "missing, then daily at 01:00 Asia/Shanghai; one run per day across all servers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run what is due now, then exit (1 if a run failed)")
        parser.add_argument("--now", help="with --once: act as if it were this ISO date-time (replays and tests)")

    def handle(self, *args, **options) -> None:
        clock = timezone.now
        if options["now"]:
            if not options["once"]:
                raise CommandError("--now needs --once")
            fixed = _parse_now(options["now"])
            clock = lambda: fixed  # noqa: E731
        _log_to(self.stdout if options["verbosity"] >= 1 else None)
        stop = threading.Event()
        _stop_on_signals(stop)
        if not scheduler.serve(stop, once=options["once"], clock=clock):
            sys.exit(1)


def _parse_now(value: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--now must be an ISO date-time; got {value!r}") from exc
    return when if when.tzinfo else when.replace(tzinfo=STATUTE_TZ)


def _log_to(stream) -> None:
    """One timestamped line per event on the command's output (log/scheduler.log under `make run`)."""
    log = logging.getLogger("geo_disputes.scheduler")
    log.setLevel(logging.INFO if stream is not None else logging.WARNING)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s scheduler[%(process)d] %(message)s"))
    log.addHandler(handler)
    log.propagate = False


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame) -> None:
        stop.set()
        for sig in (signal.SIGTERM, signal.SIGINT):  # a second signal ends the process at once
            signal.signal(sig, signal.SIG_DFL)

    signal.signal(signal.SIGTERM, handler)
    # Started in the background by a shell (bin/with-scheduler), SIGINT is ignored: Ctrl-C reaches the
    # whole process group, and the script's own SIGTERM follows; keep it ignored so that is the only one.
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, handler)
