"""Which tier and which unit must resolve a case, and why — from the ordered RoutingRule table.

The first active rule (by order) whose every condition holds decides; a blank condition
matches anything. The decision names the rule and the conditions that matched, so the case
page can say *why this tier* (FixMyStreet #4457: never leave people unsure who decided).
A petition accusing a unit is never handed to that unit (信访工作条例 Art. 30): it goes one
tier up, and the reason says so. The procedure is chosen next (services.cases.procedures, at intake);
a rule may name one. Routing decides who holds a matter when it arrives; afterwards only an explicit
transfer, assignment, joint-meeting decision or review request moves it — never lateness.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.gis.db.models.functions import PointOnSurface
from django.db.models import Exists, OuterRef, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from geo_disputes.models import Case, CaseEvent, CaseParcel, RoutingRule, Unit, Village
from geo_disputes.models.cases import Category, MiningRelation, Tier
from geo_disputes.models.routing import MiningCondition
from geo_disputes.services.cases.recusal import unit_on_accused_side
from geo_disputes.services.cases.units import department_code, tier_above, unit_for_tier

# Banner departments a case may involve; each is the unit `BD-<code>` (the integrated centre's
# residents, the mining court's partners and the petitions bureau).
DEPARTMENTS: dict[str, str] = {
    "natural_resources": "自然资源局",
    "forestry_grassland": "林业和草原局",
    "energy": "能源局",
    "justice": "司法局",
    "housing": "住房和城乡建设局",
    "water": "水利局",
    "labour": "人力资源和社会保障局",
    "environment": "生态环境局",
    "market": "市场监督管理局",
    "health": "卫生健康委员会",
    "petitions": "信访局",
    "discipline": "纪委监委",
}


@dataclass(frozen=True)
class RoutingInput:
    """The facts routing looks at: category × spatial context × scale."""

    category: str
    mining_relation: str = ""  # "inside" | "influence_zone" | ""
    households_affected: int = 1
    departments: list[str] = field(default_factory=list)  # banner department codes, e.g. "housing"
    legacy: bool = False
    township_codes: set[str] = field(default_factory=set)  # every township the matter spans
    village_codes: set[str] = field(default_factory=set)  # every village the matter spans
    township_code: str = ""  # the case's own township: whose committee takes a township-tier case
    village_code: str = ""  # the case's own village: whose committee takes a village-tier case
    accused_unit_code: str = ""  # the unit an accusation names (Art. 30): never the one to handle it
    banner_code: str = ""  # the case's banner: whose banner bodies take it (several banners per deployment)


@dataclass(frozen=True)
class RoutingDecision:
    tier: str
    unit: Unit | None
    partner_units: list[Unit]
    rule: RoutingRule | None
    reason: str
    partner_departments: list[str] = field(default_factory=list)


def route(inp: RoutingInput, rules: Iterable[RoutingRule] | None = None) -> RoutingDecision:
    """Decide tier, unit and partner departments: the first active matching rule wins.

    `rules` defaults to the active rules in the database, in order; with the default
    table a final catch-all always matches, and without one the township takes the case.
    """
    if rules is None:
        rules = RoutingRule.objects.filter(active=True).order_by("order", "id")
    for rule in rules:
        if not rule.active:
            continue
        matched = matched_conditions(rule, inp)
        if matched is not None:
            return _decide(inp, rule, matched)
    return _decide(inp, None, [])


def matched_conditions(rule: RoutingRule, inp: RoutingInput) -> list[tuple[str, str]] | None:
    """The (Chinese, English) phrases of the conditions `rule` sets, or None when one fails."""
    matched: list[tuple[str, str]] = []
    if rule.legacy is not None:
        if inp.legacy != rule.legacy:
            return None
        matched.append(("历史遗留", "legacy") if rule.legacy else ("非历史遗留", "not legacy"))
    if rule.categories:
        if inp.category not in rule.categories:
            return None
        label = dict(Category.choices).get(inp.category, inp.category)
        matched.append((f"类别={label}", f"category={inp.category}"))
    if rule.mining != MiningCondition.ANY:
        phrase = _mining_phrase(rule.mining, inp.mining_relation)
        if phrase is None:
            return None
        matched.append(phrase)
    counts = {
        "households": (inp.households_affected, "涉及{}户", "{} households"),
        "departments": (len(set(inp.departments)), "协同部门{}个", "{} departments"),
        "townships": (len(inp.township_codes), "跨{}个乡镇", "spans {} townships"),
        "villages": (len(inp.village_codes), "跨{}个村", "spans {} villages"),
    }
    bounds = [
        (rule.min_households, "households", operator.ge),
        (rule.max_households, "households", operator.le),
        (rule.min_departments, "departments", operator.ge),
        (rule.min_townships, "townships", operator.ge),
        (rule.min_villages, "villages", operator.ge),
    ]
    for limit, what, holds in bounds:
        if limit is None:
            continue
        value, zh, en = counts[what]
        if not holds(value, limit):
            return None
        phrase = (zh.format(value), en.format(value))
        if phrase not in matched:
            matched.append(phrase)
    return matched


def routing_input(case: Case) -> RoutingInput:
    """The routing facts of a stored case: its own context plus its parcels' and group's areas.

    A parcel counts in the village covering its point-on-surface (boundaries in force on the
    day the case was received). A group is one event: its households add up and its villages,
    townships and departments are the union over its cases, so every member routes alike.
    """
    parcel_villages = _parcel_villages(case)
    township_codes = {case.township_code} | {township for _, township in parcel_villages}
    village_codes = {case.village_code} | {village for village, _ in parcel_villages}
    departments = list(dict.fromkeys(case.departments))
    households = case.households_affected
    if case.group_id is not None:
        members = Case.objects.filter(group_id=case.group_id)
        township_codes |= set(members.values_list("township_code", flat=True))
        village_codes |= set(members.values_list("village_code", flat=True))
        for codes in members.values_list("departments", flat=True):
            departments.extend(d for d in codes if d not in departments)
        total = members.aggregate(n=Coalesce(Sum("households_affected"), 0))["n"]
        households = max(households, total)
    return RoutingInput(
        category=case.category,
        mining_relation=case.mining_relation,
        households_affected=households,
        departments=departments,
        legacy=case.legacy,
        township_codes=township_codes - {""},
        village_codes=village_codes - {""},
        township_code=case.township_code,
        village_code=case.village_code,
        accused_unit_code=case.accused_unit.code if case.accused_unit_id else "",
        banner_code=case.banner_code,
    )


def record_routing(case: Case, decision: RoutingDecision, actor=None, at: dt.datetime | None = None) -> CaseEvent:
    """Store the decision on the case and append a `route` event naming the rule and the reason."""
    before = {"tier": case.tier, "unit": case.unit.code if case.unit_id else ""}
    case.tier = decision.tier
    case.unit = decision.unit
    case.routing_rule = decision.rule
    case.routing_reason = decision.reason
    case.version += 1
    case.save(update_fields=["tier", "unit", "routing_rule", "routing_reason", "version", "updated_at"])
    # A department the accusation names (or one inside an accused committee's area) never co-handles it.
    case.partner_units.set([u for u in decision.partner_units if not unit_on_accused_side(case, u)])
    after = {"tier": decision.tier, "unit": decision.unit.code if decision.unit else ""}
    return CaseEvent.objects.create(
        case=case,
        at=at or timezone.now(),
        actor=actor,
        action="route",
        from_status=case.status,
        to_status=case.status,
        changes={k: [before[k], after[k]] for k in before if before[k] != after[k]},
        reason=decision.reason,
        rule=decision.rule,
    )


def route_case(case: Case, actor=None, at: dt.datetime | None = None) -> RoutingDecision:
    """Route a stored case by the current rules and record the decision (at `at`, default now)."""
    decision = route(routing_input(case))
    record_routing(case, decision, actor, at)
    return decision


def rule_snapshot(rule: RoutingRule) -> dict:
    """The rule as saved, as plain JSON: kept with every change so old decisions stay explainable."""
    return {
        "id": rule.pk,
        "order": rule.order,
        "name": rule.name,
        "active": rule.active,
        "categories": list(rule.categories),
        "mining": rule.mining,
        "min_households": rule.min_households,
        "max_households": rule.max_households,
        "min_departments": rule.min_departments,
        "min_townships": rule.min_townships,
        "min_villages": rule.min_villages,
        "legacy": rule.legacy,
        "tier": rule.tier,
        "procedure": rule.procedure,
        "partner_departments": list(rule.partner_departments),
        "explanation": rule.explanation,
    }


def _decide(inp: RoutingInput, rule: RoutingRule | None, matched: list[tuple[str, str]]) -> RoutingDecision:
    tier = Tier(rule.tier) if rule else Tier.TOWNSHIP
    unit = unit_for_tier(tier, inp.township_code, inp.village_code, inp.banner_code)
    notes: list[tuple[str, str]] = []
    while unit is not None and inp.accused_unit_code == unit.code and tier_above(tier):
        notes.append((f"被检举控告单位{unit.name}回避(条例第30条)", f"accused unit {unit.code} recused (Art. 30)"))
        tier = Tier(tier_above(tier))
        unit = unit_for_tier(tier, inp.township_code, inp.village_code, inp.banner_code)
    if unit is None:
        notes.append(("未找到该层级责任单位", "no unit found for this tier"))
    departments = list(dict.fromkeys([*(rule.partner_departments if rule else []), *inp.departments]))
    partners = _department_units(departments, inp.banner_code)
    if rule is None:
        head_zh, head_en = "无匹配规则", "no rule matched"
        matched = [("默认由乡镇级办理", "township by default")]
    else:
        head_zh, head_en = f"规则#{rule.order} {rule.name}", f"rule #{rule.order}"
        matched = matched or [("无附加条件", "no condition")]
    zh = ", ".join(z for z, _ in [*matched, *notes])
    en = ", ".join(e for _, e in [*matched, *notes])
    reason = f"{head_zh} → {tier.label}: {zh} / {head_en} → {tier.value}: {en}"
    if partners:
        reason += f"; 协同部门 partners: {', '.join(u.name for u in partners)}"
    return RoutingDecision(
        tier=tier.value, unit=unit, partner_units=partners, rule=rule, reason=reason, partner_departments=departments
    )


def _mining_phrase(condition: str, relation: str) -> tuple[str, str] | None:
    inside = relation == MiningRelation.INSIDE
    in_zone = relation == MiningRelation.INFLUENCE_ZONE
    if condition == MiningCondition.INSIDE and inside:
        return ("位于矿区内", "inside a mining area")
    if condition == MiningCondition.INSIDE_OR_ZONE and (inside or in_zone):
        return ("位于矿区或影响区", "in a mining area or its influence zone")
    if condition == MiningCondition.OUTSIDE and not (inside or in_zone):
        return ("不涉及矿区", "outside mining areas")
    return None


def _department_units(departments: list[str], banner_code: str = "") -> list[Unit]:
    """The banner's department units (units.department_code) in the order given; departments without a unit are
    left out."""
    codes = [department_code(d, banner_code) for d in departments]
    by_code = {u.code: u for u in Unit.objects.filter(code__in=codes)}
    return [by_code[c] for c in codes if c in by_code]


def _parcel_villages(case: Case) -> list[tuple[str, str]]:
    """(village code, township code) of the villages holding a point on each of the case's parcels.

    Judged by the boundaries in force on the day the case was received (Asia/Shanghai).
    """
    if case.pk is None:
        return []
    day = timezone.localdate(case.received_at) if case.received_at else None
    on_parcel = (
        CaseParcel.objects.filter(case_id=case.pk)
        .annotate(spot=PointOnSurface("parcel__geom"))
        .filter(spot__coveredby=OuterRef("geom"))
    )
    villages = Village.objects.in_force(day).filter(Exists(on_parcel))
    return list(villages.values_list("code", "township_code"))
