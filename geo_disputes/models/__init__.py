"""Domain models: areas, organisation and roles, cases, routing rules, audit."""

from .areas import Area, Banner, Grid, MiningArea, Parcel, Township, Village
from .audit import PersonalDataAccess
from .calendar import CalendarDay
from .cases import Case, CaseEvent, CaseGroup, CaseParcel, FollowUp, Party, SupervisionAct
from .org import Role, StaffProfile, Unit
from .routing import RoutingRule, RoutingRuleChange
from .security import ApiToken, LoginFailure

__all__ = [
    "ApiToken",
    "Area",
    "Banner",
    "Case",
    "CaseEvent",
    "CaseGroup",
    "CaseParcel",
    "CalendarDay",
    "FollowUp",
    "Grid",
    "LoginFailure",
    "MiningArea",
    "Parcel",
    "Party",
    "PersonalDataAccess",
    "Role",
    "RoutingRule",
    "RoutingRuleChange",
    "StaffProfile",
    "SupervisionAct",
    "Township",
    "Unit",
    "Village",
]
