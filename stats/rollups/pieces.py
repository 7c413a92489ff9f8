"""A fill range spread over several PostgreSQL connections (``fill.py`` calls this).

One statement runs on one core, so a catch-up (a day of ranges, filled one after the other)
would leave the others idle. A range is cut at bucket edges into pieces that the run's own
connection and helper threads, each on a connection of its own, take in turn; twice as many
pieces as connections keep them all busy when pieces differ in size.

The run's own connection does its pieces in its own transaction, which holds the watermark's
lock and marks the range DONE, so they commit with it; a helper does each piece in a transaction
of its own. A piece that fails on a helper (a connection the pool could not give, say) goes back
to the queue for the run's own connection; one that fails there fails the range, which stays
STARTED, and the next run deletes and redoes all of it, as after a crash. Meanwhile a helper's
piece that committed shows its buckets early, as a sequential fill shows all of its buckets at
its commit.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, connections, transaction

if TYPE_CHECKING:
    from stats.rollups.buckets import Granularity

log = logging.getLogger(__name__)

PIECES_PER_CONNECTION = 2


def connections_for_pieces() -> int:
    """How many connections a range may be spread over: ``ROLLUP_WORKERS`` on PostgreSQL when
    the caller holds no transaction (the other connections see only committed rows), else 1."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return max(1, settings.GUILDSTATS["ROLLUP_WORKERS"])


def in_pieces(
    granularity: Granularity,
    after: datetime,
    until: datetime,
    workers: int,
    replace: Callable[[datetime, datetime], object],
) -> None:
    """Call ``replace(start, end)`` for every piece of (after, until], on up to ``workers``
    connections (the caller's and ``workers - 1`` helper threads)."""
    steps = (until - after) // granularity.align
    count = min(workers * PIECES_PER_CONNECTION, steps)
    if workers <= 1 or count <= 1:
        replace(after, until)
        return
    edges = [after + granularity.align * (steps * k // count) for k in range(count)] + [until]
    pieces = deque(pairwise(edges))

    def take_pieces(*, helper: bool) -> None:
        while True:
            try:
                start, end = pieces.popleft()
            except IndexError:
                return
            try:
                with transaction.atomic():
                    replace(start, end)
            except Exception as exc:
                if not helper:
                    raise
                pieces.append((start, end))
                log.warning("rollup piece %s..%s handed back to the run: %s", start, end, exc)
                return

    def helper() -> None:
        try:
            take_pieces(helper=True)
        finally:
            connections.close_all()  # this thread's connections

    helpers = min(workers, count) - 1
    with ThreadPoolExecutor(helpers, thread_name_prefix="rollup") as pool:
        jobs = [pool.submit(helper) for _ in range(helpers)]
        take_pieces(helper=False)
        for job in jobs:
            job.result()
    take_pieces(helper=False)  # what a helper handed back after the queue ran dry
