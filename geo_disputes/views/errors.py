"""Error pages in the site's layout, in Chinese (English when switched): never Django's debug pages.

404 and 403 use Django's own handlers with templates/404.html and 403.html (they render with the request,
so the menu shows). A 500 renders 500.html with the request when it can — and without it when the error
came from what the layout itself needs (the session, the user), so the page of last resort never fails.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views import defaults

from geo_disputes.middleware import is_api_request


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An unknown URL under /api/ is a JSON 404 (a client program reads `detail`), elsewhere the Chinese page."""
    if is_api_request(request):
        body = {"detail": "找不到此地址。Not found."}
        return JsonResponse(body, status=404, json_dumps_params={"ensure_ascii": False})
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_request(request):
        return JsonResponse(
            {"detail": "服务器内部错误，已记录。Server error; it has been logged."},
            status=500,
            json_dumps_params={"ensure_ascii": False},
        )
    try:
        return render(request, "500.html", status=500)
    except Exception:  # noqa: BLE001 — the error page must answer whatever broke
        return HttpResponseServerError(loader.get_template("500.html").render({}))
