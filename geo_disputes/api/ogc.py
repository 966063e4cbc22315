"""OGC API – Features endpoints under /ogc/: authentication (token or session) and content negotiation only.

The documents come from services/ogc.py. One resource, two representations, as the standard requires of a URL
(JSON/GeoJSON for clients, HTML for a browser): `?f=json|html` decides, else the Accept header (a browser's
`text/html` gets HTML). Errors are the standard's exception document `{code, description}` with 400 or 404.
A browser without a session is sent to the login page; a client without a token gets 401, as the JSON API.
"""

from __future__ import annotations

import json

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from rest_framework.exceptions import NotAuthenticated
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.views import APIView

from geo_disputes.services import ogc
from geo_disputes.services.ops.menus import banner_label

FORMATS = {"json": False, "geojson": False, "html": True}


def wants_html(request) -> bool:
    fmt = request.GET.get("f", "")
    if fmt:
        if fmt not in FORMATS:
            raise ogc.OgcError(f"f: json 或 html / json or html: {fmt!r}", "f")
        return FORMATS[fmt]
    accept = request.META.get("HTTP_ACCEPT", "")
    return "text/html" in accept and "json" not in accept


def base_url(request) -> str:
    return request.build_absolute_uri("/ogc").rstrip("/")


class ByParameter(BaseContentNegotiation):
    """The representation is chosen by `wants_html` in the view, not by DRF's renderers (a browser's
    `Accept: text/html` would otherwise be refused with 406 before the view runs)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class OgcView(APIView):
    """Shared handling: the standard's error document, and a login page for a browser without a session."""

    content_negotiation_class = ByParameter

    def handle_exception(self, exc):
        if isinstance(exc, ogc.OgcError):
            code = "NotFound" if exc.status == 404 else "InvalidParameterValue"
            body = {"code": code, "description": str(exc), **({"parameter": exc.parameter} if exc.parameter else {})}
            return HttpResponse(
                json.dumps(body, ensure_ascii=False), status=exc.status, content_type="application/json"
            )
        if isinstance(exc, NotAuthenticated) and _html_safe(self.request):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)

    def answer(self, request: Request, document: dict | str, template: str, context: dict, media: str = ogc.JSON):
        if wants_html(request):
            return render(request, f"ogc/{template}.html", {"doc": context, "base": base_url(request)})
        text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False)
        return HttpResponse(text, content_type=media)


class LandingView(OgcView):
    def get(self, request: Request) -> HttpResponse:
        document = ogc.landing(base_url(request), banner_label(request.user))
        return self.answer(request, document, "landing", document)


class ApiDefinitionView(OgcView):
    def get(self, request: Request) -> HttpResponse:
        if wants_html(request):
            return redirect_to_docs(request)
        document = ogc.api_definition(base_url(request), request.user)
        return HttpResponse(json.dumps(document, ensure_ascii=False), content_type=ogc.OPENAPI)


def redirect_to_docs(request) -> HttpResponse:
    """The API's definition read by a person: the README's section (in the landing page's HTML) is the guide."""
    return redirect(f"{base_url(request)}/?f=html")


class ConformanceView(OgcView):
    def get(self, request: Request) -> HttpResponse:
        document = ogc.conformance()
        return self.answer(request, document, "conformance", document)


class CollectionsView(OgcView):
    def get(self, request: Request) -> HttpResponse:
        document = ogc.collections(base_url(request), request.user)
        return self.answer(request, document, "collections", document)


class CollectionView(OgcView):
    def get(self, request: Request, collection_id: str) -> HttpResponse:
        found = ogc.collection(collection_id)
        document = ogc.describe(base_url(request), found, request.user)
        return self.answer(request, document, "collection", document)


class ItemsView(OgcView):
    def get(self, request: Request, collection_id: str) -> HttpResponse:
        found = ogc.collection(collection_id)
        text, facts = ogc.items(base_url(request), found, request.user, request.GET)
        if wants_html(request):
            page = json.loads(text)
            context = {"collection": ogc.describe(base_url(request), found, request.user), "page": page, **facts}
            for link in facts["links"]:
                if link["rel"] in ("next", "prev"):
                    context[f"{link['rel']}_html"] = link["href"].replace("f=json", "f=html")
            return self.answer(request, text, "items", context)
        return HttpResponse(text, content_type=ogc.GEOJSON)


class ItemView(OgcView):
    def get(self, request: Request, collection_id: str, feature_id: str) -> HttpResponse:
        found = ogc.collection(collection_id)
        feature = ogc.item(base_url(request), found, request.user, feature_id, request.GET)
        context = {"collection": ogc.describe(base_url(request), found, request.user), "feature": feature}
        return self.answer(request, feature, "item", context, media=ogc.GEOJSON)


def _html_safe(request) -> bool:
    try:
        return wants_html(request)
    except ogc.OgcError:
        return False
