"""The map pages: build the folium frame, render it into the site layout. Data arrives by API."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from geo_disputes.api.parcels import holder_search_scope
from geo_disputes.services.areas import hearing_map
from geo_disputes.services.areas.area_scope import mines_of
from geo_disputes.services.areas.home_view import banner_extent, scope_extent, townships_in_force
from geo_disputes.services.cases.access import can_read_case_text, visible_cases

from .builders import court_map, field_map, planner_map, render_parts
from .forms import CourtFilterForm, FieldLookupForm, PlannerFilterForm


@login_required
def field(request: HttpRequest) -> HttpResponse:
    """Field staff and grid workers: what is here, and who is the grid worker?"""
    form = FieldLookupForm(request.GET or None)
    context = {
        "map": render_parts(field_map(home=scope_extent(request.user))),
        "form": form,
        # Only roles that see holders unmasked may look parcels up by holder (the API says the same).
        "holder_search": holder_search_scope(request.user) is not None,
        "offline_budget": settings.OFFLINE_PACK_BUDGET_BYTES,  # the kept area pack's limit (js/offline.js)
    }
    return render(request, "maps/field.html", context)


@login_required
def court(request: HttpRequest) -> HttpResponse:
    """Mining-court staff: mines, their influence zones, the parcels they touch and mining-related cases."""
    form = CourtFilterForm(request.GET or None)
    # The user's banner's mines only (area_scope), listed here; the page opens on their banner (several banners).
    mines = mines_of(request.user).order_by("code")
    select = form.fields["mining_area"].widget
    select.choices = [*select.choices[:1], *((code, name or code) for code, name in mines.values_list("code", "name"))]
    m = court_map(home=scope_extent(request.user))
    return render(request, "maps/court.html", {"map": render_parts(m), "form": form})


@login_required
def planner(request: HttpRequest) -> HttpResponse:
    """Planners: where disputes concentrate (rates, hot spots, clusters, heat) under one set of filters."""
    form = PlannerFilterForm(request.GET or None)
    home = scope_extent(request.user) or banner_extent()
    m = planner_map(home=home, townships=townships_in_force(user=request.user))
    return render(request, "maps/planner.html", {"map": render_parts(m), "form": form})


@login_required
def court_print(request: HttpRequest) -> HttpResponse:
    """GET /maps/court/print/?mining_area=<code>|case=<ref>&paper=A4|A3 — the hearing map as one PDF page."""
    reference = _code(request, "case")
    if reference:
        return case_map_pdf(request, reference)
    if not hearing_map.may_print_mining_area(request.user):
        raise PermissionDenied(_("只有矿区法庭和旗级管理员可以打印矿区庭审用图"))
    # Another banner's mine answers as an unknown one (area_scope).
    mine = get_object_or_404(mines_of(request.user), code=_code(request, "mining_area"))
    page = hearing_map.for_mining_area(mine, printed_by=_printer(request), on=timezone.localdate())
    return _pdf(hearing_map.render_pdf(page, request.GET.get("paper", "A4")), f"hearing-map-{mine.code}.pdf")


@login_required
def case_map_pdf(request: HttpRequest, reference: str) -> HttpResponse:
    """GET /cases/<ref>/map.pdf — the case's hearing map, for those who read the case whole (its handlers): it draws
    the exact point and the linked parcels, which a planner or field staff never get (a parcel pinpoints a
    household; they see a coarse point) — to them it does not exist, as the exchange package."""
    case = get_object_or_404(visible_cases(request.user), reference=reference)
    if not can_read_case_text(request.user, case):
        raise Http404(_("%(name)s: 无此编号") % {"name": "case"})
    page = hearing_map.for_case(case, printed_by=_printer(request), on=timezone.localdate())
    return _pdf(hearing_map.render_pdf(page, request.GET.get("paper", "A4")), f"hearing-map-{case.reference}.pdf")


def _code(request: HttpRequest, name: str) -> str:
    """A code or reference from the query: no such thing (404) when it could not be one (a NUL, too long)."""
    value = request.GET.get(name, "").strip()
    if "\x00" in value or len(value) > 100:
        raise Http404(_("%(name)s: 无此编号") % {"name": name})
    return value


def _printer(request: HttpRequest) -> str:
    return request.user.get_full_name() or request.user.get_username()


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
