"""Celery tasks: thin wrappers that take ids and call one service each.

Their durations are recorded for /metrics by the task_prerun/task_postrun signals in
``stats.operations.metrics``, not task by task.
"""

from __future__ import annotations

import socket

from celery import shared_task

from stats.operations import heartbeat, summaries
from stats.processing import drain as processing
from stats.rollups import fill as rollups
from stats.rollups import retention


@shared_task(acks_late=True)
def process_batches(batch_ids: list[int]) -> int:
    result = processing.process_batches(batch_ids, wait=False, hand_on=process_batches.delay)
    if result.leftover_batch_ids:  # a drain budget ran out with work left
        process_batches.delay(result.leftover_batch_ids)
    return result.applied


@shared_task
def sweep_unprocessed_batches() -> int:
    stuck = processing.sweep_unprocessed_batches()
    for batch_id in stuck:  # one task per shard: a shard that fails never holds up another
        process_batches.delay([batch_id])
    return len(stuck)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def close_stale_voice_sessions() -> int:
    return processing.close_stale_voice_sessions()


@shared_task
def record_worker_heartbeat() -> None:
    heartbeat.record_worker_heartbeat(socket.gethostname())


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def apply_retention() -> dict[str, int]:
    return retention.apply_retention()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def compress_old_chunks() -> dict[str, int]:
    return retention.compress_old_chunks()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def fill_snapshots(granularities: list[str] | None = None) -> dict[str, int]:
    return rollups.fill_snapshots(granularities=granularities)


@shared_task
def refresh_period_summaries() -> int:
    return summaries.refresh_summaries()
