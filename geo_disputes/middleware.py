"""A database outage becomes a clean 503, and the next request reconnects by itself; a path with a NUL is a 400.

While PostgreSQL restarts or is unreachable, a request that touches the database raises
OperationalError or InterfaceError. Instead of a 500 (with a traceback in debug), the client gets
503 Service Unavailable with Retry-After: a bilingual page, or `{"detail": ...}` under /api/.
The page is rendered without the request's context, so building it touches no database.

Nothing is restarted: Django marks the failed connection (errors_occurred) and, with
CONN_HEALTH_CHECKS on, closes an unusable one when the request finishes and checks a reused one
before the next request, so service resumes as soon as the database is back.

The language middleware is here too: the pages speak Chinese unless the user chose English.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import patch_vary_headers

logger = logging.getLogger("geo_disputes.db_outage")

RETRY_AFTER_SECONDS = 30
API_PREFIX = "/api/"


def is_api_request(request) -> bool:
    """Requests to the JSON API get JSON answers (errors included); everything else gets pages."""
    return request.path.startswith(API_PREFIX)


DETAIL = "数据库暂时不可用，请稍后重试。The database is temporarily unavailable; please try again shortly."


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error(
            "database unavailable, answered 503: %s %s: %s: %s",
            request.method,
            request.path,
            type(exception).__name__,
            str(exception).strip(),
        )
        if is_api_request(request):
            response = JsonResponse({"detail": DETAIL}, status=503)
        else:
            html = render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS})
            response = HttpResponse(html, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response


NUL_PATH_DETAIL = "路径含有 NUL 字符 / the path contains a NUL character (%00)"


class NulInPathMiddleware:
    """A URL path with %00 is refused (400) before any view: a NUL reaches no database lookup
    (PostgreSQL refuses it in a string literal: a 500), whichever route, API or page, it would match."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" not in request.path:
            return self.get_response(request)
        if is_api_request(request):
            return JsonResponse({"path": NUL_PATH_DETAIL}, status=400)
        return HttpResponse(NUL_PATH_DETAIL, status=400, content_type="text/plain; charset=utf-8")


class ChosenLanguageMiddleware:
    """The interface speaks Chinese unless the user chose English (the cookie /i18n/setlang/ sets).

    Why not Django's LocaleMiddleware: it also follows the browser's Accept-Language, and the county's machines,
    a phone bought elsewhere or a headless browser announce English without anyone choosing it. The banner works
    in Chinese; English is a choice, kept in the cookie, never a guess.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", language)
        return response


class ReplicaReadMiddleware:
    """Map and analysis GETs may read the streaming replica; a successful write leaves the primary's WAL position in
    a cookie, so the writer's next reads wait for the replica to have it (services/ops/replica.py). Last in
    MIDDLEWARE: its process_exception runs first, and answers a GET again on the primary when the replica failed
    under it — before DatabaseUnavailableMiddleware would call the database down."""

    SAFE = ("GET", "HEAD")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from geo_disputes.services.ops import replica

        if not replica.configured():
            return self.get_response(request)
        if request.method in self.SAFE:
            if request.path.startswith(replica.REPLICA_PATHS):
                # Who the user is, on the primary, before anything reads the replica; then the later of their own
                # last write and the last change to access (the fence) must be on the replica for it to be used.
                getattr(getattr(request, "user", None), "is_authenticated", None)
                after = replica.later(request.COOKIES.get(replica.LSN_COOKIE), replica.fence_lsn())
                with replica.reads_from_replica(after):
                    return self.get_response(request)
            return self.get_response(request)
        response = self.get_response(request)
        if response.status_code < 400:
            try:
                position = replica.primary_lsn()
            except (OperationalError, InterfaceError):
                return response
            response.set_cookie(
                replica.LSN_COOKIE,
                position,
                max_age=600,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    def process_exception(self, request, exception):
        from geo_disputes.services.ops import replica

        if not isinstance(exception, (OperationalError, InterfaceError)) or not replica.configured():
            return None
        if request.method not in self.SAFE or not request.path.startswith(replica.REPLICA_PATHS):
            return None
        replica.mark_down()
        logger.warning("replica failed during %s; answering on the primary: %s", request.path, exception)
        match = request.resolver_match
        try:
            with replica.on_primary():
                return match.func(request, *match.args, **match.kwargs)
        except (OperationalError, InterfaceError):
            return None  # the primary too: DatabaseUnavailableMiddleware answers 503
