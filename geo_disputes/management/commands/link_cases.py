"""manage.py link_cases [--reference REF ...] — (re)link cases to their spatial context in one SQL pass."""

import time

from django.core.management.base import BaseCommand, CommandError

from geo_disputes.models import Case
from geo_disputes.services.areas.linking import link_cases


class Command(BaseCommand):
    help = "Re-link every case (or the given ones) to township, village, grid, mining area and parcels."

    def add_arguments(self, parser):
        parser.add_argument("--reference", nargs="*", default=None, help="only these case references")

    def handle(self, *args, reference=None, **options):
        ids = None
        if reference:
            found = dict(Case.objects.filter(reference__in=reference).values_list("reference", "id"))
            missing = sorted(set(reference) - set(found))
            if missing:
                raise CommandError(f"unknown case reference(s): {', '.join(missing)}")
            ids = list(found.values())
        started = time.perf_counter()
        linked = link_cases(ids)
        examined = len(ids) if ids is not None else Case.objects.count()
        self.stdout.write(
            f"linked {examined} case(s) in {time.perf_counter() - started:.2f} s; "
            f"{linked} changed (township, village, grid, mining area or point parcels)"
        )
