"""A small piece of 魏家峁镇 with a coal mine, for the map tests (browser and API alike).

Two villages side by side, one grid with its worker, the 哈尔乌素 pit with a 1 km influence
zone, and three parcels: one inside the pit, one only in the zone, one far off in 双敖包村
(the field lookup's target). Boxes in WGS84; the GCJ-02 shift here is ~570 m, more than a
parcel is wide, so a phone coordinate taken as WGS84 misses the parcel.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.utils import timezone

from geo_disputes.models import Banner, Case, Grid, MiningArea, Parcel, Village
from geo_disputes.models.cases import Category, MiningRelation, Tier
from tests.factories import (
    CaseFactory,
    GridFactory,
    MiningAreaFactory,
    ParcelFactory,
    TownshipFactory,
    VillageFactory,
    box,
)

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


# Cases for the planner and court maps: a clump of 36 around TARGET in 双敖包村 (a DBSCAN cluster
# and a Gi* hot spot), 12 mining-court cases in the pit, and 144 on a jittered 12 x 12 grid over
# the banner (~3.7 km apart: with mostly even spacing the hot-spot cell size comes out at ~7 km,
# enough hexagons for Gi*); one open case is linked to the far parcel. Statuses cycle so every
# map has open and closed ones.
CLUMP, PIT, GRID_SIDE = 36, 12, 12
STATUSES = ("reported", "in_handling", "accepted", "closed", "resolved", "on_agenda")


@dataclass
class SceneCases:
    clump: list[Case]
    pit: list[Case]
    spread: list[Case]
    on_parcel: Case  # open, linked to scene.parcel

    @property
    def all(self) -> list[Case]:
        return [*self.clump, *self.pit, *self.spread]


def build_cases(scene: Scene) -> SceneCases:
    when = timezone.make_aware(dt.datetime(2026, 3, 1, 9, 0))
    rng = random.Random(150622)

    def case(i: int, lon: float, lat: float, **fields) -> Case:
        village = scene.village if lon < 111.25 else scene.neighbour
        values = {
            "category": Category.LAND_OCCUPATION,
            "status": STATUSES[i % len(STATUSES)],
            "tier": Tier.VILLAGE,
            "township_code": "150622106",
            "village_code": village.code,
            "grid_code": scene.grid.code if village == scene.village else "",
            "location": Point(lon, lat, srid=4326),
            "submitted_lon": lon,
            "submitted_lat": lat,
            "received_at": when + dt.timedelta(days=i),
            "description": f"测试事项 {i}",
            **fields,
        }
        return CaseFactory(**values)

    clump = [
        case(i, TARGET[0] + rng.uniform(-0.002, 0.002), TARGET[1] + rng.uniform(-0.0015, 0.0015)) for i in range(CLUMP)
    ]
    pit = [
        case(
            CLUMP + i,
            rng.uniform(111.262, 111.278),
            rng.uniform(39.722, 39.738),
            category=Category.MINING_SUBSIDENCE,
            tier=Tier.MINING_COURT,
            mining_area_code=scene.mine.code,
            mining_relation=MiningRelation.INSIDE,
        )
        for i in range(PIT)
    ]
    step_lon, step_lat = 0.5 / GRID_SIDE, 0.4 / GRID_SIDE
    spread = [
        case(
            CLUMP + PIT + i,
            111.0 + step_lon * (i % GRID_SIDE + 0.5 + rng.uniform(-0.15, 0.15)),
            39.5 + step_lat * (i // GRID_SIDE + 0.5 + rng.uniform(-0.15, 0.15)),
            category=Category.NEIGHBOUR,
        )
        for i in range(GRID_SIDE * GRID_SIDE)
    ]
    on_parcel = clump[0]
    on_parcel.status = "reported"
    on_parcel.location = Point(TARGET[0], TARGET[1], srid=4326)
    on_parcel.save()
    on_parcel.parcels.add(scene.parcel)
    return SceneCases(clump, pit, spread, on_parcel)
