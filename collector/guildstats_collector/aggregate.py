"""Aggregated mode (seed 001 "agrégation côté Bot"), off by default: the collector counts messages,
voice minutes and reactions locally and sends ``METRICS_SNAPSHOT`` every ``snapshot_interval``
and ``MEMBER_ACTIVITY_SNAPSHOT`` every ``member_activity_interval`` instead of one event per
message. Fewer events, less exact: a snapshot's per-member and per-channel maps keep the top
``max_top_*`` entries (the totals stay whole), and the server counts one snapshot kind per guild
(the first it sees). Raw mode is exact.

Voice minutes are split at period edges: an open session contributes the part of it that lies in
each period, so a long session is not credited to the period it ends in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from guildstats_collector import events
from guildstats_collector.config import AggregateSettings
from guildstats_collector.pipeline import Collector

log = logging.getLogger(__name__)


@dataclass
class _Period:
    start_ms: int
    messages: Counter[tuple[int, int]] = field(default_factory=Counter)  # (user, channel)
    # (user, channel) → minutes
    voice: defaultdict[tuple[int, int], float] = field(default_factory=lambda: defaultdict(float))
    reactions_by_emoji: Counter[str] = field(default_factory=Counter)
    reactions_added: Counter[int] = field(default_factory=Counter)
    reactions_received: Counter[int] = field(default_factory=Counter)
    last_seen: dict[int, int] = field(default_factory=dict)


class Aggregator:
    """Two independent accumulators per guild: one per snapshot kind and interval."""

    KINDS = ("METRICS_SNAPSHOT", "MEMBER_ACTIVITY_SNAPSHOT")

    def __init__(
        self,
        collector: Collector,
        settings: AggregateSettings,
        now_ms: Callable[[], int] = events.now_ms,
    ) -> None:
        self._collector = collector
        self._settings = settings
        self._now_ms = now_ms
        self._periods: dict[str, dict[int, _Period]] = {kind: {} for kind in self.KINDS}
        self._voice: dict[tuple[int, int], tuple[int, int]] = {}  # (guild, user) → (channel, since)
        self._tasks: list[asyncio.Task[None]] = []

    # --- counting ---------------------------------------------------------------------------------
    def _each(self, guild_id: int) -> list[_Period]:
        now = self._now_ms()
        return [
            periods.setdefault(guild_id, _Period(start_ms=now))
            for periods in self._periods.values()
        ]

    def message(self, guild_id: int, user_id: int, channel_id: int) -> None:
        if not self._settings.track_messages:
            return
        now = self._now_ms()
        for period in self._each(guild_id):
            period.messages[(user_id, channel_id)] += 1
            period.last_seen[user_id] = now

    def reaction(self, guild_id: int, user_id: int, emoji: str, author_id: int | None) -> None:
        if not self._settings.track_reactions:
            return
        now = self._now_ms()
        for period in self._each(guild_id):
            period.reactions_by_emoji[emoji[:100] or "?"] += 1
            period.reactions_added[user_id] += 1
            if author_id is not None:
                period.reactions_received[author_id] += 1
            period.last_seen[user_id] = now

    def voice(self, guild_id: int, user_id: int, channel_id: int | None) -> None:
        """The member is now in ``channel_id`` (None: left)."""
        if not self._settings.track_voice:
            return
        now = self._now_ms()
        key = (guild_id, user_id)
        self._close_voice(key, now)
        if channel_id is not None:
            self._voice[key] = (channel_id, now)
            self._each(guild_id)

    def _close_voice(self, key: tuple[int, int], now: int) -> None:
        open_session = self._voice.pop(key, None)
        if open_session is None:
            return
        channel_id, since = open_session
        guild_id, user_id = key
        for period in self._each(guild_id):
            start = max(since, period.start_ms)
            if now > start:
                period.voice[(user_id, channel_id)] += (now - start) / 60000
            period.last_seen[user_id] = now

    # --- sending ----------------------------------------------------------------------------------
    def launch(self) -> None:
        intervals = {
            "METRICS_SNAPSHOT": self._settings.snapshot_interval,
            "MEMBER_ACTIVITY_SNAPSHOT": self._settings.member_activity_interval,
        }
        for kind, every in intervals.items():
            if kind == "MEMBER_ACTIVITY_SNAPSHOT" and not self._settings.track_detailed_members:
                continue
            self._tasks.append(
                asyncio.create_task(self._loop(kind, every), name=f"guildstats {kind}")
            )

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self.flush_all()

    async def _loop(self, kind: str, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                self.flush(kind)
            except Exception:
                log.exception("%s failed", kind)

    def flush_all(self) -> None:
        for kind in self.KINDS:
            self.flush(kind)

    def flush(self, kind: str) -> None:
        """Close the current period of every guild: emit its snapshot, start the next."""
        now = self._now_ms()
        # open voice sessions: credit their part of this period, keep them open
        for (guild_id, user_id), (channel_id, since) in list(self._voice.items()):
            period = self._periods[kind].get(guild_id)
            if period is not None:
                start = max(since, period.start_ms)
                if now > start:
                    period.voice[(user_id, channel_id)] += (now - start) / 60000
        periods, self._periods[kind] = self._periods[kind], {}
        for guild_id, period in periods.items():
            build = _metrics if kind == "METRICS_SNAPSHOT" else _member_activity
            data = build(period, now, self._settings)
            if data is not None:
                self._collector.emit(events.event(kind, guild_id, timestamp=now, data=data))
        for guild_id, _user_id in self._voice:  # sessions still open start the next period
            self._periods[kind].setdefault(guild_id, _Period(start_ms=now))


def _top(counter: Mapping[Any, float], n: int | None) -> dict[str, Any]:
    """The ``n`` largest (all when None), largest first, ties in insertion order (as
    ``Counter.most_common``)."""
    ranked = sorted(counter.items(), key=lambda item: item[1], reverse=True)
    return {
        str(key): round(value, 3) if isinstance(value, float) else value
        for key, value in ranked[:n]
    }


def _metrics(period: _Period, end: int, settings: AggregateSettings) -> dict[str, Any] | None:
    if not (period.messages or period.voice or period.reactions_by_emoji):
        return None
    by_channel: Counter[int] = Counter()
    by_member: Counter[int] = Counter()
    for (user, channel), n in period.messages.items():
        by_channel[channel] += n
        by_member[user] += n
    voice_channel: defaultdict[int, float] = defaultdict(float)
    voice_member: defaultdict[int, float] = defaultdict(float)
    for (user, channel), minutes in period.voice.items():
        voice_channel[channel] += minutes
        voice_member[user] += minutes
    return {
        "periodStart": period.start_ms,
        "periodEnd": end,
        "metrics": {
            "messages": {
                "total": sum(period.messages.values()),
                "byChannel": _top(by_channel, settings.max_top_channels),
                "byMember": _top(by_member, settings.max_top_members),
            },
            "voice": {
                "totalMinutes": round(sum(period.voice.values()), 3),
                "byChannel": _top(voice_channel, settings.max_top_channels),
                "byMember": _top(voice_member, settings.max_top_members),
            },
            "reactions": {
                "total": sum(period.reactions_by_emoji.values()),
                "byEmoji": _top(period.reactions_by_emoji, settings.max_top_emojis),
                "byMember": _top(period.reactions_added, settings.max_top_members),
            },
        },
    }


def _member_activity(
    period: _Period, end: int, settings: AggregateSettings
) -> dict[str, Any] | None:
    members: dict[int, dict[str, Any]] = defaultdict(
        lambda: {
            "messages": {"total": 0, "byChannel": Counter()},
            "voice": {"totalMinutes": 0.0, "byChannel": Counter()},
            "reactions": {"added": 0, "received": 0},
        }
    )
    for (user, channel), n in period.messages.items():
        members[user]["messages"]["total"] += n
        members[user]["messages"]["byChannel"][channel] += n
    for (user, channel), minutes in period.voice.items():
        members[user]["voice"]["totalMinutes"] += minutes
        members[user]["voice"]["byChannel"][channel] += minutes
    for user, n in period.reactions_added.items():
        members[user]["reactions"]["added"] += n
    for user, n in period.reactions_received.items():
        members[user]["reactions"]["received"] += n
    if not members:
        return None
    out = []
    for user, entry in sorted(members.items()):
        entry["userId"] = str(user)
        entry["messages"]["byChannel"] = _top(entry["messages"]["byChannel"], None)
        entry["voice"]["byChannel"] = _top(entry["voice"]["byChannel"], None)
        entry["voice"]["totalMinutes"] = round(entry["voice"]["totalMinutes"], 3)
        if user in period.last_seen:
            entry["lastSeen"] = period.last_seen[user]
        out.append(entry)
    return {"periodStart": period.start_ms, "periodEnd": end, "members": out}
