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

from geo_disputes.models.cases import Channel, PetitionKind, PetitionRoute, Procedure, Tier

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
