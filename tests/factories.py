"""Factories for areas and cases: small, valid geometries near the real anchors."""

from __future__ import annotations

import factory
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import transaction
from django.utils import timezone

from geo_disputes.models import Case, Grid, MiningArea, Parcel, Party, Township, Village
from geo_disputes.models.cases import Category, Channel, Tier
from geo_disputes.services.references import next_reference


def box(minx: float, miny: float, maxx: float, maxy: float) -> MultiPolygon:
    """An axis-aligned WGS84 box as a MultiPolygon."""
    return MultiPolygon(Polygon.from_bbox((minx, miny, maxx, maxy)), srid=4326)


class TownshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Township

    code = factory.Sequence(lambda n: f"150622{900 + n:03d}")
    name = factory.Sequence(lambda n: f"测试镇{n}")
    geom = factory.LazyFunction(lambda: box(111.0, 39.5, 111.4, 39.9))


class VillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Village

    code = factory.Sequence(lambda n: f"150622900{200 + n:03d}")
    name = factory.Sequence(lambda n: f"测试村{n}")
    township_code = factory.LazyAttribute(lambda o: o.code[:9])
    geom = factory.LazyFunction(lambda: box(111.0, 39.5, 111.2, 39.7))


class GridFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grid

    code = factory.Sequence(lambda n: f"150622900200-{n:03d}")
    name = factory.Sequence(lambda n: f"第{n}网格")
    village_code = factory.LazyAttribute(lambda o: o.code.split("-")[0])
    households = 12
    worker_name = "张某某"
    worker_phone = "13800000000"
    geom = factory.LazyFunction(lambda: box(111.0, 39.5, 111.1, 39.6))


class MiningAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MiningArea

    code = factory.Sequence(lambda n: f"MA-T{n:03d}")
    name = factory.Sequence(lambda n: f"测试煤矿{n}")
    operator = "测试能源有限公司"
    licence_no = factory.Sequence(lambda n: f"C1500002009{n:06d}")
    influence_buffer_m = 1000
    geom = factory.LazyFunction(lambda: box(111.25, 39.72, 111.27, 39.74))


class ParcelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Parcel

    code = factory.Sequence(lambda n: f"150622900200JD{n:05d}")
    name = factory.Sequence(lambda n: f"地块{n}")
    land_use = Parcel.LandUse.GRASSLAND
    holder_name = "王建国"
    contract_no = factory.Sequence(lambda n: f"HT-{n:06d}")
    geom = factory.LazyFunction(lambda: box(111.05, 39.55, 111.06, 39.56))


class CaseFactory(factory.django.DjangoModelFactory):
    """A village-level case just reported at a talk room; its reference comes from `next_reference`."""

    class Meta:
        model = Case

    category = Category.LAND_OCCUPATION
    channel = Channel.TALK_ROOM
    description = "草场被邻户围占约8亩"
    location = factory.LazyFunction(lambda: Point(111.05, 39.55, srid=4326))
    submitted_lon = 111.05
    submitted_lat = 39.55
    tier = Tier.VILLAGE
    received_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with transaction.atomic():
            if not kwargs.get("reference"):
                year = timezone.localtime(kwargs["received_at"]).year
                kwargs["reference"] = next_reference(year)
            return super()._create(model_class, *args, **kwargs)


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party

    case = factory.SubFactory(CaseFactory)
    name = "王建国"
    phone = "13900000000"
    id_number = "150622197001010011"
