"""A fill range spread over several PostgreSQL connections (``fill.py`` calls this).

One statement runs on one core, so a catch-up (a day of ranges, filled one after the other)
would leave the others idle. A range is cut at bucket edges into pieces that helper threads, each
on a connection of its own, take in turn, each piece in a transaction of its own; twice as many
pieces as connections keep them all busy when pieces differ in size. The run's own connection
meanwhile holds the watermark's lock in its transaction and marks the range DONE once every piece
has committed.

A piece that fails on a helper (a connection the pool could not give, say) is done again by the
run's own connection, in its transaction, once every helper has finished: never while a helper's
transaction is open, since the run's transaction would hold locks a helper may wait for (on
TimescaleDB, the chunk that an insert creates) while the run waits for the helper. One that fails
there fails the range, which stays STARTED, and the next run deletes and redoes all of it, as
after a crash. Meanwhile a helper's piece that committed shows its buckets early, as a
sequential fill shows all of its buckets at its commit.
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
    helper connections; what a helper fails, on the caller's connection afterwards."""
    steps = (until - after) // granularity.align
    count = min(workers * PIECES_PER_CONNECTION, steps)
    if workers <= 1 or count <= 1:
        replace(after, until)
        return
    edges = [after + granularity.align * (steps * k // count) for k in range(count)] + [until]
    pieces = deque(pairwise(edges))
    failed: list[tuple[datetime, datetime]] = []

    def helper() -> None:
        try:
            while True:
                try:
                    start, end = pieces.popleft()
                except IndexError:
                    return
                try:
                    with transaction.atomic():
                        replace(start, end)
                except Exception as exc:
                    failed.append((start, end))
                    log.warning("rollup piece %s..%s left to the run: %s", start, end, exc)
                    return
        finally:
            connections.close_all()  # this thread's connections

    with ThreadPoolExecutor(min(workers, count), thread_name_prefix="rollup") as pool:
        for job in [pool.submit(helper) for _ in range(min(workers, count))]:
            job.result()
    # every helper has finished (and committed or rolled back): the rest, on this connection
    for start, end in sorted(failed + list(pieces)):
        with transaction.atomic():
            replace(start, end)
