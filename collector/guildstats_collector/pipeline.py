"""listener → ``Collector.emit`` → spool → due frame → sent → ack → deleted.

``emit`` never blocks a listener and never waits for the network: it gives the event its client
``id``, serialises it and queues it for the spool, which a group commit writes within a few
milliseconds (at once for the immediate types). The sender reads only from the spool, so nothing
is sent that is not stored. It sends one frame at a time, oldest events first, and retries with a
capped exponential backoff and jitter; the spool keeps everything meanwhile.

What each answer does: 200 → the ack's rejected events go to the dead letters (logged with the
server's reason), the rest are deleted; 401/403 → ``BotTokenRefused``, the sender stops (the
events stay spooled for a corrected token); 413 → the frame is split in two (one event alone
that is still too large is dead-lettered); 400 → split likewise, a lone event dead-lettered with
the reason; 429 → wait ``Retry-After``; 5xx, 503, timeouts, refused connections → retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from guildstats_collector.batching import Batcher
from guildstats_collector.config import ALL_TYPES, IMMEDIATE_TYPES, Settings
from guildstats_collector.spool import Spool, SpooledEvent
from guildstats_collector.transport import HttpTransport, Response, TransientError, Transport

log = logging.getLogger("guildstats_collector")

GROUP_COMMIT_SECONDS = 0.005
GROUP_COMMIT_EVENTS = 2000
PROBE_SECONDS = 1.0  # during an outage, how often an empty frame asks if guildstats is back


class BotTokenRefused(Exception):
    """guildstats answered 401/403: the bot token is wrong or revoked."""


@dataclass
class Counters:
    emitted: int = 0
    frames: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    retries: int = 0
    dead_lettered: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


def new_event_id() -> str:
    return uuid.uuid4().hex


class Collector:
    def __init__(
        self,
        settings: Settings,
        *,
        transport: Transport | None = None,
        spool: Spool | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.spool = spool or Spool(
            settings.spool_path,
            max_events=settings.spool_max_events,
            max_bytes=settings.spool_max_bytes,
            max_age=settings.spool_max_age,
        )
        self.transport: Transport = transport or HttpTransport(
            settings.guildstats_url, settings.bot_token, timeout=settings.request_timeout
        )
        self.batcher = Batcher(settings, clock)
        self._disabled = frozenset(t for t in ALL_TYPES if not settings.enabled(t))
        self.counters = Counters()
        self.fatal: BaseException | None = None
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - backoff jitter, not a secret
        self._down_since: float | None = None  # since when guildstats has not accepted a frame
        self._buffer: list[tuple[str, bytes]] = []
        self._flush_handle: asyncio.Handle | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._maintenance: asyncio.Task[None] | None = None
        if self.spool.count:
            self.batcher.backlog()

    # --- the listeners' side ----------------------------------------------------------------------
    def emit(self, event: dict[str, Any]) -> bool:
        """Queue one event (a ``BotEventDto`` dict) for the spool; False when its type is off."""
        kind = event["type"]
        if kind in self._disabled or (kind not in ALL_TYPES and not self.settings.enabled(kind)):
            return False
        if not event.get("id"):
            event["id"] = new_event_id()
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        return self._queue(kind, event["id"], body)

    def emit_encoded(self, kind: str, event_id: str, body: bytes) -> bool:
        """Queue one event already serialised (compact JSON with its ``id``), like ``emit``: a
        directory chunk, written entry by entry as it is built."""
        if kind in self._disabled or (kind not in ALL_TYPES and not self.settings.enabled(kind)):
            return False
        return self._queue(kind, event_id, body)

    def _queue(self, kind: str, event_id: str, body: bytes) -> bool:
        self.counters.emitted += 1
        self.counters.by_type[kind] = self.counters.by_type.get(kind, 0) + 1
        if len(body) + 2 > self.settings.frame_max_bytes:
            reason = f"event of {len(body)} bytes exceeds the frame limit"
            log.error("%s %s not sent: %s", kind, event_id, reason)
            self.spool.dead_letter_unsent(kind, body, reason)
            self.counters.dead_lettered += 1
            return True
        self._buffer.append((kind, body))
        self.batcher.added(kind)
        if kind in IMMEDIATE_TYPES or len(self._buffer) >= GROUP_COMMIT_EVENTS:
            self._schedule_flush(0)
        else:
            self._schedule_flush(GROUP_COMMIT_SECONDS)
        return True

    def flush(self) -> None:
        """Write the queued events to the spool now (one transaction) and wake the sender."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self.spool.append(batch)
        if self._wake is not None:
            self._wake.set()

    def _schedule_flush(self, delay: float) -> None:
        if delay > 0 and self._flush_handle is not None:
            return  # a group commit is already on its way
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): write through
            self.flush()
            return
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self._flush_handle = (
            loop.call_soon(self.flush) if delay == 0 else loop.call_later(delay, self.flush)
        )

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None:
            return
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._send_loop(), name="guildstats sender")
        self._maintenance = asyncio.create_task(self._expire_loop(), name="guildstats spool")

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Write what is queued, try to send the spool for ``drain_timeout`` seconds, stop. What
        is still unacknowledged stays in the spool for the next start."""
        self.flush()
        if self._task is not None and not self._task.done() and self.spool.count:
            self.batcher.backlog()
            if self._wake is not None:
                self._wake.set()
            deadline = time.monotonic() + drain_timeout
            while self.spool.count and time.monotonic() < deadline and not self._task.done():
                await asyncio.sleep(0.02)
        for task in (self._task, self._maintenance):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = self._maintenance = None
        await self.transport.close()

    async def wait_drained(self, timeout: float) -> bool:
        """Wait until every spooled event is acknowledged (tests, the benchmark)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.flush()
            if not self.spool.count and not self._buffer:
                return True
            if self.fatal is not None:
                return False
            await asyncio.sleep(0.01)
        return False

    # --- the sender -------------------------------------------------------------------------------
    async def _send_loop(self) -> None:
        assert self._wake is not None  # noqa: S101 - set by start(), which runs this loop
        try:
            while True:
                self.flush()
                if not self.spool.count:
                    self.batcher.drained()
                delay = self.batcher.delay()
                if delay is None and self.spool.count:
                    self.batcher.backlog()
                    delay = 0.0
                if delay is None or delay > 0:
                    self._wake.clear()
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel
                    # that lands as the event is set (stop() does both), and stop() then hung
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._wake.wait()
                    continue
                frame = self.spool.oldest(
                    self.settings.frame_max_events, self.settings.frame_max_bytes - 2
                )
                if frame:
                    await self._deliver(frame)
        except BotTokenRefused as exc:
            self.fatal = exc
            log.error("%s", exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: say it loudly, the events stay spooled
            self.fatal = exc
            log.exception("guildstats sender stopped")

    async def _deliver(self, frame: list[SpooledEvent]) -> None:
        attempt = 0
        while True:
            body = b"[" + b",".join(event.body for event in frame) + b"]"
            try:
                answer = await self.transport.post(body)
            except TransientError as exc:
                attempt = await self._backoff(attempt, f"send failed ({exc})")
                continue
            if answer.status == 200 and answer.ack is not None:
                self._recovered()
                self._apply_ack(frame, answer)
                return
            if answer.status in (401, 403):
                raise BotTokenRefused(
                    f"guildstats refused the bot token ({answer.status}): check "
                    "GUILDSTATS_BOT_TOKEN (create one with `manage.py create_bot_token`)"
                )
            if answer.status in (400, 413):
                if len(frame) == 1:
                    reason = f"{answer.status}: {answer.text or 'refused'}"
                    log.error("%s %s dead-lettered: %s", frame[0].type, frame[0].seq, reason)
                    self.spool.dead_letter(frame, reason)
                    self.counters.dead_lettered += 1
                    return
                half = len(frame) // 2
                await self._deliver(frame[:half])
                await self._deliver(frame[half:])
                return
            if answer.status == 429 and answer.retry_after is not None:
                self.counters.retries += 1
                await self._sleep(answer.retry_after)
                continue
            attempt = await self._backoff(attempt, f"guildstats answered {answer.status}")

    def _apply_ack(self, frame: list[SpooledEvent], answer: Response) -> None:
        ack = answer.ack or {}
        rejected: dict[int, str] = {}
        for item in ack.get("rejected") or []:
            index = item.get("index") if isinstance(item, dict) else None
            if isinstance(index, int) and 0 <= index < len(frame):
                rejected[index] = str(item.get("error", "rejected"))[:1000]
        for index, reason in rejected.items():
            log.warning("guildstats rejected %s: %s", frame[index].type, reason)
        self.spool.acknowledge(frame, rejected)
        self.counters.frames += 1
        self.counters.accepted += int(ack.get("accepted") or 0)
        self.counters.duplicates += int(ack.get("duplicates") or 0)
        self.counters.rejected += len(rejected)
        self.counters.dead_lettered += len(rejected)

    async def _backoff(self, attempt: int, why: str) -> int:
        """Capped exponential backoff with equal jitter (a random half to whole of the ceiling),
        cut short once guildstats accepts frames again; returns the next attempt number."""
        ceiling = min(self.settings.backoff_cap, self.settings.backoff_base * (2**attempt))
        delay = self._rng.uniform(ceiling / 2, ceiling)
        self.counters.retries += 1
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(
                "guildstats at %s unreachable (%s): events are kept in the spool (%s waiting)",
                self.settings.guildstats_url,
                why,
                self.spool.count,
            )
        # the first failure said so above; a long outage is recalled now and then
        level = (
            logging.WARNING if attempt == 5 or (attempt and attempt % 20 == 0) else logging.DEBUG
        )
        log.log(
            level, "%s; retry %s in %.1fs (%s spooled)", why, attempt + 1, delay, self.spool.count
        )
        await self._wait_or_accepting(delay)
        return min(attempt + 1, 30)

    async def _wait_or_accepting(self, delay: float) -> None:
        """Sleep ``delay``, or less: every ``PROBE_SECONDS`` an empty frame (what the standalone
        runner's preflight sends; not ``/health``, which also answers 503 for reasons that do
        not block ingest) asks whether guildstats accepts frames again, so a backlog starts
        draining within about that long of its return rather than at the next backoff step."""
        if delay <= PROBE_SECONDS:
            await self._sleep(delay)
            return
        waiter = asyncio.ensure_future(self._sleep(delay))
        prober = asyncio.ensure_future(self._probe())
        try:
            await asyncio.wait({waiter, prober}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiter, prober):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _probe(self) -> None:
        while True:
            await asyncio.sleep(PROBE_SECONDS)
            try:
                answer = await self.transport.post(b"[]")
            except TransientError:
                continue
            if answer.status == 200:
                return

    def _recovered(self) -> None:
        if self._down_since is not None:
            log.warning(
                "guildstats at %s accepts events again after %.0fs: sending the %s spooled",
                self.settings.guildstats_url,
                time.monotonic() - self._down_since,
                self.spool.count,
            )
            self._down_since = None

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(600)
            try:
                self.spool.expire()
            except Exception:  # the disk, say: the next round tries again
                log.exception("spool expiry failed")
