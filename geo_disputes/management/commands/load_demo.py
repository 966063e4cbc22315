"""`manage.py load_demo [--reset]`: load the Zhungeer demo once; a second run only checks.

Each step is a function `step(reset: bool) -> dict[str, int]` returning rows loaded
(all zero when its data is already there). Later steps (demo users, cases) go after
the areas in STEPS, because they refer to areas and units.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from fixtures.demo_cases import load_demo_cases
from fixtures.demo_loader import DemoDataError, load_demo_areas
from fixtures.demo_staff import DEMO_STAFF, load_demo_staff

STEPS = [("areas", load_demo_areas), ("staff", load_demo_staff), ("cases", load_demo_cases)]


class Command(BaseCommand):
    help = "Load the Zhungeer demo (synthetic areas, units, demo logins, cases) into the database; idempotent."
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
            password = counts.pop("password", "")
            if password:
                users = ", ".join(username for username, _, _ in DEMO_STAFF)
                self.stdout.write(self.style.WARNING(f"demo logins ({users}) — password, shown once: {password}"))
            if any(counts.values()):
                loaded = ", ".join(f"{layer} {n}" for layer, n in counts.items())
                self.stdout.write(self.style.SUCCESS(f"demo {name}: loaded {loaded} in {elapsed:.1f} s"))
            else:
                self.stdout.write(f"demo {name}: already loaded, nothing to do ({elapsed:.2f} s); --reset reloads")
