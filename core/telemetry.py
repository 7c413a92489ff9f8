"""Prometheus instruments of the pipeline, where every stage can record into them.

Counters and histograms use prometheus_client's multiprocess mode (files under
``PROMETHEUS_MULTIPROC_DIR``), so the ASGI server and the Celery workers of one host add up in
one /metrics answer. Gauges that describe shared state (processing lag, pending batches) are
read from the database at scrape time instead, so every host reports the same truth.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from celery.signals import task_postrun, task_prerun
from prometheus_client import Counter, Histogram

EVENTS = Counter("guildstats_ingest_events_total", "Events received, by outcome.", ["outcome"])
REJECTED = Counter(
    "guildstats_ingest_rejected_total", "Events rejected at ingest, by reason.", ["reason"]
)
UNKNOWN_TYPES = Counter(
    "guildstats_ingest_unknown_type_total",
    "Valid events of a type we do not process (stored raw, not counted).",
)
FRAMES = Counter(
    "guildstats_ingest_frames_total",
    "Frames and bodies received, by transport and result.",
    ["transport", "result"],
)
INGEST_SECONDS = Histogram(
    "guildstats_ingest_seconds",
    "Time to validate and commit one frame.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PROCESSED = Counter("guildstats_processed_events_total", "Events applied to member statistics.")
TASK_SECONDS = Histogram(
    "guildstats_task_duration_seconds",
    "Duration of Celery tasks.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


_task_started: dict[str, float] = {}  # task id -> start, in this worker process only


@task_prerun.connect
def _task_started_at(task_id: str | None = None, **kwargs: object) -> None:
    if task_id:
        _task_started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(task_id: str | None = None, task: object = None, **kwargs: object) -> None:
    started = _task_started.pop(task_id or "", None)
    if started is not None:
        name = str(getattr(task, "name", "unknown")).rsplit(".", 1)[-1]
        TASK_SECONDS.labels(name).observe(time.perf_counter() - started)


def record_ingest(
    *,
    transport: str,
    accepted: int,
    duplicates: int,
    rejected: Mapping[str, int],
    unknown_types: int,
    seconds: float,
) -> None:
    FRAMES.labels(transport, "ack").inc()
    if accepted:
        EVENTS.labels("accepted").inc(accepted)
    if duplicates:
        EVENTS.labels("duplicate").inc(duplicates)
    for reason, count in rejected.items():
        REJECTED.labels(reason).inc(count)
    if unknown_types:
        UNKNOWN_TYPES.inc(unknown_types)
    INGEST_SECONDS.observe(seconds)


def record_frame_error(transport: str, code: str) -> None:
    FRAMES.labels(transport, code).inc()
