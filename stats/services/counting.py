"""Accumulate counter deltas in memory, then write them with three set-based upserts.

A processing chunk (up to thousands of events) turns into one upsert per table rather than one
per event or per member, and the deltas commit in the same transaction that marks the chunk's
batches processed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.utils import timezone
from guildstats_contract.ids import EPOCH

from core.sql import Column, bulk_insert, greatest, register_stage
from guilds.selectors import DEFAULT_COUNTING, CountingSettings

MemberKey = tuple[int, int]
MILLISECOND = timedelta(milliseconds=1)


def local_day(ts: datetime, settings: CountingSettings) -> date:
    """The calendar day of ``ts`` in the guild's time zone."""
    return ts.date() if settings.is_utc else ts.astimezone(settings.tz).date()


def second_mark(ts: datetime) -> int:
    """Whole seconds since the epoch, rounded half up: voice durations are differences of these,
    so consecutive sessions (a chain of moves) and day splits add up exactly, with no
    per-session flooring. Integer arithmetic: float ``round`` rounds half to even, which would
    make two instants a whole number of seconds apart differ by one more or less."""
    return ((ts - EPOCH) // MILLISECOND + 500) // 1000


def split_by_day(
    start: datetime, end: datetime, settings: CountingSettings
) -> list[tuple[date, int]]:
    """Seconds of [start, end) on each local day of the guild (DST days have 23 or 25 hours)."""
    parts: list[tuple[date, int]] = []
    cursor = start
    begin_mark = second_mark(start)
    while True:
        day = local_day(cursor, settings)
        next_midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), settings.tz)
        boundary = next_midnight.astimezone(UTC)
        if boundary >= end:
            parts.append((day, second_mark(end) - begin_mark))
            return [(d, s) for d, s in parts if s > 0]
        boundary_mark = second_mark(boundary)
        parts.append((day, boundary_mark - begin_mark))
        begin_mark = boundary_mark
        cursor = boundary


