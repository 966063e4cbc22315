"""The banner's areas: township, village, grid, mining area, parcel.

Every area is a MultiPolygon in WGS84 (SRID 4326) with a GiST index, an official code
where one exists, and validity dates: a boundary is in force from `valid_from` up to
and including `valid_to` (open-ended when null), so a case is judged by the boundaries
in force on its date. Metric quantities (mu, buffers) are computed in EPSG:4546.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

METRIC_SRID = 4546  # CGCS2000 / 3-degree Gauss-Kruger CM 111E
SQUARE_METRES_PER_MU = 10000 / 15  # 1 mu = 666.67 m²


class AreaQuerySet(models.QuerySet):
    def in_force(self, on: dt.date | None = None) -> AreaQuerySet:
        """Areas whose boundary is in force on `on` (today when not given)."""
        on = on or dt.date.today()
        return self.filter(Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on)))


class Area(models.Model):
    """Common fields of every boundary layer."""

    code = models.CharField(_("代码"), max_length=40, db_index=True)
    name = models.CharField(_("名称"), max_length=100)
    geom = models.MultiPolygonField(_("边界"), srid=4326)
    valid_from = models.DateField(_("生效日期"), default=dt.date(2023, 1, 1))
    valid_to = models.DateField(_("失效日期"), null=True, blank=True)

    objects = AreaQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


def _versioned(model_name: str) -> list[models.BaseConstraint]:
    """One version of a code per start date, and at most one open-ended version."""
    return [
        models.UniqueConstraint(fields=["code", "valid_from"], name=f"{model_name}_code_from_uniq"),
        models.UniqueConstraint(
            fields=["code"], condition=Q(valid_to__isnull=True), name=f"{model_name}_code_open_uniq"
        ),
        models.CheckConstraint(
            condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")), name=f"{model_name}_dates_ok"
        ),
    ]


class Banner(Area):
    """A county-level unit (旗/区) this deployment serves; the outlines bound every input point.

    One deployment may serve several banners of a city (issue 16): a case belongs to the banner whose
    outline covers it, and its reference is numbered in that banner's series under `reference_prefix`.
    """

    reference_prefix = models.CharField(
        _("编号前缀"), max_length=8, blank=True, default="", db_default="", help_text=_("如 ZGE;空则用旗代码")
    )

    class Meta(Area.Meta):
        verbose_name = verbose_name_plural = _("旗")
        constraints = _versioned("banner")


class Township(Area):
    """Town-level unit: 苏木乡镇/街道 (subdistrict, town, township, sumu, development zone)."""

    class Kind(models.TextChoices):
        SUBDISTRICT = "subdistrict", gettext_noop("街道")
        TOWN = "town", gettext_noop("镇")
        TOWNSHIP = "township", gettext_noop("乡")
        SUMU = "sumu", gettext_noop("苏木")
        DEVELOPMENT_ZONE = "development zone", gettext_noop("开发区")

    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices, default=Kind.TOWN)

    class Meta(Area.Meta):
        verbose_name = verbose_name_plural = _("苏木乡镇")
        constraints = _versioned("township")


class Village(Area):
    """Village-level unit: 嘎查村/社区, nested in its township."""

    class Kind(models.TextChoices):
        VILLAGE = "village", gettext_noop("村")
        COMMUNITY = "community", gettext_noop("社区")

    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices, default=Kind.VILLAGE)
    township_code = models.CharField(_("所属乡镇代码"), max_length=40, db_index=True)

    class Meta(Area.Meta):
        verbose_name = verbose_name_plural = _("嘎查村")
        constraints = _versioned("village")


class Grid(Area):
    """Grid (网格) of 10–15 households; its worker is also the petition agent (信访代办员).

    Parents are referred to by code, not foreign key, because boundaries are versioned:
    a grid belongs to "village 150622106202", whichever version of it is in force.
    """

    village_code = models.CharField(_("所属村代码"), max_length=40, db_index=True)
    households = models.PositiveIntegerField(_("户数"), default=0)
    population = models.PositiveIntegerField(_("人口"), default=0)
    worker_name = models.CharField(_("网格员(代办员)"), max_length=50, blank=True)
    worker_phone = models.CharField(_("网格员电话"), max_length=20, blank=True)
    worker_user = models.ForeignKey(
        "auth.User",
        verbose_name=_("网格员账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="grids",
    )

    class Meta(Area.Meta):
        verbose_name = verbose_name_plural = _("网格")
        constraints = _versioned("grid")


class MiningArea(Area):
    """A licensed coal-mining area (矿区) and its influence zone.

    The influence zone is a database-generated column (buffer of `influence_buffer_m`
    metres in EPSG:4546), so it can never drift from the boundary or the buffer setting.
    """

    class Kind(models.TextChoices):
        OPEN_PIT = "open_pit", gettext_noop("露天煤矿")
        UNDERGROUND = "underground", gettext_noop("井工煤矿")
        OTHER = "other", gettext_noop("其他")

    operator = models.CharField(_("经营主体"), max_length=200, blank=True)
    licence_no = models.CharField(_("采矿许可证号"), max_length=60, blank=True)
    kind = models.CharField(_("矿种/开采方式"), max_length=20, choices=Kind.choices, default=Kind.OPEN_PIT)
    influence_buffer_m = models.PositiveIntegerField(_("影响区缓冲(米)"), default=1000)
    influence_zone = models.GeneratedField(
        expression=models.Func(
            models.Func(
                models.Func(
                    models.Func(models.F("geom"), models.Value(METRIC_SRID), function="ST_Transform"),
                    models.F("influence_buffer_m"),
                    function="ST_Buffer",
                ),
                models.Value(4326),
                function="ST_Transform",
            ),
            function="ST_Multi",
            output_field=models.MultiPolygonField(srid=4326),
        ),
        output_field=models.MultiPolygonField(srid=4326),
        db_persist=True,
        verbose_name=_("影响区"),
    )

    class Meta(Area.Meta):
        verbose_name = verbose_name_plural = _("矿区")
        constraints = _versioned("miningarea")


class Parcel(Area):
    """Contracted land parcel (地块/宗地). The holder is personal data: shown masked by default."""

    class LandUse(models.TextChoices):
        GRASSLAND = "grassland", gettext_noop("草地")
        CULTIVATED = "cultivated", gettext_noop("耕地")
        HOMESTEAD = "homestead", gettext_noop("宅基地")
        FOREST = "forest", gettext_noop("林地")
        CONSTRUCTION = "construction", gettext_noop("建设用地")
        MINING = "mining", gettext_noop("采矿用地")
        OTHER = "other", gettext_noop("其他")

    land_use = models.CharField(_("地类"), max_length=20, choices=LandUse.choices, default=LandUse.OTHER)
    holder_name = models.CharField(_("承包户(户主)"), max_length=50, blank=True)
    contract_no = models.CharField(_("承包合同号"), max_length=60, blank=True)
    area_mu = models.GeneratedField(
        expression=models.Func(
            models.Func(
                models.Func(models.F("geom"), models.Value(METRIC_SRID), function="ST_Transform"),
                function="ST_Area",
            )
            / models.Value(SQUARE_METRES_PER_MU),
            template="ROUND((%(expressions)s)::numeric, 2)",
            output_field=models.DecimalField(max_digits=12, decimal_places=2),
        ),
        output_field=models.DecimalField(max_digits=12, decimal_places=2),
        db_persist=True,
        verbose_name=_("面积(亩)"),
    )

    class Meta(Area.Meta):
        verbose_name = verbose_name_plural = _("地块")
        constraints = _versioned("parcel")
