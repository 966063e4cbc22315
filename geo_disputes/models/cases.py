"""Cases (信访事项/矛盾纠纷), their petitioners, groups and append-only history.

Statutory due dates are not stored: the clock module derives them from the facts kept
here (received, accepted, replied, extension), so they can never be hand-set.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from .bounds import REASON_MAX, TEXT_MAX, max_text, validate_plausible_date


class Category(models.TextChoices):
    LAND_OCCUPATION = "land_occupation", gettext_noop("草场/土地侵占")
    LAND_CONTRACT = "land_contract", gettext_noop("土地承包与换地")
    MINING_SUBSIDENCE = "mining_subsidence", gettext_noop("采煤沉陷与房屋受损")
    MINING_COMPENSATION = "mining_compensation", gettext_noop("矿区征地与补偿")
    UTILITIES = "utilities", gettext_noop("用水用电")
    NEIGHBOUR = "neighbour", gettext_noop("邻里纠纷")
    LABOUR = "labour", gettext_noop("劳动与工资")
    ENVIRONMENT = "environment", gettext_noop("环境(扬尘、异味、噪声)")
    FAMILY = "family", gettext_noop("婚姻家庭")
    OTHER = "other", gettext_noop("其他")


class Channel(models.TextChoices):
    TALK_ROOM = "talk_room", gettext_noop("说事室")
    GRID_AGENT = "grid_agent", gettext_noop("网格代办")
    VISIT = "visit", gettext_noop("来访")
    LETTER = "letter", gettext_noop("来信")
    PHONE = "phone", gettext_noop("电话")
    ONLINE = "online", gettext_noop("网上信访")
    DEPUTY_STATION = "deputy_station", gettext_noop("人大代表联络站")


class PetitionKind(models.TextChoices):
    SUGGESTION = "suggestion", gettext_noop("建议意见")
    ACCUSATION = "accusation", gettext_noop("检举控告")
    CLAIM = "claim", gettext_noop("申诉求决")


class Procedure(models.TextChoices):
    """The track a matter goes down (DOMAIN.md "Three procedures"): each has its own clock, or none."""

    MEDIATION = "mediation", gettext_noop("人民调解")
    PETITION = "petition", gettext_noop("信访")
    LITIGATION = "litigation", gettext_noop("诉讼")
    ARBITRATION = "arbitration", gettext_noop("仲裁")
    ADMINISTRATIVE = "administrative", gettext_noop("行政程序")
    DISCIPLINE = "discipline", gettext_noop("纪检监察")


class PetitionRoute(models.TextChoices):
    """Art. 31: items 1–5 lead a claim into a legal procedure; item 6 is answered by a handling opinion."""

    LITIGATION = "litigation", gettext_noop("诉讼/检察/公安(第31条第1项)")
    ARBITRATION = "arbitration", gettext_noop("仲裁(第31条第2项)")
    PARTY_APPEAL = "party_appeal", gettext_noop("党员申诉(第31条第3项)")
    ADMINISTRATIVE = "administrative", gettext_noop("行政复议/行政裁决(第31条第4项)")
    LEGAL_DUTY = "legal_duty", gettext_noop("机关法定职责(第31条第5项)")
    HANDLING_OPINION = "handling_opinion", gettext_noop("出具信访处理意见(第31条第6项)")


class OpinionOutcome(models.TextChoices):
    SUPPORT = "support", gettext_noop("予以支持")
    EXPLAIN = "explain", gettext_noop("解释说明")
    NOT_SUPPORT = "not_support", gettext_noop("不予支持")


class ReviewOutcome(models.TextChoices):
    UPHOLD = "uphold", gettext_noop("维持")
    CHANGE = "change", gettext_noop("变更")
    REVOKE = "revoke", gettext_noop("撤销")


class ServiceMethod(models.TextChoices):
    IN_PERSON = "in_person", gettext_noop("直接送达")
    POST = "post", gettext_noop("邮寄送达")
    ELECTRONIC = "electronic", gettext_noop("电子送达")
    NOTICE = "notice", gettext_noop("公告送达")


class MediationOutcome(models.TextChoices):
    AGREEMENT = "agreement", gettext_noop("达成调解协议")
    FAILED = "failed", gettext_noop("调解不成")


class LegalOutcome(models.TextChoices):
    """How a court, arbitration, administrative or discipline procedure ended."""

    MEDIATED = "mediated", gettext_noop("调解结案")
    JUDGED = "judged", gettext_noop("判决/裁决")
    WITHDRAWN = "withdrawn", gettext_noop("撤回")
    DECIDED = "decided", gettext_noop("作出决定")


class AboveBanner(models.TextChoices):
    """A matter that went above the banner (矛盾上交): to the city, the region, Beijing, or came down assigned."""

    NONE = "", gettext_noop("无")
    CITY = "city", gettext_noop("赴市")
    REGION = "region", gettext_noop("赴自治区")
    BEIJING = "beijing", gettext_noop("进京")
    ASSIGNED_FROM_ABOVE = "assigned_from_above", gettext_noop("上级交办")


class Datum(models.TextChoices):
    WGS84 = "wgs84", "WGS84"
    CGCS2000 = "cgcs2000", "CGCS2000"
    GCJ02 = "gcj02", gettext_noop("GCJ-02(手机/高德)")


class Tier(models.TextChoices):
    VILLAGE = "village", gettext_noop("村级")
    TOWNSHIP = "township", gettext_noop("乡镇级")
    BANNER = "banner", gettext_noop("旗级")
    MINING_COURT = "mining_court", gettext_noop("矿区法庭")


class Status(models.TextChoices):
    REPORTED = "reported", gettext_noop("已登记(说事)")
    ACCEPTED = "accepted", gettext_noop("已受理")
    NOT_ACCEPTED = "not_accepted", gettext_noop("不予受理")
    TRANSFERRED = "transferred", gettext_noop("已转送")
    IN_HANDLING = "in_handling", gettext_noop("办理中(理事/办事)")
    ON_AGENDA = "on_agenda", gettext_noop("联席会议议事")
    RESOLVED = "resolved", gettext_noop("已化解")
    EVALUATED = "evaluated", gettext_noop("已评事")
    CLOSED = "closed", gettext_noop("已办结")
    REVIEW_REQUESTED = "review_requested", gettext_noop("申请复查/复核")
    SERVED = "served", gettext_noop("答复已送达")
    LED_INTO = "led_into", gettext_noop("已导入法定程序")
    FILED = "filed", gettext_noop("已立案(法院/仲裁/机关)")
    MEDIATION_FAILED = "mediation_failed", gettext_noop("调解不成")
    REPEAT = "repeat", gettext_noop("重复信访(并入原事项)")


class ResolutionMethod(models.TextChoices):
    MEDIATION = "mediation", gettext_noop("调解协议")
    JUDICIAL_CONFIRMATION = "judicial_confirmation", gettext_noop("司法确认")
    ARBITRATION = "arbitration", gettext_noop("仲裁")
    EXPLANATION = "explanation", gettext_noop("法律政策解释")
    ADMINISTRATIVE_DECISION = "administrative_decision", gettext_noop("行政决定")
    LITIGATION = "litigation", gettext_noop("诉讼")
    HANDLING_OPINION = "handling_opinion", gettext_noop("信访处理意见")
    WITHDRAWN = "withdrawn", gettext_noop("撤回")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", gettext_noop("满意")
    BASICALLY_SATISFIED = "basically_satisfied", gettext_noop("基本满意")
    DISSATISFIED = "dissatisfied", gettext_noop("不满意")


class MiningRelation(models.TextChoices):
    NONE = "", gettext_noop("无")
    INSIDE = "inside", gettext_noop("矿区内")
    INFLUENCE_ZONE = "influence_zone", gettext_noop("矿区影响区")


class CaseGroup(models.Model):
    """One event raised by many petitioners (e.g. 41 households' cracked houses), handled together."""

    title = models.CharField(_("事件"), max_length=200)
    category = models.CharField(_("类别"), max_length=30, choices=Category.choices)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("创建时间"))

    class Meta:
        verbose_name = verbose_name_plural = _("事项组")

    def __str__(self) -> str:
        return self.title


