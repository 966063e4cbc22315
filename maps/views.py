"""The map pages: build the folium frame, render it into the site layout. Data arrives by API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from geo_disputes.api.parcels import holder_search_scope

from .builders import court_map, field_map, planner_map, render_parts
from .forms import CourtFilterForm, FieldLookupForm, PlannerFilterForm


@login_required
def field(request: HttpRequest) -> HttpResponse:
    """Field staff and grid workers: what is here, and who is the grid worker?"""
    form = FieldLookupForm(request.GET or None)
    context = {
        "map": render_parts(field_map()),
        "form": form,
        # Only roles that see holders unmasked may look parcels up by holder (the API says the same).
        "holder_search": holder_search_scope(request.user) is not None,
    }
    return render(request, "maps/field.html", context)


@login_required
def court(request: HttpRequest) -> HttpResponse:
    """Mining-court staff: mines, their influence zones, the parcels they touch and mining-related cases."""
    form = CourtFilterForm(request.GET or None)
    return render(request, "maps/court.html", {"map": render_parts(court_map()), "form": form})


@login_required
def planner(request: HttpRequest) -> HttpResponse:
    """Planners: where disputes concentrate (rates, hot spots, clusters, heat) under one set of filters."""
    form = PlannerFilterForm(request.GET or None)
    return render(request, "maps/planner.html", {"map": render_parts(planner_map()), "form": form})
