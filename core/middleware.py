"""Every API endpoint and page answers 503 (with ``Retry-After``), never 500, while the database
is unreachable; everything recovers by itself when it returns (each request opens its own
connection, within ``config.database``'s connect timeout, so the 503 comes within about 2 s).

Ingest handles its own outage (its 503 names what was not stored); this covers the rest: a view
(or DRF, which re-raises what it does not know) raising a transient database error reaches
``process_exception``; one raised by another middleware reaches ``handler500``
(``unavailable_or_server_error``), where Django calls it with the exception still current.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import server_error

from core.db import is_transient

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>guildstats: unavailable</title>"
    "<meta http-equiv=refresh content=10>"
    "<body style='font-family:system-ui;margin:3rem'><h1>guildstats is unavailable</h1>"
    "<p>The database cannot be reached right now. This page retries by itself.</p></body></html>"
)


def unavailable(request: HttpRequest) -> HttpResponse:
    """The 503: JSON under /api/, a short page elsewhere."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"detail": "The database is unavailable; retry shortly."}, status=503
        )
    else:
        response = HttpResponse(PAGE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _transient(exc: BaseException | None) -> bool:
    return isinstance(exc, DatabaseError) and is_transient(exc)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not _transient(exc):
            return None  # Django's own handling (a 500 for a bug)
        # one line, not a traceback per request while the database is down
        log.warning("503 for %s: database unavailable (%s)", request.path, str(exc).strip())
        return unavailable(request)


def unavailable_or_server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a transient database error raised outside a view is a 503 too."""
    if _transient(sys.exc_info()[1]):
        return unavailable(request)
    return server_error(request)