def home_banner_code() -> str:
    """The deployment's own banner (settings.BANNER_CODE): the default for rows made without a place, e.g. in tests."""
    return settings.BANNER_CODE


class Case(models.Model):
    reference = models.CharField(_("编号"), max_length=20)
    # The banner (旗, 6-digit county code) the case was registered in, fixed at intake from the banner outline
    # covering its point: every scope rule and analysis is partitioned by it (services.cases.access), and a
    # re-survey of inner boundaries never moves a case to another banner.
    banner_code = models.CharField(_("旗代码"), max_length=6, default=home_banner_code)
    category = models.CharField(_("类别"), max_length=30, choices=Category.choices)
    channel = models.CharField(_("渠道"), max_length=20, choices=Channel.choices)
    kind = models.CharField(_("信访类型"), max_length=20, choices=PetitionKind.choices, default=PetitionKind.CLAIM)
    procedure = models.CharField(
        _("程序"), max_length=20, choices=Procedure.choices, default=Procedure.PETITION, db_default=Procedure.PETITION
    )
    above_banner = models.CharField(
        _("越级/上级交办"), max_length=30, choices=AboveBanner.choices, blank=True, default="", db_default=""
    )
    description = models.TextField(_("事项描述"), validators=[max_text(TEXT_MAX)])

    location = models.PointField(_("位置(WGS84)"), srid=4326)
    datum = models.CharField(_("采集坐标系"), max_length=10, choices=Datum.choices, default=Datum.WGS84)
    submitted_lon = models.FloatField(_("原始经度"))
    submitted_lat = models.FloatField(_("原始纬度"))
    accuracy_m = models.FloatField(_("定位精度(米)"), null=True, blank=True)
    parcels = models.ManyToManyField(
        "geo_disputes.Parcel", through="CaseParcel", blank=True, related_name="cases", verbose_name=_("涉及地块")
    )
    households_affected = models.PositiveIntegerField(_("涉及户数"), default=1)
    departments = ArrayField(models.CharField(max_length=40), default=list, blank=True, verbose_name=_("协同部门"))
    legacy = models.BooleanField(_("历史遗留"), default=False)

    # Spatial context, filled by the locate service (per case) or link_cases (in bulk).
    township_code = models.CharField(_("乡镇代码"), max_length=40, blank=True)
    village_code = models.CharField(_("村代码"), max_length=40, blank=True)
    grid_code = models.CharField(_("网格代码"), max_length=40, blank=True)
    mining_area_code = models.CharField(_("矿区代码"), max_length=40, blank=True)
    mining_relation = models.CharField(
        _("与矿区关系"), max_length=20, choices=MiningRelation.choices, default=MiningRelation.NONE, blank=True
    )
    linked_at = models.DateTimeField(_("空间关联时间"), null=True, blank=True)

    tier = models.CharField(_("层级"), max_length=20, choices=Tier.choices, blank=True)
    unit = models.ForeignKey(
        "geo_disputes.Unit", null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("责任单位")
    )
    partner_units = models.ManyToManyField(
        "geo_disputes.Unit", blank=True, related_name="partner_cases", verbose_name=_("协办单位")
    )
    responsible_person = models.CharField(_("责任人"), max_length=50, blank=True)
    routing_rule = models.ForeignKey(
        "geo_disputes.RoutingRule", null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("分流规则")
    )
    routing_reason = models.TextField(_("分流理由"), blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.REPORTED)

    # Facts the statutory clock is derived from.
    received_at = models.DateTimeField(_("登记时间"), db_index=True, validators=[validate_plausible_date])
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True, validators=[validate_plausible_date])
    extension_days = models.PositiveSmallIntegerField(_("延期天数"), default=0)
    extension_reason = models.TextField(_("延期理由"), blank=True, validators=[max_text(REASON_MAX)])
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True, validators=[validate_plausible_date])
    review_requested_at = models.DateTimeField(
        _("申请复查时间"), null=True, blank=True, validators=[validate_plausible_date]
    )
    review_round = models.PositiveSmallIntegerField(_("复查轮次"), default=0)
    # The holder's own receipt: a forwarded or assigned matter starts the receiving body's 15 days (Art. 23).
    holder_received_at = models.DateTimeField(_("本单位收到时间"), null=True, blank=True)
    forwarded_by = models.ForeignKey(
        "geo_disputes.Unit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="forwarded_cases",
        verbose_name=_("转送/交办单位"),
    )
    objected_at = models.DateTimeField(_("提出异议时间"), null=True, blank=True)
    petition_route = models.CharField(
        _("办理途径(第31条)"), max_length=20, choices=PetitionRoute.choices, blank=True, default="", db_default=""
    )
    opinion_outcome = models.CharField(
        _("处理意见"), max_length=20, choices=OpinionOutcome.choices, blank=True, default="", db_default=""
    )
    extension_approved_by = models.CharField(_("延期批准人"), max_length=50, blank=True, default="", db_default="")
    extension_told_at = models.DateField(
        _("延期告知信访人日期"), null=True, blank=True, validators=[validate_plausible_date]
    )
    served_at = models.DateTimeField(_("书面答复送达时间"), null=True, blank=True, validators=[validate_plausible_date])
    served_method = models.CharField(
        _("送达方式"), max_length=20, choices=ServiceMethod.choices, blank=True, default="", db_default=""
    )
    review_outcome = models.CharField(
        _("复查/复核结论"), max_length=20, choices=ReviewOutcome.choices, blank=True, default="", db_default=""
    )
    review_decided_at = models.DateTimeField(
        _("复查/复核决定时间"), null=True, blank=True, validators=[validate_plausible_date]
    )
    review_external = models.BooleanField(_("由旗以上机关复查/复核"), default=False, db_default=False)
    # People's mediation (人民调解法): mediators, outcome, agreement, judicial confirmation (Art. 33).
    mediators = models.CharField(_("调解员"), max_length=200, blank=True, default="", db_default="")
    mediation_outcome = models.CharField(
        _("调解结果"), max_length=20, choices=MediationOutcome.choices, blank=True, default="", db_default=""
    )
    agreement_at = models.DateField(_("调解协议生效日期"), null=True, blank=True, validators=[validate_plausible_date])
    confirmation_applied_at = models.DateField(
        _("申请司法确认日期"), null=True, blank=True, validators=[validate_plausible_date]
    )
    confirmation_court = models.CharField(_("司法确认法院"), max_length=100, blank=True, default="", db_default="")
    confirmation_number = models.CharField(_("司法确认裁定书号"), max_length=60, blank=True, default="", db_default="")
    confirmation_ruled_at = models.DateField(
        _("司法确认裁定日期"), null=True, blank=True, validators=[validate_plausible_date]
    )
    # Courts, arbitration, administrative and discipline procedures: facts only, no petition clock.
    legal_body = models.CharField(_("办理机关"), max_length=100, blank=True, default="", db_default="")
    legal_number = models.CharField(_("案号/文号"), max_length=60, blank=True, default="", db_default="")
    led_into_at = models.DateTimeField(_("导入法定程序时间"), null=True, blank=True)
    pre_mediation_at = models.DateField(
        _("诉前调解开始日期"), null=True, blank=True, validators=[validate_plausible_date]
    )
    filed_at = models.DateField(_("立案/受理日期"), null=True, blank=True, validators=[validate_plausible_date])
    legal_outcome = models.CharField(
        _("结案方式"), max_length=20, choices=LegalOutcome.choices, blank=True, default="", db_default=""
    )
    legal_outcome_at = models.DateField(_("结案日期"), null=True, blank=True, validators=[validate_plausible_date])
    agenda_date = models.DateField(_("联席会议日期"), null=True, blank=True, validators=[validate_plausible_date])
    agenda_plan = models.TextField(_("议事方案"), blank=True, validators=[max_text(REASON_MAX)])
    agenda_deadline = models.DateField(_("议定期限"), null=True, blank=True, validators=[validate_plausible_date])

    resolution_method = models.CharField(_("化解方式"), max_length=30, choices=ResolutionMethod.choices, blank=True)
    outcome = models.TextField(_("化解结果"), blank=True, validators=[max_text(TEXT_MAX)])
    satisfaction = models.CharField(_("满意度"), max_length=30, choices=Satisfaction.choices, blank=True)
    deputies_reviewed = models.BooleanField(_("人大代表参与评事"), default=False)
    not_accepted_reason = models.TextField(_("不予受理理由"), blank=True, validators=[max_text(REASON_MAX)])
    accused_unit = models.ForeignKey(
        "geo_disputes.Unit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accusations",
        verbose_name=_("被检举控告单位"),
    )

    group = models.ForeignKey(
        CaseGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases", verbose_name=_("群体事项")
    )
    repeat_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="repeats", verbose_name=_("重复信访于")
    )
    # A case that came in an exchange package (services.cases.exchange): the system and banner that sent it and
    # its reference there. Unique together, so the same package, or the same case sent again, is never a second case.
    external_source = models.CharField(_("来源系统"), max_length=60, blank=True, default="", db_default="")
    external_reference = models.CharField(_("来源编号"), max_length=60, blank=True, default="", db_default="")
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("登记人")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("创建时间"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("更新时间"))

    class Meta:
        ordering = ["-received_at"]
        verbose_name = verbose_name_plural = _("信访事项")
        # Plain btree indexes and a unique constraint rather than db_index=True / unique=True: on a CharField
        # those also build a varchar_pattern_ops "_like" twin for LIKE 'x%', which no query on cases uses,
        # and every bulk UPDATE of the spatial context (link_cases) had to maintain six of them.
        indexes = [
            models.Index(fields=["tier", "status"]),
            models.Index(fields=["category", "received_at"]),
            models.Index(fields=["township_code"], name="case_township_code_idx"),
            models.Index(fields=["village_code"], name="case_village_code_idx"),
            models.Index(fields=["grid_code"], name="case_grid_code_idx"),
            models.Index(fields=["mining_area_code"], name="case_mining_area_code_idx"),
            models.Index(fields=["status"], name="case_status_idx"),
            models.Index(fields=["banner_code", "received_at"], name="case_banner_received_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="case_reference_uniq"),
            models.UniqueConstraint(
                fields=["external_source", "external_reference"],
                condition=~models.Q(external_reference=""),
                name="case_external_uniq",
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class CaseParcel(models.Model):
    """A parcel a case concerns: found at its point (re-derived by linking) or named at intake (kept)."""

    class Source(models.TextChoices):
        POINT = "point", gettext_noop("位置所在地块")
        NAMED = "named", gettext_noop("登记时指明")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, verbose_name=_("事项"))
    parcel = models.ForeignKey("geo_disputes.Parcel", on_delete=models.PROTECT, verbose_name=_("地块"))
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.POINT, verbose_name=_("关联方式"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "parcel"], name="caseparcel_uniq")]


