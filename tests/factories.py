"""Factories for areas and cases: small, valid geometries near the real anchors."""

from __future__ import annotations

import factory
from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from geo_disputes.models import Banner, Case, Grid, MiningArea, Parcel, Party, Township, Village
from geo_disputes.models.cases import Category, Channel, Tier
from geo_disputes.services.cases.references import next_reference


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
                kwargs["reference"] = next_reference(year, kwargs.get("banner_code", ""))
            return super()._create(model_class, *args, **kwargs)


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party

    case = factory.SubFactory(CaseFactory)
    name = "王建国"
    phone = "13900000000"
    id_number = "150622197001010011"


class UnitFactory(factory.django.DjangoModelFactory):
    """A responsible body; reusing a code returns the existing unit."""

    class Meta:
        model = "geo_disputes.Unit"
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"BD-test{n}")
    name = factory.LazyAttribute(lambda o: f"单位{o.code}")
    kind = "banner_department"
    area_code = ""


class UserFactory(factory.django.DjangoModelFactory):
    """A user without a usable password (tests log in with force_login; hashing is slow)."""

    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    password = factory.LazyFunction(lambda: make_password(None))


class StaffFactory(factory.django.DjangoModelFactory):
    """A staff user with a role and scope (StaffFactory(role="village_officer", scope_code="150622106202"))."""

    class Meta:
        model = "geo_disputes.StaffProfile"

    user = factory.SubFactory(UserFactory)
    role = "banner_admin"
    scope_code = ""
    unit = None


SEED_PLACES = {
    # township code, name, village code, village name, box — apart from each other, inside the banner.
    "youyi": ("150622004", "友谊街道", "150622004201", "苏计沟村", (111.20, 39.80, 111.30, 39.90)),
    "shagedu": ("150622101", "沙圪堵镇", "150622101206", "不拉村", (110.80, 39.60, 110.85, 39.70)),
    "weijiamao": ("150622106", "魏家峁镇", "150622106202", "双敖包村", (111.00, 39.50, 111.10, 39.60)),
}
DEPARTMENT_CODES = ("natural_resources", "forestry_grassland", "energy", "justice", "housing", "water")


def seed_places() -> None:
    """The seed's three townships and villages (plus 沙圪堵镇's neighbouring 150622101201), each
    village's grid -001, and the units routing needs: committees, banner leadership, mining
    court and six banner departments."""
    for township_code, township_name, village_code, village_name, bbox in SEED_PLACES.values():
        minx, miny, maxx, maxy = bbox
        TownshipFactory(code=township_code, name=township_name, geom=box(minx, miny, maxx + 0.05, maxy))
        VillageFactory(code=village_code, name=village_name, geom=box(*bbox))
        GridFactory(code=f"{village_code}-001", geom=box(minx, miny, minx + 0.01, miny + 0.01))
        UnitFactory(
            code=f"TC-{township_code}",
            name=f"{township_name}党(工)委",
            kind="township_committee",
            area_code=township_code,
        )
        UnitFactory(
            code=f"VC-{village_code}", name=f"{village_name}村委会", kind="village_committee", area_code=village_code
        )
    VillageFactory(code="150622101201", name="沙圪堵村", geom=box(110.85, 39.60, 110.90, 39.70))
    UnitFactory(code="VC-150622101201", name="沙圪堵村村委会", kind="village_committee", area_code="150622101201")
    UnitFactory(code="BL-150622", name="旗领导包案", kind="banner_leadership", area_code="150622")
    UnitFactory(code="MC-150622", name="准格尔旗矿区法庭", kind="mining_court", area_code="150622")
    for department in DEPARTMENT_CODES:
        UnitFactory(code=f"BD-{department}", name=f"旗{department}局", kind="banner_department")


SHUANGAOBAO = (111.05, 39.55)  # 魏家峁镇 双敖包村 (seed_places)
PETITIONER = {"name": "王建国", "phone": "13912345678", "id_number": "150622197001010011"}


