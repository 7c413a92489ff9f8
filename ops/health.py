"""/health and the scrape-time gauges of /metrics: the pipeline's state, read from the database."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from core.redis import redis_client
from ops.models import WorkerHeartbeat
from pipeline.models import IngestBatch, QuarantinedEvent
from stats.models import FillState, StaleBucket, VoiceSession
from stats.rollups.buckets import GRANULARITIES, floor_time

# when this process started: the worker heartbeat's startup grace counts from here
PROCESS_STARTED = time.monotonic()


@dataclass(frozen=True)
class PipelineState:
    pending_batches: int
    processing_lag_seconds: float
    open_voice_sessions: int
    quarantined_events: int
    pending_by_shard: dict[int, int] = field(default_factory=dict)
    broker_queue: int | None = None


def pipeline_state() -> PipelineState:
    pending = IngestBatch.objects.filter(processed_at__isnull=True)
    oldest = pending.aggregate(oldest=Min("received_at"))["oldest"]
    lag = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    by_shard = dict(pending.values_list("shard").annotate(n=Count("id")).values_list("shard", "n"))
    return PipelineState(
        pending_batches=sum(by_shard.values()),
        processing_lag_seconds=max(lag, 0.0),
        open_voice_sessions=VoiceSession.objects.count(),
        quarantined_events=QuarantinedEvent.objects.count(),
        pending_by_shard=by_shard,
        broker_queue=broker_queue_length(),
    )


def broker_queue_length() -> int | None:
    """Tasks waiting in the Celery broker's default queue (None: the broker cannot be read).
    Redis: the queue's lists (one per priority step); the embedded broker: its message files."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    if settings.REDIS_URL:
        try:
            client = redis_client(settings.REDIS_URL)
            keys = [k for k in client.scan_iter(match=f"{queue}*", count=100)]
            lengths = [client.llen(k) for k in keys if client.type(k) in (b"list", "list")]
            return sum(lengths)
        except (redis.RedisError, OSError):
            return None
    folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
    try:
        return sum(1 for name in os.listdir(folder) if name.endswith(f".{queue}.msg"))
    except OSError:
        return None


def health_report() -> tuple[bool, dict[str, Any]]:
    """(healthy, report) covering database, Redis, workers and processing lag.

    ``status`` is "down" without a database, "degraded" when a check is down or critical, else
    "ok" (a lag warning alone stays "ok").
    ``healthy`` (HTTP 200, else 503) is false only for what stops the service doing its job: no
    database, no live worker, critical processing or rollup lag. Redis down is degraded but
    healthy: ingest still stores and acknowledges, the API answers from the database (the cache
    and the throttle are off, see config.cache) and the sweeper enqueues the backlog once Redis
    is back; if the outage lasts, the stale worker heartbeat turns it into a 503.
    """
    checks: dict[str, Any] = {}
    healthy = True
    degraded = False

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"status": "ok", "vendor": connection.vendor}
    except Exception as exc:
        checks["database"] = {"status": "down", "error": str(exc)}
        return False, {"status": "down", "checks": checks}

    if settings.REDIS_URL:
        try:
            client = redis_client(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
            try:
                client.ping()
            finally:
                client.close()
            checks["redis"] = {"status": "ok"}
        except Exception as exc:
            checks["redis"] = {
                "status": "down",
                "error": str(exc),
                "impact": "API cache and throttle off; processing waits for the broker",
            }
            degraded = True
    else:
        checks["redis"] = {"status": "not_configured", "mode": "embedded"}

    limits = settings.GUILDSTATS
    beat = WorkerHeartbeat.objects.order_by("-seen_at").first()
    uptime = time.monotonic() - PROCESS_STARTED
    if beat is None and uptime < limits["WORKER_STARTUP_GRACE_SECONDS"]:
        # a fresh deployment: the first heartbeat comes within 15 s of the worker and Beat
        checks["workers"] = {"status": "starting", "error": "no worker heartbeat yet"}
        degraded = True
    elif beat is None:
        checks["workers"] = {"status": "down", "error": "no worker heartbeat yet"}
        healthy = False
    else:
        age = (timezone.now() - beat.seen_at).total_seconds()
        ok = age <= limits["WORKER_HEARTBEAT_MAX_AGE_SECONDS"]
        checks["workers"] = {
            "status": "ok" if ok else "down",
            "lastHeartbeatSecondsAgo": round(age, 1),
        }
        healthy &= ok

    state = pipeline_state()
    lag = state.processing_lag_seconds
    if lag >= limits["LAG_CRITICAL_SECONDS"]:
        lag_status = "critical"
        healthy = False
    elif lag >= limits["LAG_WARNING_SECONDS"]:
        lag_status = "warning"
    else:
        lag_status = "ok"
    checks["processing"] = {
        "status": lag_status,
        "lagSeconds": round(lag, 3),
        "pendingBatches": state.pending_batches,
        "pendingBatchesByShard": {str(k): v for k, v in sorted(state.pending_by_shard.items())},
        "brokerQueue": state.broker_queue,
    }
    # quarantined events: their shards went on, so a warning (an operator replays them)
    checks["quarantine"] = {
        "status": "warning" if state.quarantined_events else "ok",
        "events": state.quarantined_events,
    }
    checks["aggregation"] = aggregation_lag()
    healthy &= checks["aggregation"]["status"] != "critical"
    status = "ok" if healthy and not degraded else "degraded"
    return healthy, {"status": status, "checks": checks}


def aggregation_lag() -> dict[str, object]:
    """How far each snapshot granularity is behind where its schedule should have it.

    A granularity is due up to ``now`` minus the grace delay, floored to its step; a watermark
    one step behind that is normal between two runs, so the lag counts from there. Stale
    buckets waiting for a refresh are reported too.
    """

    limits = settings.GUILDSTATS
    now = timezone.now()
    grace = timedelta(seconds=limits["ROLLUP_GRACE_SECONDS"])
    watermarks = dict(FillState.objects.values_list("granularity", "end_time"))
    lags: dict[str, float] = {}
    for granularity in GRANULARITIES:
        watermark = watermarks.get(granularity.name)
        if watermark is None:
            continue  # never filled: nothing to aggregate yet, or the first run is due
        due = floor_time(now - grace, granularity.align) - granularity.align
        lags[granularity.name] = max(0.0, (due - watermark).total_seconds())
    worst = max(lags.values(), default=0.0)
    if worst >= limits["AGGREGATION_LAG_CRITICAL_SECONDS"]:
        status = "critical"
    elif worst >= limits["AGGREGATION_LAG_WARNING_SECONDS"]:
        status = "warning"
    else:
        status = "ok"
    return {
        "status": status,
        "lagSeconds": {name: round(lag, 1) for name, lag in lags.items()},
        "staleBuckets": StaleBucket.objects.count(),
    }