class CounterDeltas:
    """Per-member, per-day and per-channel increments gathered while applying a chunk."""

    def __init__(self, settings: dict[int, CountingSettings], bots: set[MemberKey]) -> None:
        self.settings = settings
        self.bots = bots
        # member key -> [messages, voice_s, given, received,
        #                last_msg, last_voice, last_seen, is_bot]  (mixed: list[Any])
        self.members: dict[MemberKey, list[Any]] = {}
        # (guild, day, user) -> [messages, voice_s, given, received]
        self.daily: dict[tuple[int, date, int], list[int]] = {}
        # (guild, day, channel) -> [messages, voice_s]
        self.channels: dict[tuple[int, date, int], list[int]] = {}
        # (guild, day) -> [messages, voice_s, reactions]
        self.guild_days: dict[tuple[int, date], list[int]] = {}
        # counted sessions closed in this chunk: (guild, user, channel, start, end)
        self.closed_sessions: list[tuple[int, int, int, datetime, datetime]] = []
        # bot-aggregated guilds: raw activity from this instant on is counted by the bot's
        # snapshots instead (stats.services.snapshots)
        self.snapshots_since: dict[int, datetime] = {}

    # --- what counts -------------------------------------------------------------------------
    def guild(self, guild_id: int) -> CountingSettings:
        return self.settings.get(guild_id, DEFAULT_COUNTING)

    def is_counted(self, guild_id: int, user_id: int, channel_id: int | None) -> bool:
        settings = self.guild(guild_id)
        if not settings.count_bots and (guild_id, user_id) in self.bots:
            return False
        return channel_id is None or channel_id not in settings.excluded_channel_ids

    def counts_raw(self, guild_id: int, ts: datetime) -> bool:
        """Raw activity at ``ts`` counts unless the guild's bot snapshots cover it."""
        since = self.snapshots_since.get(guild_id)
        return since is None or ts < since

    # --- increments --------------------------------------------------------------------------
    def _member(self, guild_id: int, user_id: int) -> list[Any]:
        row = self.members.get((guild_id, user_id))
        if row is None:
            row = [0, 0, 0, 0, None, None, None, False]
            self.members[(guild_id, user_id)] = row
        return row

    def _day(self, guild_id: int, user_id: int, day: date) -> list[int]:
        key = (guild_id, day, user_id)
        row = self.daily.get(key)
        if row is None:
            row = self.daily[key] = [0, 0, 0, 0]
        return row

    def _channel(self, guild_id: int, day: date, channel_id: int) -> list[int]:
        key = (guild_id, day, channel_id)
        row = self.channels.get(key)
        if row is None:
            row = self.channels[key] = [0, 0]
        return row

    def _guild_day(self, guild_id: int, day: date) -> list[int]:
        row = self.guild_days.get((guild_id, day))
        if row is None:
            row = self.guild_days[(guild_id, day)] = [0, 0, 0]
        return row

    def mark_bot(self, guild_id: int, user_id: int) -> None:
        self.bots.add((guild_id, user_id))
        self._member(guild_id, user_id)[7] = True

    def seen(self, guild_id: int, user_id: int, ts: datetime) -> None:
        row = self._member(guild_id, user_id)
        if row[6] is None or ts > row[6]:
            row[6] = ts

    def add_message(self, guild_id: int, user_id: int, channel_id: int, ts: datetime) -> None:
        row = self._member(guild_id, user_id)
        row[0] += 1
        if row[4] is None or ts > row[4]:
            row[4] = ts
        if row[6] is None or ts > row[6]:
            row[6] = ts
        day = local_day(ts, self.guild(guild_id))
        self._day(guild_id, user_id, day)[0] += 1
        self._channel(guild_id, day, channel_id)[0] += 1
        self._guild_day(guild_id, day)[0] += 1

    def add_reaction_given(self, guild_id: int, user_id: int, ts: datetime) -> None:
        self._member(guild_id, user_id)[2] += 1
        self.seen(guild_id, user_id, ts)
        day = local_day(ts, self.guild(guild_id))
        self._day(guild_id, user_id, day)[2] += 1
        self._guild_day(guild_id, day)[2] += 1

    def add_reaction_received(self, guild_id: int, user_id: int, ts: datetime) -> None:
        self._member(guild_id, user_id)[3] += 1
        self._day(guild_id, user_id, local_day(ts, self.guild(guild_id)))[3] += 1

    def voice_seen(self, guild_id: int, user_id: int, ts: datetime) -> None:
        row = self._member(guild_id, user_id)
        if row[5] is None or ts > row[5]:
            row[5] = ts
        if row[6] is None or ts > row[6]:
            row[6] = ts

    def add_voice(
        self, guild_id: int, user_id: int, channel_id: int, start: datetime, end: datetime
    ) -> None:
        """Count the session [start, end) — split across the guild's days — if it counts."""
        since = self.snapshots_since.get(guild_id)
        if since is not None and end > since:
            end = max(start, since)  # the bot's snapshots count voice time from ``since`` on
        if end <= start or not self.is_counted(guild_id, user_id, channel_id):
            return
        self.closed_sessions.append((guild_id, user_id, channel_id, start, end))
        total = 0
        for day, seconds in split_by_day(start, end, self.guild(guild_id)):
            self._day(guild_id, user_id, day)[1] += seconds
            self._channel(guild_id, day, channel_id)[1] += seconds
            self._guild_day(guild_id, day)[1] += seconds
            total += seconds
        self._member(guild_id, user_id)[1] += total

    def add_aggregate(
        self,
        guild_id: int,
        day: date,
        *,
        user_id: int | None = None,
        channel_id: int | None = None,
        messages: int = 0,
        voice_seconds: int = 0,
        reactions_given: int = 0,
        reactions_received: int = 0,
        seen: datetime | None = None,
    ) -> None:
        """Counts already aggregated by a bot snapshot: a member's (``user_id``), a channel's
        (``channel_id``) or the guild's day total (neither)."""
        if user_id is not None:
            row = self._member(guild_id, user_id)
            row[0] += messages
            row[1] += voice_seconds
            row[2] += reactions_given
            row[3] += reactions_received
            if seen is not None:
                for slot, used in ((4, messages), (5, voice_seconds), (6, True)):
                    if used and (row[slot] is None or seen > row[slot]):
                        row[slot] = seen
            day_row = self._day(guild_id, user_id, day)
            day_row[0] += messages
            day_row[1] += voice_seconds
            day_row[2] += reactions_given
            day_row[3] += reactions_received
        elif channel_id is not None:
            channel_row = self._channel(guild_id, day, channel_id)
            channel_row[0] += messages
            channel_row[1] += voice_seconds
        else:
            guild_row = self._guild_day(guild_id, day)
            guild_row[0] += messages
            guild_row[1] += voice_seconds
            guild_row[2] += reactions_given

    # --- write -------------------------------------------------------------------------------
    def flush(self) -> None:
        now = timezone.now()
        _upsert_members(
            [(g, u, *row[:7], row[7], now, now) for (g, u), row in sorted(self.members.items())]
        )
        _upsert_daily([(g, d, u, *row) for (g, d, u), row in sorted(self.daily.items())])
        _upsert_channels([(g, d, c, *row) for (g, d, c), row in sorted(self.channels.items())])
        _upsert_guild_days([(g, d, *row) for (g, d), row in sorted(self.guild_days.items())])
        bulk_insert("voice_session_log", SESSION_LOG_COLUMNS, self.closed_sessions)


