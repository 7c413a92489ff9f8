"""Run task deliveries on several threads at once, as concurrent Celery workers would."""

from __future__ import annotations

import random
import threading

from django.db import connections

from pipeline import drain as processing


def process_concurrently(
    batch_ids: list[int], *, workers: int = 4, copies: int = 2, seed: int = 5
) -> list[BaseException]:
    """Deliver every batch's task ``copies`` times, shuffled, to ``workers`` threads that each
    run what the task runs (a busy shard is left to its holder, which re-checks for pending
    batches after releasing its lock); return the errors raised."""
    deliveries = batch_ids * copies
    random.Random(seed).shuffle(deliveries)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            while True:
                with lock:
                    if not deliveries:
                        return
                    batch_id = deliveries.pop()
                processing.process_batches([batch_id], wait=False)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