class Party(models.Model):
    """A petitioner of a case. Name, phone and ID number are personal data (PIPL; 条例 Art. 30)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="petitioners")
    name = models.CharField(_("姓名"), max_length=50)
    phone = models.CharField(_("电话"), max_length=20, blank=True)
    id_number = models.CharField(_("身份证号"), max_length=18, blank=True)
    # A group visit sends at most 5 representatives (条例 Art. 20); the others are recorded as members.
    representative = models.BooleanField(_("代表"), default=False, db_default=False)

    class Meta:
        verbose_name = verbose_name_plural = _("信访人")


class CaseEvent(models.Model):
    """Append-only history: who did what, when, from which state to which, and why."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events", verbose_name=_("事项"))
    # When the action took effect: now, or the `now` a replay gives workflow.apply (the demo's back-dated year).
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("操作人")
    )
    action = models.CharField(_("操作"), max_length=30)
    from_status = models.CharField(max_length=20, blank=True, verbose_name=_("原状态"))
    to_status = models.CharField(max_length=20, blank=True, verbose_name=_("新状态"))
    changes = models.JSONField(_("变更"), default=dict, blank=True)
    reason = models.TextField(_("理由"), blank=True, validators=[max_text(REASON_MAX)])
    rule = models.ForeignKey(
        "geo_disputes.RoutingRule", null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("分流规则")
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name = verbose_name_plural = _("办理记录")

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("CaseEvent is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("CaseEvent is append-only")


class SupervisionAct(models.Model):
    """A superior's supervision of the unit holding an overdue matter (Chapter 5): the case stays where it is.

    Append-only, like the history. `missed` names the deadline it answers ("conclude_by:2026-05-01"),
    so the daily run acts once per step; the unit is the holder at that moment, for the rankings.
    """

    class Kind(models.TextChoices):
        URGE = "urge", gettext_noop("督办")
        SUMMON = "summon", gettext_noop("约谈")
        NOTICE = "notice", gettext_noop("通报")
        LISTED = "listed", gettext_noop("挂牌督办")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="supervision_acts", verbose_name=_("事项"))
    kind = models.CharField(_("督办方式"), max_length=20, choices=Kind.choices)
    unit = models.ForeignKey(
        "geo_disputes.Unit",
        null=True,
        on_delete=models.PROTECT,
        related_name="supervision_acts",
        verbose_name=_("被督办单位"),
    )
    ordered_by = models.CharField(_("督办机关/人员"), max_length=100)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("操作人")
    )
    at = models.DateTimeField(_("时间"), db_index=True)
    deadline = models.DateField(_("限期"), validators=[validate_plausible_date])
    reason = models.TextField(_("理由"), validators=[max_text(REASON_MAX)])
    missed = models.CharField(_("所逾期限"), max_length=40, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = verbose_name_plural = _("督办记录")


class FollowUp(models.Model):
    """A follow-up (回访): someone other than the handler asked the petitioner — or could not reach them.

    Satisfaction comes only from here, never from the handler's own click (issue 11, item 8).
    """

    class Method(models.TextChoices):
        PHONE = "phone", gettext_noop("电话回访")
        VISIT = "visit", gettext_noop("上门回访")
        SMS = "sms", gettext_noop("短信回访")
        LETTER = "letter", gettext_noop("信函回访")
        ONLINE = "online", gettext_noop("网上回访")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="follow_ups", verbose_name=_("事项"))
    at = models.DateTimeField(_("回访时间"), validators=[validate_plausible_date])
    by = models.CharField(_("回访人"), max_length=50)
    method = models.CharField(_("回访方式"), max_length=20, choices=Method.choices)
    satisfaction = models.CharField(_("满意度"), max_length=30, choices=Satisfaction.choices, blank=True)
    unreachable = models.BooleanField(_("未能联系到信访人"), default=False)
    note = models.TextField(_("备注"), blank=True, validators=[max_text(REASON_MAX)])
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("回访人")
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name = verbose_name_plural = _("回访记录")


