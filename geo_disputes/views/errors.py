"""Error pages in the site's layout, in Chinese (English when switched): never Django's debug pages.

404 and 403 use Django's own handlers with templates/404.html and 403.html (they render with the request,
so the menu shows). A 500 renders 500.html with the request when it can — and without it when the error
came from what the layout itself needs (the session, the user), so the page of last resort never fails.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader


def server_error(request: HttpRequest) -> HttpResponse:
    try:
        return render(request, "500.html", status=500)
    except Exception:  # noqa: BLE001 — the error page must answer whatever broke
        return HttpResponseServerError(loader.get_template("500.html").render({}))
