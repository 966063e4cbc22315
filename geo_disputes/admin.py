"""Admin for every model — without a single external request.

GeoDjango's map widgets load OpenLayers from a CDN, which government intranets block, so
geometries are shown as read-only summaries (type, size, bounding box) and boundaries change
only through imports. Cases and their history are read-only here: every change goes through the
workflow so it leaves a CaseEvent. Petitioners and parcel holders are shown masked; the full
record is on the case page, where each view is logged. Routing rules are editable, and every
add, change and delete is kept in RoutingRuleChange (recorded here, in one place).
"""

from __future__ import annotations

import functools

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import PermissionDenied
from django.db.models import Q

from geo_disputes.models import (
    AccusedPerson,
    ApiToken,
    Attachment,
    Banner,
    CalendarDay,
    Case,
    CaseDocument,
    CaseEvent,
    CaseGroup,
    CaseParcel,
    DocumentCounter,
    DocumentService,
    FollowUp,
    Grid,
    IdempotentRequest,
    JobRun,
    LoginFailure,
    MiningArea,
    Parcel,
    Party,
    PersonalDataAccess,
    Recusal,
    ReplicaFence,
    RoutingRule,
    RoutingRuleChange,
    StaffProfile,
    SupervisionAct,
    Township,
    Unit,
    UploadSession,
    Village,
)
from geo_disputes.models.areas import METRIC_SRID, SQUARE_METRES_PER_MU
from geo_disputes.models.cases import Category, GroupProposal
from geo_disputes.models.leaders import LeaderCase, LeaderVisit, VisitCase
from geo_disputes.services.cases.access import (
    ScopeError,
    administers_staff,
    banner_codes_seen,
    mask_id,
    mask_name,
    mask_phone,
)
from geo_disputes.services.cases.routing import DEPARTMENTS, rule_snapshot
from geo_disputes.services.cases.units import banner_of
from geo_disputes.services.ops.menus import site_name
from geo_disputes.services.ops.staff import StaffError, check_scope, default_unit


def geometry_summary(geom: GEOSGeometry | None) -> str:
    """ "MultiPolygon ×2 · 12.34 km² (18,510 亩) · bbox 111.0000,39.5000 – 111.2000,39.7000"."""
    if geom is None:
        return "—"
    metric = geom.transform(METRIC_SRID, clone=True)
    square_metres = metric.area
    minx, miny, maxx, maxy = geom.extent
    parts = f" ×{geom.num_geom}" if geom.num_geom > 1 else ""
    return (
        f"{geom.geom_type}{parts} · {square_metres / 1e6:,.2f} km² ({square_metres / SQUARE_METRES_PER_MU:,.0f} 亩)"
        f" · bbox {minx:.4f},{miny:.4f} – {maxx:.4f},{maxy:.4f}"
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable, never added, changed or deleted here (append-only records)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AreaAdmin(admin.ModelAdmin):
    """Names and validity dates are editable; the boundary comes from imports and is summarised."""

    list_display = ("code", "name", "valid_from", "valid_to")
    search_fields = ("code", "name")
    exclude = ("geom",)
    readonly_fields = ("code", "boundary")

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="边界")
    def boundary(self, obj) -> str:
        return geometry_summary(obj.geom)


@admin.register(Banner)
class BannerAdmin(AreaAdmin):
    pass


@admin.register(Township)
class TownshipAdmin(AreaAdmin):
    list_display = ("code", "name", "kind", "valid_from", "valid_to")
    list_filter = ("kind",)


@admin.register(Village)
class VillageAdmin(AreaAdmin):
    list_display = ("code", "name", "kind", "township_code", "valid_from", "valid_to")
    list_filter = ("kind",)


@admin.register(Grid)
class GridAdmin(AreaAdmin):
    list_display = ("code", "name", "village_code", "households", "worker_name")
    raw_id_fields = ("worker_user",)


@admin.register(MiningArea)
class MiningAreaAdmin(AreaAdmin):
    list_display = ("code", "name", "kind", "operator", "influence_buffer_m")
    list_filter = ("kind",)
    readonly_fields = ("code", "boundary", "zone")

    @admin.display(description="影响区")
    def zone(self, obj: MiningArea) -> str:
        return geometry_summary(obj.influence_zone)