class GroupProposal(models.Model):
    """A person's decision on a proposed case group (services.cases.proposals): confirmed or rejected.

    Proposals themselves are computed from the open cases whenever they are listed; only the
    decisions are stored, keyed by the signature of the proposed member set, so a set once
    confirmed or rejected is never proposed again.
    """

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", gettext_noop("已确认合并")
        REJECTED = "rejected", gettext_noop("已否定")

    signature = models.CharField(_("成员集合签名"), max_length=64, unique=True)
    category = models.CharField(_("类别"), max_length=30, choices=Category.choices)
    reasons = ArrayField(models.CharField(max_length=20), default=list, blank=True, verbose_name=_("提出理由"))
    cases = models.ManyToManyField(Case, related_name="group_proposals", verbose_name=_("涉及事项"))
    status = models.CharField(_("决定"), max_length=20, choices=Status.choices)
    group = models.ForeignKey(
        CaseGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals", verbose_name=_("事项组")
    )
    note = models.TextField(_("说明"), blank=True, validators=[max_text(REASON_MAX)])
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("决定人")
    )
    decided_at = models.DateTimeField(_("决定时间"), auto_now_add=True)

    class Meta:
        ordering = ["-decided_at", "id"]
        verbose_name = verbose_name_plural = _("合并建议决定")

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.signature[:12]}"