MEMBER_COLUMNS = (
    Column("guild_id", "bigint"),
    Column("user_id", "bigint"),
    Column("total_messages", "bigint"),
    Column("total_voice_seconds", "bigint"),
    Column("total_reactions_given", "bigint"),
    Column("total_reactions_received", "bigint"),
    Column("last_message_at", "timestamptz"),
    Column("last_voice_at", "timestamptz"),
    Column("last_seen", "timestamptz"),
    Column("is_bot", "boolean"),
    Column("created_at", "timestamptz"),
    Column("updated_at", "timestamptz"),
)
DAILY_COLUMNS = (
    Column("guild_id", "bigint"),
    Column("day", "date"),
    Column("user_id", "bigint"),
    Column("messages", "bigint"),
    Column("voice_seconds", "bigint"),
    Column("reactions_given", "bigint"),
    Column("reactions_received", "bigint"),
)
CHANNEL_COLUMNS = (
    Column("guild_id", "bigint"),
    Column("day", "date"),
    Column("channel_id", "bigint"),
    Column("messages", "bigint"),
    Column("voice_seconds", "bigint"),
)


register_stage("member_stats", MEMBER_COLUMNS)
register_stage("member_daily_stats", DAILY_COLUMNS)
register_stage("channel_daily_stats", CHANNEL_COLUMNS)
GUILD_DAY_COLUMNS = (
    Column("guild_id", "bigint"),
    Column("day", "date"),
    Column("messages", "bigint"),
    Column("voice_seconds", "bigint"),
    Column("reactions", "bigint"),
)
register_stage("guild_daily_stats", GUILD_DAY_COLUMNS)
SESSION_LOG_COLUMNS = (
    Column("guild_id", "bigint"),
    Column("user_id", "bigint"),
    Column("channel_id", "bigint"),
    Column("started_at", "timestamptz"),
    Column("ended_at", "timestamptz"),
)
register_stage("voice_session_log", SESSION_LOG_COLUMNS)


def _add(table: str, columns: Iterable[str]) -> dict[str, str]:
    return {c: f"{table}.{c} + excluded.{c}" for c in columns}


def _later(table: str, columns: Iterable[str]) -> dict[str, str]:
    return {c: greatest(f"{table}.{c}", f"excluded.{c}") for c in columns}


def _upsert_members(rows: Sequence[tuple[object, ...]]) -> None:
    t = "member_stats"
    updates = _add(
        t,
        (
            "total_messages",
            "total_voice_seconds",
            "total_reactions_given",
            "total_reactions_received",
        ),
    )
    updates |= _later(t, ("last_message_at", "last_voice_at", "last_seen"))
    updates["is_bot"] = f"({t}.is_bot OR excluded.is_bot)"
    updates["updated_at"] = "excluded.updated_at"
    bulk_insert(t, MEMBER_COLUMNS, rows, conflict=("guild_id", "user_id"), updates=updates)


def _upsert_daily(rows: Sequence[tuple[object, ...]]) -> None:
    t = "member_daily_stats"
    updates = _add(t, ("messages", "voice_seconds", "reactions_given", "reactions_received"))
    bulk_insert(t, DAILY_COLUMNS, rows, conflict=("guild_id", "day", "user_id"), updates=updates)


def _upsert_channels(rows: Sequence[tuple[object, ...]]) -> None:
    t = "channel_daily_stats"
    updates = _add(t, ("messages", "voice_seconds"))
    bulk_insert(
        t, CHANNEL_COLUMNS, rows, conflict=("guild_id", "day", "channel_id"), updates=updates
    )


def _upsert_guild_days(rows: Sequence[tuple[object, ...]]) -> None:
    t = "guild_daily_stats"
    updates = _add(t, ("messages", "voice_seconds", "reactions"))
    bulk_insert(t, GUILD_DAY_COLUMNS, rows, conflict=("guild_id", "day"), updates=updates)