@admin.register(Parcel)
class ParcelAdmin(AreaAdmin):
    list_display = ("code", "name", "land_use", "area_mu", "holder")
    list_filter = ("land_use",)
    exclude = ("geom", "holder_name")
    readonly_fields = ("code", "boundary", "area_mu", "holder")

    @admin.display(description="承包户(已脱敏)")
    def holder(self, obj: Parcel) -> str:
        return mask_name(obj.holder_name)


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "area_code", "head_name")
    list_filter = ("kind",)
    search_fields = ("code", "name", "area_code")

    def get_queryset(self, request):
        """A banner admin keeps the units of their own banner(s) (a unit's area code begins with its banner's)."""
        qs = super().get_queryset(request)
        banner = _admin_banner(request.user)
        return qs if banner is None else qs.filter(area_code__startswith=banner)


class StaffProfileForm(forms.ModelForm):
    class Meta:
        model = StaffProfile
        fields = ("user", "role", "banner_code", "scope_code", "unit")

    admin_banner: str | None = None  # set by StaffProfileAdmin.get_form for a banner admin: their banner or city

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["banner_code"].required = False  # blank: the scope's banner, else the home banner

    def clean(self) -> dict:
        """The scope must fit the role, lie in the banner and name an area in force; a banner admin gives roles in
        their own banner only; an officer without a unit gets their own committee's (the accused-unit rule and the
        holder's-officer checks read it), as services/ops/staff does."""
        data = super().clean()
        role, scope = data.get("role", ""), (data.get("scope_code") or "").strip()
        banner = (data.get("banner_code") or "").strip() or banner_of(scope[:9])  # blank: the scope's banner
        if self.admin_banner is not None and not banner.startswith(self.admin_banner):
            raise forms.ValidationError({"banner_code": f"只能在本旗(市) {self.admin_banner} 内设置人员"})
        try:
            check_scope(role, scope, banner)
        except (ScopeError, StaffError) as exc:
            raise forms.ValidationError({"scope_code": str(exc)}) from exc
        data["scope_code"], data["banner_code"] = scope, banner
        if data.get("unit") is None:
            data["unit"] = default_unit(role, scope, banner)
        return data


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    form = StaffProfileForm
    list_display = ("user", "role", "banner_code", "scope_code", "unit")
    list_filter = ("role", "banner_code")
    search_fields = ("user__username", "scope_code")
    raw_id_fields = ("user",)
    list_select_related = ("user", "unit")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        banner = _admin_banner(request.user)
        return qs if banner is None else qs.filter(banner_code__startswith=banner)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.admin_banner = _admin_banner(request.user)
        return form


