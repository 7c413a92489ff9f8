"""The pipeline's HTTP entry point: POST /api/ingest/events (the WebSocket is ``consumers``)."""

from __future__ import annotations

import logging

import msgspec
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core import telemetry
from core.db import log_storage_error
from guilds.services import authenticate_bot
from pipeline.ingest import FrameError, ingest_batch

log = logging.getLogger(__name__)


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
