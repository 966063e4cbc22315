"""Domain models: areas, organisation and roles, cases, routing rules, audit."""

from .areas import Area, Banner, Grid, MiningArea, Parcel, Township, Village
from .attachments import Attachment, AttachmentKind, FileType, UploadSession
from .audit import PersonalDataAccess
from .calendar import CalendarDay
from .cases import Case, CaseEvent, CaseGroup, CaseParcel, FollowUp, Party, SupervisionAct
from .documents import CaseDocument, DocumentCounter, DocumentService, NoticeKind
from .idempotency import IdempotentRequest
from .jobs import JobRun, ReplicaFence
from .leaders import LeaderCase, LeaderVisit, VisitCase
from .org import Role, StaffProfile, Unit
from .recusal import AccusedPerson, Recusal
from .routing import RoutingRule, RoutingRuleChange
from .security import ApiToken, LoginFailure

__all__ = [
    "AccusedPerson",
    "ApiToken",
    "Attachment",
    "AttachmentKind",
    "Area",
    "Banner",
    "Case",
    "CaseDocument",
    "CaseEvent",
    "CaseGroup",
    "CaseParcel",
    "CalendarDay",
    "DocumentCounter",
    "DocumentService",
    "FileType",
    "FollowUp",
    "Grid",
    "IdempotentRequest",
    "JobRun",
    "LeaderCase",
    "LeaderVisit",
    "LoginFailure",
    "MiningArea",
    "NoticeKind",
    "Parcel",
    "Party",
    "PersonalDataAccess",
    "Recusal",
    "ReplicaFence",
    "Role",
    "RoutingRule",
    "RoutingRuleChange",
    "StaffProfile",
    "SupervisionAct",
    "Township",
    "Unit",
    "UploadSession",
    "Village",
    "VisitCase",
]
