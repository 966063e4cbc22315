"""Which procedure a matter goes down, and which track of the workflow that procedure runs on.

DOMAIN.md "Three procedures": people's mediation (人民调解法, no petition clock), petitions
(信访工作条例, the statutory clocks) and the courts/arbitration (procedural law; 诉访分离, Art. 28).
Administrative and discipline procedures are, like the courts, someone else's procedure whose facts
we record without running the petition clock on them.

The choice at intake, in order (the first that applies wins, and the routing reason says which):
1. an accusation (检举控告) goes to the discipline bodies (纪检监察, 条例 Art. 22);
2. a procedure the officer chose explicitly at intake;
3. the routing rule's own procedure (editable in the admin, like the rest of the rule);
4. a matter for the mining-area court is litigation (its pre-litigation mediation included);
5. a claim told at a talk room, to a grid agent or at a deputies' station is people's mediation;
6. everything else is a petition.
"""

from __future__ import annotations

from enum import StrEnum

from geo_disputes.models import Case, Unit
from geo_disputes.models.cases import Channel, PetitionKind, PetitionRoute, Procedure, Tier
from geo_disputes.services.cases.units import department_code, unit_for_tier

MEDIATION_CHANNELS = frozenset({Channel.TALK_ROOM, Channel.GRID_AGENT, Channel.DEPUTY_STATION})
LEGAL_PROCEDURES = frozenset(
    {Procedure.LITIGATION, Procedure.ARBITRATION, Procedure.ADMINISTRATIVE, Procedure.DISCIPLINE}
)

# Art. 31 items 1–5: the procedure a claim is led into.
LED_INTO: dict[str, str] = {
    PetitionRoute.LITIGATION: Procedure.LITIGATION,
    PetitionRoute.ARBITRATION: Procedure.ARBITRATION,
    PetitionRoute.PARTY_APPEAL: Procedure.DISCIPLINE,
    PetitionRoute.ADMINISTRATIVE: Procedure.ADMINISTRATIVE,
    PetitionRoute.LEGAL_DUTY: Procedure.ADMINISTRATIVE,
}


class Track(StrEnum):
    """The three sets of transitions (services.cases.workflow): one per kind of procedure."""

    PETITION = "petition"
    MEDIATION = "mediation"
    LEGAL = "legal"


def track_of(procedure: str) -> Track:
    if procedure == Procedure.MEDIATION:
        return Track.MEDIATION
    if procedure in LEGAL_PROCEDURES:
        return Track.LEGAL
    return Track.PETITION


def choose_procedure(
    *, kind: str, channel: str, tier: str, rule_procedure: str = "", requested: str = ""
) -> tuple[str, str]:
    """The procedure for a new matter and why, as (procedure, "中文 / English" reason)."""
    if kind == PetitionKind.ACCUSATION:
        return Procedure.DISCIPLINE, "检举控告转纪检监察机关(条例第22条) / accusation: discipline bodies (Art. 22)"
    if requested:
        return requested, "登记时指定程序 / chosen at intake"
    if rule_procedure:
        return rule_procedure, "分流规则指定程序 / the routing rule's procedure"
    if tier == Tier.MINING_COURT:
        return Procedure.LITIGATION, "矿区法庭:诉讼及诉前调解(诉访分离) / mining court: litigation, pre-trial mediation"
    if kind == PetitionKind.CLAIM and channel in MEDIATION_CHANNELS:
        return Procedure.MEDIATION, "说事室/代办/代表站的求决事项:人民调解 / told at a talk room: people's mediation"
    return Procedure.PETITION, "信访事项:适用信访工作条例时限 / petition: the Regulations' clocks"


DISCIPLINE = "discipline"  # the discipline commission's department key (units.department_code)


def holder_for(case: Case, procedure: str) -> tuple[Unit, str] | None:
    """The body that must hold a matter of `procedure` when routing put it elsewhere, and why; None if it may stay.

    * An accusation goes to the discipline commission (纪委监委, 条例 Art. 22), never to a committee
      of the area it accuses or one below it.
    * A petition is answered by a government body: one routed to a village committee goes to the
      township (乡镇人民政府); the committee helps as the petitioner's agent.
    """
    if procedure == Procedure.DISCIPLINE:
        unit = Unit.objects.filter(code=department_code(DISCIPLINE, case.banner_code)).first()
        if unit is not None and case.unit_id != unit.pk:
            return unit, "检举控告由纪委监委办理(条例第22条) / accusations are handled by the discipline commission"
    if procedure == Procedure.PETITION and case.tier == Tier.VILLAGE:
        unit = unit_for_tier(Tier.TOWNSHIP, case.township_code, case.village_code, case.banner_code)
        if unit is not None:
            return (
                unit,
                "信访事项由乡镇人民政府办理,村委会协助 / a petition is answered by the township, the village helps",
            )
    return None
