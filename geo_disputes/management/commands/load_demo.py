"""`manage.py load_demo [--reset]`: load the Zhungeer demo once; a second run only checks.

Each step is a function `step(reset: bool) -> dict[str, int]` returning rows loaded
(all zero when its data is already there). Later steps (demo users, cases) go after
the areas in STEPS, because they refer to areas and units.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from fixtures.demo_loader import DemoDataError, load_demo_areas

STEPS = [("areas", load_demo_areas)]


class Command(BaseCommand):
    help = "Load the Zhungeer demo data (synthetic areas, units) into the database; idempotent."
    # Like `migrate`: data loading needs no URL/template checks, and skipping them keeps a no-op run fast.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="delete the demo's rows and load them again")

    def handle(self, *args, reset: bool = False, **options):
        for name, step in STEPS:
            started = time.perf_counter()
            try:
                counts = step(reset=reset)
            except DemoDataError as exc:
                raise CommandError(f"demo {name}: {exc}") from exc
            elapsed = time.perf_counter() - started
            if any(counts.values()):
                loaded = ", ".join(f"{layer} {n}" for layer, n in counts.items())
                self.stdout.write(self.style.SUCCESS(f"demo {name}: loaded {loaded} in {elapsed:.1f} s"))
            else:
                self.stdout.write(f"demo {name}: already loaded, nothing to do ({elapsed:.2f} s); --reset reloads")
