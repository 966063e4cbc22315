"""manage.py import_areas: load real boundaries into a layer; a dry run unless --commit."""

from __future__ import annotations

import argparse
import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from geo_disputes.services.areas.imports import AreaImportError, ImportReport, import_layer
from geo_disputes.services.areas.layers import LAYERS


class Command(BaseCommand):
    help = (
        "Import boundaries from GeoJSON, ESRI Shapefile or GeoPackage into a layer, upserting by code, and "
        "re-link the cases the changed boundaries can affect. Nothing is saved without --commit. "
        "-v 2 lists every feature."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("layer", help=f"one of: {', '.join(LAYERS)}")
        parser.add_argument("file", help=".geojson, .shp or .gpkg")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=SOURCE",
            help="model field = source field, e.g. --map code=DKBM --map name=DKMC (default: same names)",
        )
        parser.add_argument("--srid", type=int, help="source SRID, overriding the file's .prj / CRS")
        parser.add_argument(
            "--datum", choices=["wgs84", "cgcs2000", "gcj02"], help="datum of lon/lat data (gcj02 is converted)"
        )
        parser.add_argument("--encoding", help="Shapefile text encoding when there is no .cpg, e.g. gbk")
        parser.add_argument("--source-layer", help="layer to read from a multi-layer GeoPackage")
        parser.add_argument("--repair", action="store_true", help="repair invalid polygons with MakeValid")
        parser.add_argument(
            "--valid-from",
            type=_date,
            help="start date (YYYY-MM-DD) of these boundaries: open versions are closed the day before",
        )
        parser.add_argument("--commit", action="store_true", help="write to the database (default: dry run)")

    @no_translations
    def handle(self, *args, **options) -> None:
        if not options["commit"]:
            self.stdout.write(self.style.WARNING("DRY RUN: nothing will be saved; add --commit to write."))
        try:
            report = import_layer(
                options["layer"],
                options["file"],
                mapping=_mapping(options["map"]),
                source_layer=options["source_layer"],
                source_srid=options["srid"],
                datum=options["datum"],
                encoding=options["encoding"],
                repair=options["repair"],
                commit=options["commit"],
                valid_from=options["valid_from"],
                progress=self._progress,
            )
        except AreaImportError as exc:
            raise CommandError(f"import of {options['file']} failed, nothing saved:\n{exc}") from exc
        self._report(report, options["verbosity"])

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"  read {done}/{total} features")

    def _report(self, report: ImportReport, verbosity: int) -> None:
        self.stdout.write(
            f"{report.layer} from {report.path} (layer {report.source_layer}; {report.source_crs};"
            f" datum {report.datum}; text {report.encoding})"
        )
        if verbosity >= 2:
            for f in report.features:
                self.stdout.write(f"  row {f.row} {f.code} {f.name}: {f.action}")
        for line in report.derived:
            self.stdout.write(self.style.WARNING(f"  {line}"))
        for problem in report.repaired:
            self.stdout.write(self.style.WARNING(f"  {problem}"))
        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(f"  warning: {warning}"))
        counts = (
            f"{len(report.features)} features: {report.count('insert')} inserted, {report.count('update')} updated,"
            f" {report.count('new version')} new versions, {len(report.repaired)} repaired"
        )
        relink = report.relink
        if report.committed:
            self.stdout.write(self.style.SUCCESS(f"Saved. {counts}."))
            if relink is not None:
                self.stdout.write(f"Re-linked cases: {relink}.")
        else:
            self.stdout.write(self.style.WARNING(f"DRY RUN, rolled back: {counts} (would be). Add --commit to save."))
            if relink is not None:
                self.stdout.write(f"Cases that would be re-linked: {relink} (would be).")


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise CommandError(f"--map {pair!r}: expected FIELD=SOURCE, e.g. --map code=DKBM")
        if target.strip() in mapping:
            raise CommandError(f"--map: {target.strip()} mapped twice")
        mapping[target.strip()] = source.strip()
    return mapping


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None
