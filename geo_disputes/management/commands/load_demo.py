"""`manage.py load_demo [--reset]`: load the Zhungeer demo once; a second run only checks.

`manage.py load_demo --banner DIR [--reset]` loads another banner's demo beside it, from that banner's own outline
and code lists (fixtures/banner_demo.py; `fixtures/banners/150699` is a synthetic example), with city-wide logins.

Each step is a function `step(reset: bool) -> dict[str, int]` returning rows loaded
(all zero when its data is already there). Later steps (demo users, cases) go after
the areas in STEPS, because they refer to areas and units.
"""

from __future__ import annotations

import os
import secrets
import time

from django.core.management.base import BaseCommand, CommandError

from fixtures.banner_demo import BannerDemoError, load_banner
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
        parser.add_argument(
            "--banner",
            metavar="DIR",
            help="load another banner's demo from DIR (banner.json, outline.geojson, township_units.csv, "
            "village_units.csv), e.g. fixtures/banners/150699",
        )

    def handle(self, *args, reset: bool = False, banner: str | None = None, **options):
        if banner:
            self._load_banner(banner, reset)
            return
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

    def _load_banner(self, directory: str, reset: bool) -> None:
        wanted = os.environ.get("DEMO_PASSWORD", "")
        password = wanted or secrets.token_urlsafe(12)
        started = time.perf_counter()
        try:
            counts = load_banner(directory, password=password, reset=reset)
        except BannerDemoError as exc:
            raise CommandError(f"demo banner: {exc}") from exc
        elapsed = time.perf_counter() - started
        if not any(counts.values()):
            self.stdout.write(f"demo banner {directory}: already loaded, nothing to do; --reset reloads")
            return
        loaded = ", ".join(f"{name} {n}" for name, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"demo banner {directory}: loaded {loaded} in {elapsed:.1f} s"))
        if not wanted:
            self.stdout.write(self.style.WARNING(f"its demo logins' password, shown once: {password}"))
