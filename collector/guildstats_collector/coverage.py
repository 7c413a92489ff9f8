"""Coverage: telling guildstats when we were collecting, so that an outage reads as "not covered"
instead of a quiet day.

Per Discord shard, a ``COLLECTOR_HEARTBEAT`` says "every guild in ``guildIds`` was collected from
``since`` to ``timestamp``": ``start`` when the shard is ready (since = now), ``alive`` every
``intervalSeconds`` (since = the previous heartbeat), ``stop`` on a clean shutdown or a gateway
disconnect (since = the previous heartbeat; the window closes). A crash sends no stop: the
server lets a window without news lapse after two intervals. Heartbeats go through the spool
like every event, so an outage of guildstats loses none of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from guildstats_collector import events
from guildstats_collector.pipeline import Collector
from guildstats_contract.payloads import MAX_HEARTBEAT_GUILDS

log = logging.getLogger(__name__)

LAST_ALIVE = "last_alive_ms"
MAX_GUILD_IDS = MAX_HEARTBEAT_GUILDS  # per heartbeat (the contract's bound)


class Coverage:
    def __init__(
        self,
        collector: Collector,
        guilds_of_shard: Callable[[int], list[int]],
        shard_count: Callable[[], int],
        *,
        interval: float,
        now_ms: Callable[[], int] = events.now_ms,
    ) -> None:
        self._collector = collector
        self._guilds_of_shard = guilds_of_shard
        self._shard_count = shard_count
        self.interval = interval
        self._now_ms = now_ms
        self._since: dict[int, int] = {}  # running shards → their last heartbeat (ms)
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> frozenset[int]:
        return frozenset(self._since)

    def start(self, shard_id: int) -> None:
        if shard_id in self._since:
            return
        now = self._now_ms()
        self._since[shard_id] = now
        self._emit(shard_id, "start", now, now)

    def stop(self, shard_id: int) -> None:
        since = self._since.pop(shard_id, None)
        if since is not None:
            now = self._now_ms()
            self._emit(shard_id, "stop", since, now)
            self._remember(now)

    def stop_all(self) -> None:
        for shard_id in sorted(self._since):
            self.stop(shard_id)

    def beat(self) -> None:
        now = self._now_ms()
        for shard_id in sorted(self._since):
            self._emit(shard_id, "alive", self._since[shard_id], now)
            self._since[shard_id] = now
        if self._since:
            self._remember(now)

    def _remember(self, now: int) -> None:
        """The last moment this collector knew its guilds' state, kept in the spool: after a
        crash or a restart, the next GUILD_STATE's ``gapSince`` (voice credited up to it)."""
        self._collector.spool.remember(LAST_ALIVE, now)

    def launch(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="guildstats coverage")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.stop_all()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.beat()
            except Exception:
                log.exception("coverage heartbeat failed")

    def _emit(self, shard_id: int, state: str, since: int, timestamp: int) -> None:
        guild_ids = sorted(self._guilds_of_shard(shard_id))
        for start in range(0, len(guild_ids), MAX_GUILD_IDS):
            part = guild_ids[start : start + MAX_GUILD_IDS]
            self._collector.emit(
                events.event(
                    "COLLECTOR_HEARTBEAT",
                    part[0],
                    timestamp=timestamp,
                    shard_id=shard_id,
                    data={
                        "state": state,
                        "since": since,
                        "intervalSeconds": max(1, round(self.interval)),
                        "shardCount": self._shard_count(),
                        "guildIds": [str(g) for g in part],
                    },
                )
            )
