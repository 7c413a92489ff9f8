"""The pipeline's Celery tasks: thin wrappers that take batch ids and call one service each.

Their names are the ones they had in the ``stats`` app, so that tasks queued by a previous
version still run after an upgrade.
"""

from __future__ import annotations

from celery import shared_task

from pipeline import drain


@shared_task(name="stats.tasks.process_batches", acks_late=True)
def process_batches(batch_ids: list[int]) -> int:
    result = drain.process_batches(batch_ids, wait=False, hand_on=process_batches.delay)
    if result.leftover_batch_ids:  # a drain budget ran out with work left
        process_batches.delay(result.leftover_batch_ids)
    return result.applied


@shared_task(name="stats.tasks.sweep_unprocessed_batches")
def sweep_unprocessed_batches() -> int:
    stuck = drain.sweep_unprocessed_batches()
    for batch_id in stuck:  # one task per shard: a shard that fails never holds up another
        process_batches.delay([batch_id])
    return len(stuck)
