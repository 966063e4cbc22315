"""The map pages: build the folium frame, render it into the site layout. Data arrives by API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .builders import court_map, field_map, render_parts
from .forms import FieldLookupForm


@login_required
def field(request: HttpRequest) -> HttpResponse:
    """Field staff and grid workers: what is here, and who is the grid worker?"""
    form = FieldLookupForm(request.GET or None)
    return render(request, "maps/field.html", {"map": render_parts(field_map()), "form": form})


@login_required
def court(request: HttpRequest) -> HttpResponse:
    """Mining-court staff: mines, their influence zones and the parcels they touch."""
    return render(request, "maps/court.html", {"map": render_parts(court_map())})