class ReadOnlyInline(admin.TabularInline):
    """Rows shown within their case, never added or changed here (they come from intake and the workflow)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class PetitionerInline(ReadOnlyInline):
    """Petitioners, masked: the full record is on the case page, where each view is logged."""

    model = Party
    fields = ("masked_name", "masked_phone", "masked_id")
    readonly_fields = fields

    @admin.display(description="姓名")
    def masked_name(self, obj: Party) -> str:
        return mask_name(obj.name)

    @admin.display(description="电话")
    def masked_phone(self, obj: Party) -> str:
        return mask_phone(obj.phone)

    @admin.display(description="身份证号")
    def masked_id(self, obj: Party) -> str:
        return mask_id(obj.id_number)


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ("at", "actor", "action", "from_status", "to_status", "reason", "rule")
    readonly_fields = fields


class AccusedPersonInline(ReadOnlyInline):
    """The officials an accusation names (条例 Art. 30): recorded at intake, never edited afterwards."""

    model = AccusedPerson
    fields = ("name", "position", "unit", "user")
    readonly_fields = fields


class RecusalInline(ReadOnlyInline):
    """Who is kept off the case (回避); recorded on the case page or at intake, kept for the record."""

    model = Recusal
    fields = ("username", "ground", "reason", "recorded_by", "at")
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("reference", "category", "tier", "unit", "status", "township_code", "village_code", "received_at")
    list_filter = ("category", "tier", "status", "channel", "kind")
    search_fields = ("reference",)
    list_select_related = ("unit",)
    date_hierarchy = "received_at"
    exclude = ("location",)
    readonly_fields = ("position",)
    inlines = (PetitionerInline, AccusedPersonInline, RecusalInline, CaseEventInline)

    @admin.display(description="位置(WGS84)")
    def position(self, obj: Case) -> str:
        return f"{obj.location.x:.6f}, {obj.location.y:.6f} (采集 {obj.get_datum_display()})"


@admin.register(CaseParcel)
class CaseParcelAdmin(ReadOnlyAdmin):
    """Which parcels a case concerns: found at its point (re-derived by linking) or named at intake."""

    list_display = ("case", "parcel", "source")
    list_filter = ("source",)
    search_fields = ("case__reference", "parcel__code")
    list_select_related = ("case", "parcel")


@admin.register(CaseGroup)
class CaseGroupAdmin(admin.ModelAdmin):
    list_display = ("title", "category", "created_at")
    list_filter = ("category",)
    search_fields = ("title",)


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "case", "action", "actor", "from_status", "to_status", "rule")
    list_filter = ("action",)
    search_fields = ("case__reference",)
    list_select_related = ("case", "actor", "rule")


@admin.register(SupervisionAct)
class SupervisionActAdmin(ReadOnlyAdmin):
    """Supervision acts (督办/约谈/通报/挂牌督办) against the units holding overdue matters; append-only."""

    list_display = ("at", "case", "kind", "unit", "ordered_by", "deadline")
    list_filter = ("kind",)
    search_fields = ("case__reference", "unit__code")
    list_select_related = ("case", "unit")


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    """Follow-ups (回访): who asked the petitioner, how, and the answer; append-only."""

    list_display = ("at", "case", "by", "method", "satisfaction", "unreachable")
    list_filter = ("method", "satisfaction", "unreachable")
    search_fields = ("case__reference",)
    list_select_related = ("case",)


@admin.register(CalendarDay)
class CalendarDayAdmin(ReadOnlyAdmin):
    """The working-day calendar the clock counts in (from chinesecalendar; refreshed by the daily tick)."""

    list_display = ("day", "working", "provisional")
    list_filter = ("working", "provisional")
    date_hierarchy = "day"


class RoutingRuleForm(forms.ModelForm):
    """Categories and partner departments as checkboxes, so a rule cannot name an unknown code."""

    categories = forms.MultipleChoiceField(
        label="类别(空=不限)", choices=Category.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    partner_departments = forms.MultipleChoiceField(
        label="协同部门", choices=list(DEPARTMENTS.items()), required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = RoutingRule
        fields = (
            "order",
            "name",
            "active",
            "categories",
            "mining",
            "min_households",
            "max_households",
            "min_departments",
            "min_townships",
            "min_villages",
            "legacy",
            "tier",
            "procedure",
            "partner_departments",
            "explanation",
        )


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ("order", "name", "active", "tier", "procedure", "categories", "mining", "partner_departments")
    list_display_links = ("name",)
    list_editable = ("active",)
    list_filter = ("active", "tier", "procedure")
    ordering = ("order", "id")

    def save_model(self, request, obj: RoutingRule, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self._record(request, obj, "change" if change else "add")

    def delete_model(self, request, obj: RoutingRule) -> None:
        self._record(request, obj, "delete")  # the change row outlives the rule (rule → NULL)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for rule in queryset:
            self.delete_model(request, rule)

    def _record(self, request, rule: RoutingRule, action: str) -> None:
        RoutingRuleChange.objects.create(rule=rule, actor=request.user, action=action, snapshot=rule_snapshot(rule))


@admin.register(RoutingRuleChange)
class RoutingRuleChangeAdmin(ReadOnlyAdmin):
    list_display = ("at", "rule", "action", "actor")
    list_filter = ("action",)
    list_select_related = ("rule", "actor")


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "purpose", "case", "parcel")
    list_select_related = ("user", "case", "parcel")
    search_fields = ("user__username", "case__reference")


@admin.register(LoginFailure)
class LoginFailureAdmin(ReadOnlyAdmin):
    """Failed-login counts (usernames hashed); deleting a row lifts that address's, pair's or account's limit early."""

    list_display = ("key", "failures", "last_failure_at", "last_success_at")
    ordering = ("-last_failure_at",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    """The scheduler's runs (services/ops/scheduler.py); deleting the current day's run has it run again
    at the scheduler's next wake (within 5 minutes)."""

    list_display = ("job", "day", "outcome", "attempts", "started_at", "finished_at", "summary", "runner")
    list_filter = ("job", "outcome")
    ordering = ("-day", "job")

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(ReadOnlyAdmin):
    """Stored first answers of Idempotency-Key requests; the answer itself (the caller's own view of a case,
    perhaps with petitioners) is not shown here."""

    list_display = ("user", "key", "status_code", "created_at", "expires_at")
    fields = ("user", "key", "request_hash", "status_code", "created_at", "expires_at")
    ordering = ("-created_at",)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """API tokens (hashes only; issued by `manage.py api_token`, which shows the secret once); delete to revoke."""

    list_display = ("prefix", "user", "name", "created_at", "expires_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "name", "prefix")
    exclude = ("digest",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(GroupProposal)
class GroupProposalAdmin(ReadOnlyAdmin):
    """Decisions on proposed case groups; made through the API/pages, where the member cases are checked."""

    list_display = ("decided_at", "status", "category", "group", "decided_by")
    list_filter = ("status", "category")
    list_select_related = ("group", "decided_by")


@admin.register(CaseDocument)
class CaseDocumentAdmin(ReadOnlyAdmin):
    """Issued notices: records, never edited (a correction is a new notice); files from the case's 文书 page."""

    list_display = ("doc_number", "title", "case", "unit", "issued_at", "issued_by")
    list_select_related = ("case", "unit", "issued_by")
    search_fields = ("doc_number", "number", "case__reference")
    exclude = ("facts", "template_text")  # names inside: read on the case's pages, where each view is recorded


@admin.register(DocumentService)
class DocumentServiceAdmin(ReadOnlyAdmin):
    list_display = ("document", "method", "served_at", "recorded_by")
    list_select_related = ("document", "recorded_by")
    exclude = ("recipient",)


@admin.register(DocumentCounter)
class DocumentCounterAdmin(ReadOnlyAdmin):
    list_display = ("unit", "year", "last")


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    """Case files: what and when, never the file or its name (it may name a person) — files are read on the case
    page, through the scope-checked view; removal is an act with a reason there, not here."""

    list_display = ("case", "kind", "file_type", "size", "added_at", "added_by", "removed_at")
    list_filter = ("kind", "file_type")
    search_fields = ("case__reference",)
    list_select_related = ("case", "added_by")
    exclude = ("name", "caption", "exif_point", "removal_reason")


@admin.register(LeaderCase)
class LeaderCaseAdmin(ReadOnlyAdmin):
    """Leaders' cases (包案): registered and closed on the /leaders/ page, where each act enters the case history."""

    list_display = ("case", "leader_name", "leader_post", "deadline", "status", "taken_at")
    list_filter = ("status",)
    search_fields = ("case__reference", "leader_name")
    list_select_related = ("case",)
    exclude = ("plan", "outcome")  # names and circumstances: read on the register, scope-checked


@admin.register(LeaderVisit)
class LeaderVisitAdmin(ReadOnlyAdmin):
    """Leaders' receptions and visits (接访/约访/下访), kept on the /visits/ calendar."""

    list_display = ("on", "kind", "leader_name", "place", "township_code")
    list_filter = ("kind",)


@admin.register(VisitCase)
class VisitCaseAdmin(ReadOnlyAdmin):
    list_display = ("visit", "case", "outcome_at")
    list_select_related = ("visit", "case")
    exclude = ("outcome",)


@admin.register(ReplicaFence)
class ReplicaFenceAdmin(ReadOnlyAdmin):
    """Where the primary's WAL stood at the last change to access (map reads wait for the replica to pass it)."""

    list_display = ("lsn", "at")


@admin.register(UploadSession)
class UploadSessionAdmin(ReadOnlyAdmin):
    """Resumable uploads under way (swept after a day untouched)."""

    list_display = ("case", "user", "size", "received", "touched_at")
    list_select_related = ("case", "user")
    exclude = ("name", "caption")


# -- the banner admin's own part of the admin (issue 14) ----------------------------------------------------------
#
# The banner admin (role banner_admin, not a superuser) manages staff, units and routing rules here, and sees the
# routing rules' change log; nothing of cases, petitioners, audit or security records (a banner admin may stand on
# the accused side of an accusation: those stay on the pages, behind access.visible_cases). They cannot touch a
# superuser, nor give anyone staff, superuser or permission flags. Superusers keep the whole admin.

BANNER_ADMIN_EDITS: dict[type, tuple[str, ...]] = {
    User: ("add", "change"),  # accounts are deactivated, not deleted: their history keeps the actor
    StaffProfile: ("add", "change", "delete"),
    Unit: ("add", "change"),  # cases PROTECT their unit
    RoutingRule: ("add", "change", "delete"),  # every change is kept in RoutingRuleChange (save_model above)
}
BANNER_ADMIN_READS = {*BANNER_ADMIN_EDITS, RoutingRuleChange}


def _banner_admin(user) -> bool:
    return administers_staff(user) and not user.is_superuser


def _admin_banner(user) -> str | None:
    """The banner (or city) whose staff and units a banner admin manages; None for a superuser (all of them)."""
    if not _banner_admin(user):
        return None
    return banner_codes_seen(user) or "-"  # "-" matches no code: a profile without a valid banner manages nothing


def _site_permission(request) -> bool:
    user = request.user
    return user.is_active and (user.is_staff or _banner_admin(user))


admin.site.has_permission = _site_permission
admin.site.site_header = admin.site.site_title = "准格尔旗矛盾纠纷地图 · 管理"
_each_context = admin.site.each_context


def _banner_each_context(request) -> dict:
    """The admin's header names the admin's own banner (several banners per deployment), as the site's pages do."""
    context = _each_context(request)
    context["site_header"] = context["site_title"] = f"{site_name(request.user)} · 管理"
    return context


admin.site.each_context = _banner_each_context

ADMIN_REFUSAL = (
    "管理后台只供旗级管理员维护人员、单位和分流规则。 / "
    "The admin is for the banner admin, who manages staff, units and routing rules."
)
_admin_view = admin.site.admin_view


def _refusing_admin_view(view, cacheable: bool = False):
    """Django's admin_view, but a signed-in user whose role has no admin (planners, officers, grid workers…) gets the
    site's Chinese 403 naming their role and what they may use — not the admin's login form inviting them to sign
    in as someone else. Signing out stays open to them."""
    wrapped = _admin_view(view, cacheable)

    @functools.wraps(view)
    def inner(request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not _site_permission(request) and view.__name__ != "logout":
            raise PermissionDenied(ADMIN_REFUSAL)
        return wrapped(request, *args, **kwargs)

    return inner


admin.site.admin_view = _refusing_admin_view
_admin_login = admin.site.login


def _login(request, extra_context=None):
    """The admin's sign-in page; a signed-in user without the admin gets the same 403 (not "sign in as another")."""
    if request.user.is_authenticated and not _site_permission(request):
        raise PermissionDenied(ADMIN_REFUSAL)
    return _admin_login(request, extra_context)


admin.site.login = _login


def _may_edit_shared_rules(user) -> bool:
    """Routing rules are one set for the whole deployment: a banner admin edits them only while every banner loaded is
    theirs (one banner, or their city's). With a second banner, one banner's admin would re-route the other's cases:
    then the city-wide admin (or a superuser) edits them; the banner admins read them."""
    prefix = banner_codes_seen(user) or ""
    return bool(prefix) and all(code.startswith(prefix) for code in Banner.objects.values_list("code", flat=True))


def _open_to_banner_admin(model, model_admin) -> None:
    """Let the banner admin read `model` and do what BANNER_ADMIN_EDITS says, on top of the class's own rules."""
    own = {
        name: getattr(model_admin, f"has_{name}_permission") for name in ("module", "view", "add", "change", "delete")
    }
    may = BANNER_ADMIN_EDITS.get(model, ())

    def module(request):
        return own["module"](request) or (_banner_admin(request.user) and model in BANNER_ADMIN_READS)

    def view(request, obj=None):
        return own["view"](request, obj) or (_banner_admin(request.user) and model in BANNER_ADMIN_READS)

    def act(name):
        def check(request, obj=None):
            if not _banner_admin(request.user):
                return own[name](request, obj) if name != "add" else own[name](request)
            if model is RoutingRule and not _may_edit_shared_rules(request.user):
                return False
            return name in may and not (model is User and obj is not None and obj.is_superuser)

        return check

    model_admin.has_module_permission = module
    model_admin.has_view_permission = view
    for name in ("add", "change", "delete"):
        setattr(model_admin, f"has_{name}_permission", act(name))


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Accounts: the banner admin adds and edits staff accounts, never the flags that give the whole admin."""

    FLAGS = ("is_staff", "is_superuser", "groups", "user_permissions", "last_login", "date_joined")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        banner = _admin_banner(request.user)
        if banner is None:
            return qs
        # Their banner's accounts, and accounts not yet given a role (just added, before their staff profile).
        return qs.filter(is_superuser=False).filter(Q(staff__banner_code__startswith=banner) | Q(staff__isnull=True))

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, *self.FLAGS) if _banner_admin(request.user) else fields


for _model, _model_admin in list(admin.site._registry.items()):
    _open_to_banner_admin(_model, _model_admin)
