"""A small piece of 魏家峁镇 with a coal mine, for the map tests (browser and API alike).

Two villages side by side, one grid with its worker, the 哈尔乌素 pit with a 1 km influence
zone, and three parcels: one inside the pit, one only in the zone, one far off in 双敖包村
(the field lookup's target). Boxes in WGS84; the GCJ-02 shift here is ~570 m, more than a
parcel is wide, so a phone coordinate taken as WGS84 misses the parcel.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo_disputes.models import Banner, Grid, MiningArea, Parcel, Village
from tests.factories import GridFactory, MiningAreaFactory, ParcelFactory, TownshipFactory, VillageFactory, box

# A point inside the far parcel (WGS84).
TARGET = (111.1025, 39.6025)


@dataclass
class Scene:
    village: Village
    neighbour: Village
    grid: Grid
    mine: MiningArea
    parcel: Parcel  # far from the mine, holds TARGET
    pit_parcel: Parcel  # inside the mining area
    zone_parcel: Parcel  # outside the area, inside its influence zone


def build_scene() -> Scene:
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(111.0, 39.5, 111.5, 39.9))
    TownshipFactory(code="150622106", name="魏家峁镇", geom=box(111.0, 39.5, 111.5, 39.9))
    village = VillageFactory(
        code="150622106202", name="双敖包村", township_code="150622106", geom=box(111.0, 39.5, 111.25, 39.9)
    )
    neighbour = VillageFactory(
        code="150622106203", name="哈尔乌素村", township_code="150622106", geom=box(111.25, 39.5, 111.5, 39.9)
    )
    grid = GridFactory(
        code="150622106202-001",
        name="双敖包一网格",
        village_code="150622106202",
        worker_name="李某某",
        worker_phone="13800000001",
        geom=box(111.0, 39.5, 111.25, 39.9),
    )
    mine = MiningAreaFactory(
        code="KQ-01",
        name="哈尔乌素露天煤矿",
        operator="准能集团",
        licence_no="C1500002009061110022222",
        geom=box(111.26, 39.72, 111.28, 39.74),
    )
    parcel = ParcelFactory(
        code="150622106202JD00001",
        name="东梁草场",
        land_use=Parcel.LandUse.GRASSLAND,
        holder_name="王建国",
        geom=box(111.100, 39.600, 111.105, 39.605),
    )
    pit_parcel = ParcelFactory(
        code="150622106203JD00001",
        name="矿坑耕地",
        land_use=Parcel.LandUse.CULTIVATED,
        geom=box(111.265, 39.725, 111.270, 39.730),
    )
    zone_parcel = ParcelFactory(
        code="150622106203JD00002",
        name="沉陷区宅基地",
        land_use=Parcel.LandUse.HOMESTEAD,
        geom=box(111.282, 39.725, 111.285, 39.728),
    )
    return Scene(village, neighbour, grid, mine, parcel, pit_parcel, zone_parcel)
