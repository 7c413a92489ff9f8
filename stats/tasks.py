"""Celery tasks: thin wrappers that take ids and call one service each.

Their durations are recorded for /metrics by the task_prerun/task_postrun signals in
``ops.metrics``, not task by task. (Celery ships no types: pyproject.toml allows its untyped
decorator here.)
"""

from __future__ import annotations

from celery import shared_task

from stats import periodic as summaries
from stats.rollups import fill as rollups
from stats.services import voice


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def close_stale_voice_sessions() -> int:
    return voice.close_stale_voice_sessions()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def fill_snapshots(granularities: list[str] | None = None) -> dict[str, int]:
    return rollups.fill_snapshots(granularities=granularities)


@shared_task
def refresh_period_summaries() -> int:
    return summaries.refresh_summaries()
