"""GET /health and GET /metrics."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from core.db import log_storage_error
from ops import metrics
from ops.health import health_report

log = logging.getLogger(__name__)


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    healthy, report = health_report()
    response = JsonResponse(report, status=200 if healthy else 503)
    if not healthy:
        # one line, naming what is wrong; Django would log every 503 again at ERROR
        failing = {
            name: check.get("status")
            for name, check in report["checks"].items()
            if isinstance(check, dict) and check.get("status") not in ("ok", "not_configured")
        }
        log.warning("/health answers 503: %s", failing)
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    from prometheus_client import CONTENT_TYPE_LATEST

    try:
        body = metrics.render_metrics()  # lag and pending batches are read from the database
    except DatabaseError as exc:
        log_storage_error(log, "reading /metrics", exc)
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