def intake_body(**overrides) -> dict:
    """A valid POST /api/cases/ body: the seed's grassland claim at 双敖包村; `overrides` replace fields."""
    body = {
        "category": "land_occupation",
        "channel": "talk_room",
        "kind": "claim",
        "description": "8亩多草地被占用",
        "lon": SHUANGAOBAO[0],
        "lat": SHUANGAOBAO[1],
        "datum": "wgs84",
        "households_affected": 1,
        "departments": [],
        "legacy": False,
        "petitioners": [dict(PETITIONER)],
    }
    return {**body, **overrides}


def two_township_banner() -> None:
    """The banner 111.0–111.4 × 39.5–39.9: 西镇 and 东镇 split at the meridian 111.2; 南村 (south) and
    北村 (north) in the west one, 东村 in the east."""
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(111.0, 39.5, 111.4, 39.9))
    TownshipFactory(code="150622101", name="西镇", geom=box(111.0, 39.5, 111.2, 39.9))
    TownshipFactory(code="150622102", name="东镇", geom=box(111.2, 39.5, 111.4, 39.9))
    VillageFactory(code="150622101201", name="南村", township_code="150622101", geom=box(111.0, 39.5, 111.2, 39.7))
    VillageFactory(code="150622101202", name="北村", township_code="150622101", geom=box(111.0, 39.7, 111.2, 39.9))
    VillageFactory(code="150622102201", name="东村", township_code="150622102", geom=box(111.2, 39.5, 111.4, 39.9))


def as_role(role: str, scope: str = "") -> APIClient:
    """An API client authenticated as a new staff member with `role` and `scope`."""
    client = APIClient()
    client.force_authenticate(StaffFactory(role=role, scope_code=scope).user)
    return client


def stored_context(case: Case) -> tuple:
    """What bulk linking stored for `case`: township, village, grid, mining area + relation, point/named parcels."""
    case.refresh_from_db()
    return (
        case.township_code,
        case.village_code,
        case.grid_code,
        case.mining_area_code,
        case.mining_relation,
        sorted(case.parcels.values_list("code", flat=True)),
    )


def located_context(loc) -> tuple:
    """The same fields as `stored_context`, from a services.areas.locate.Location."""
    mining = loc.mining_area
    return (
        loc.township.code if loc.township else "",
        loc.village.code if loc.village else "",
        loc.grid.code if loc.grid else "",
        mining.area.code if mining else "",
        mining.relation if mining else "",
        sorted(p.code for p in loc.parcels),
    )


COARSE_GRID_M = 500  # what planners and field staff get: points on a 500 m grid in EPSG:4546


def on_coarse_grid(lon: float, lat: float) -> bool:
    """Whether (lon, lat) is a node of the 500 m grid in EPSG:4546 (to within 0.5 m: 6 decimals): a coarse point."""
    metric = Point(lon, lat, srid=4326).transform(4546, clone=True)
    return all(abs(v / COARSE_GRID_M - round(v / COARSE_GRID_M)) * COARSE_GRID_M < 0.5 for v in (metric.x, metric.y))


def metres_apart(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance in metres between two WGS84 points (via EPSG:4546)."""
    pa = Point(*a, srid=4326).transform(4546, clone=True)
    return pa.distance(Point(*b, srid=4326).transform(4546, clone=True))


def routing_rule_form(rule, **changes) -> dict:
    """The admin's change form of `rule` as posted, with `changes` (empty values left out, as a browser sends)."""
    form = {
        "order": rule.order,
        "name": rule.name,
        "active": "on",
        "categories": list(rule.categories),
        "mining": rule.mining,
        "tier": rule.tier,
        "procedure": rule.procedure,
        "partner_departments": list(rule.partner_departments),
        "explanation": rule.explanation,
        **changes,
    }
    return {k: v for k, v in form.items() if v not in (None, "")}
