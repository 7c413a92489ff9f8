"""HTTP entry points of the pipeline: the ingest endpoint, /health and /metrics."""

from __future__ import annotations

import logging

import msgspec
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core import telemetry
from guilds.services import authenticate_bot
from stats.ingest.frames import FrameError, ingest_batch
from stats.operations import metrics
from stats.operations.health import health_report

log = logging.getLogger(__name__)


def log_storage_error(logger: logging.Logger, doing: str, exc: DatabaseError) -> None:
    """Log a database failure of ingest: a lost or refused connection (PostgreSQL down or
    restarting) is one warning line, as every frame fails alike during an outage; any other
    database error (a bug, a refused value) keeps its traceback."""
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("storage unavailable while %s: %s", doing, str(exc).strip())
    else:
        logger.exception("storage unavailable while %s", doing)


def _json(payload: object, status: int = 200) -> HttpResponse:
    return HttpResponse(
        msgspec.json.encode(payload), status=status, content_type="application/json"
    )


@csrf_exempt
@require_POST
def ingest_events(request: HttpRequest) -> HttpResponse:
    """POST /api/ingest/events: same body and ack as a WebSocket frame.

    While PostgreSQL is unreachable both the token lookup and the insert fail within the pool's
    timeout (config.database) and answer 503 "retry", never 500 nor a 30 s wait.
    """
    try:
        token = authenticate_bot(request.headers.get("Authorization"))
    except DatabaseError as exc:
        return _storage_unavailable("checking a bot token", exc)
    if token is None:
        telemetry.record_frame_error("http", "unauthorized")
        return _json({"type": "error", "error": "missing or invalid bot token"}, status=401)
    limit = settings.GUILDSTATS["MAX_FRAME_BYTES"]
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        telemetry.record_frame_error("http", "too_large")
        return _json(
            {
                "type": "error",
                "error": f"body of {declared} bytes exceeds the limit of {limit} bytes",
            },
            status=413,
        )
    try:
        result = ingest_batch(request.body, bot_token_id=token.pk, transport="http")
    except FrameError as exc:
        telemetry.record_frame_error("http", exc.code)
        return _json({"type": "error", "error": exc.message}, status=exc.status)
    except DatabaseError as exc:
        return _storage_unavailable("ingesting a body", exc)
    return _json(result.ack())


def _storage_unavailable(doing: str, exc: DatabaseError) -> HttpResponse:
    log_storage_error(log, doing, exc)
    telemetry.record_frame_error("http", "storage_unavailable")
    return _json(
        {"type": "error", "error": "storage unavailable, nothing was stored: retry"}, status=503
    )


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
