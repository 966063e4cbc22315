"""The installable field app: its service worker (/sw.js) and web app manifest (/manifest.webmanifest).

Grid workers open the field page and the intake form where the phone has no signal. The service
worker must sit at the site root so its scope covers /maps/field/ and /cases/new/ (a script under
/static/ could only control /static/). It is public like the login page — it holds no data, only the
list of the app shell's files (their hashed names from the static storage, so a new release is a new
worker and a new cache) — and is always revalidated (`no-cache`), so a fix reaches phones at once.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from geo_disputes.services.ops.menus import banner_name

# The app shell: what the field page and the intake form load besides folium's own assets (those
# are added by the page itself once the worker controls it: offline.js posts what the page loaded).
SHELL_STATIC = (
    "css/site.css",
    "favicon.svg",
    "js/menu.js",
    "js/offline.js",
    "js/bilingual.js",
    "js/case_map.js",
    "js/attachments.js",
    "maps/css/maps.css",
    "maps/js/layers.js",
    "maps/js/field.js",
    "maps/vendor/leaflet/leaflet.css",
    "maps/vendor/leaflet/leaflet.js",
)
# The pages kept for offline opening (network first, the kept copy when there is no network).
SHELL_PAGES = ("maps-field", "case-new", "javascript-catalog")
# What the worker answers, with no network, for any other page: say so in the user's language, and where to go.
FALLBACK_PAGE = "offline-page"


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """GET /sw.js — the service worker, scope "/", its cache named after the shell's file names."""
    shell = [static(name) for name in SHELL_STATIC]
    pages = [reverse(name) for name in SHELL_PAGES]
    version = hashlib.sha256(json.dumps([shell, pages]).encode()).hexdigest()[:12]
    # Content-hashed names (make run) never change under one name: cache first. Plain names (make dev, the
    # tests) do: the network first, so an edited script is not hidden behind the kept one.
    hashed = isinstance(staticfiles_storage, ManifestFilesMixin)
    # STATIC_URL, not static(""): the manifest storage of `make run` has no entry for "" and raised (a 500 in
    # production, so no worker ever installed there; the tests' plain storage hid it).
    config = {
        "version": version,
        "shell": shell,
        "pages": pages,
        "fallback": reverse(FALLBACK_PAGE),
        "static": settings.STATIC_URL,
        "hashed": hashed,
    }
    script = render_to_string("offline/sw.js", {"config": json.dumps(config)})
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    """GET /manifest.webmanifest — "add to home screen" opens the field page full screen."""
    body = {
        "name": _("%(banner)s矛盾纠纷 · 外业采集") % {"banner": banner_name(request.user)},
        "short_name": _("外业采集"),
        "start_url": reverse("maps-field"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b71c1c",
        "lang": get_language() or "zh-hans",
        "icons": [{"src": static("favicon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"}],
    }
    response = JsonResponse(body, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def offline_page(request: HttpRequest) -> HttpResponse:
    """GET /offline/ — kept by the worker and shown for a page that cannot open with no network (not the
    browser's own English error page): what still works offline, and the links to it."""
    response = render(request, "offline/page.html")
    response["Cache-Control"] = "no-cache"
    return response
