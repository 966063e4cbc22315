"""manage.py export_areas: write a layer as it stood on a date to GeoJSON or GeoPackage."""

from __future__ import annotations

import argparse
import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from geo_disputes.services.analysis.exports import AreaExportError, export_layer
from geo_disputes.services.areas.layers import LAYERS


class Command(BaseCommand):
    help = "Export the boundaries of a layer in force on a date (today by default) to .geojson or .gpkg (WGS84)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("layer", help=f"one of: {', '.join(LAYERS)}")
        parser.add_argument("out", help="output file, .geojson or .gpkg")
        parser.add_argument("--on", type=_date, help="boundaries in force on this date (YYYY-MM-DD)")
        parser.add_argument("--force", action="store_true", help="overwrite an existing file")
        parser.add_argument(
            "--include-personal-data",
            action="store_true",
            help="include parcel holders and grid workers' names and phones (the export is audited)",
        )

    @no_translations
    def handle(self, *args, **options) -> None:
        try:
            report = export_layer(
                options["layer"],
                options["out"],
                on=options["on"],
                force=options["force"],
                personal_data=options["include_personal_data"],
            )
        except AreaExportError as exc:
            raise CommandError(str(exc)) from exc
        personal = " including personal data" if report.personal_data else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {report.features} {report.layer} in force on {report.on}{personal}"
                f" to {report.path} ({report.format}, EPSG:4326)."
            )
        )


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None
