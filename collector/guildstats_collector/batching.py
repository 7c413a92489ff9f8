"""When a frame is due: seed 001's ``EventBatcher`` priorities, over the spool.

The seed kept one in-memory batch per ``guild_type`` and sent each on its own; here the events
wait in the spool, and the batcher only decides *when* to send: a frame is due as soon as an
immediate type (moderation, invites, guild changes: maxSize 1) waits, when ``max_size`` events of
one type wait, or when the oldest waiting event of a type has waited its ``max_wait``. A due frame
takes the oldest spooled events of every type, up to the frame limits, and sending goes on until
the spool is empty (seed: ``flushBatch`` sends the whole batch): fewer, fuller frames than one per
guild and type, and the same latency bound for each event.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from guildstats_collector.config import Settings


class Batcher:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._waiting: dict[str, int] = {}
        self._due_at: float | None = None

    def added(self, event_type: str) -> None:
        """One event of ``event_type`` was spooled."""
        policy = self._settings.policy(event_type)
        waiting = self._waiting.get(event_type, 0) + 1
        self._waiting[event_type] = waiting
        now = self._clock()
        due = now if waiting >= policy.max_size else now + policy.max_wait
        if self._due_at is None or due < self._due_at:
            self._due_at = due

    def backlog(self) -> None:
        """Events are waiting from before (a restart, a replay): due now."""
        self._due_at = self._clock()

    def delay(self) -> float | None:
        """Seconds until a frame is due (0: now), or None when nothing waits."""
        if self._due_at is None:
            return None
        return max(0.0, self._due_at - self._clock())

    def drained(self) -> None:
        """The spool is empty: nothing waits any more."""
        self._waiting.clear()
        self._due_at = None
