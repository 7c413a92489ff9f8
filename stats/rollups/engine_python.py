"""The numbers of a range of snapshots: one definition, two engines.

``compute`` returns the ``MetricsSnapshot`` rows of every bucket of a granularity that ends in
(after, until], for every guild or the given ones. PostgreSQL runs it as set-based SQL
(``stats.rollups.engine_sql``), which is what makes a day of 10M events fill in seconds;
other databases run the Python version below, which is also the reference the SQL is tested
against (tests/stats/rollups/test_rollup_engines.py). Both apply the same rules:

* every raw event counts in ``countsByType``, but a collector's heartbeats (``COVERAGE_TYPES``);
* counted activity: a member's ``MESSAGE_CREATE`` (with a channel) and ``MESSAGE_REACTION_ADD``,
  unless the member is a known bot (and the guild does not count bots), the channel is
  excluded, or the guild's bot snapshots cover the instant (``activity_sources``);
* voice: closed sessions and open ones (up to ``now``, never past the cap), clipped at the
  guild's switch to snapshots, split at bucket edges in whole seconds (instants rounded half up);
* bot snapshots: their member, channel, emoji and total rows, in the bucket of their start;
* unique active users: members with counted activity in the bucket.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db import connection
from guildstats_contract.events import COVERAGE_TYPES

from guilds.selectors import DEFAULT_COUNTING
from pipeline.models import Event
from stats.models import (
    ActivitySource,
    MetricsSnapshot,
    SnapshotActivity,
    VoiceSession,
    VoiceSessionLog,
)
from stats.rollups import engine_sql
from stats.rollups.assembly import INT_MAX
from stats.rollups.buckets import FIVE_MIN, bucket_bounds
from stats.services.counting import second_mark
from stats.services.rules import counting_rules
from stats.services.voice import session_cap

if TYPE_CHECKING:
    from stats.rollups.buckets import Granularity

TOP = 10
# "sql" on PostgreSQL; "python" forces the reference engine (tests compare the two)
ENGINE = "sql"


def compute(
    granularity: Granularity,
    after: datetime,
    until: datetime,
    now: datetime,
    guild_ids: Sequence[int] | None,
) -> int:
    """Insert the snapshots of the buckets of ``granularity`` ending in (after, until], for all
    guilds or ``guild_ids``; return how many rows were written."""
    if connection.vendor == "postgresql" and ENGINE == "sql":
        return engine_sql.compute(granularity, after, until, now, guild_ids)
    snapshots = compute_in_python(granularity, after, until, now, guild_ids)
    MetricsSnapshot.objects.bulk_create(snapshots, batch_size=2000)
    return len(snapshots)


def preview(
    after: datetime, until: datetime, now: datetime, guild_ids: Sequence[int]
) -> list[engine_sql.PreviewRow]:
    """The 5-minute buckets ending in (after, until] of ``guild_ids``, computed but not stored:
    (guild, start, end, messages, voice seconds, reactions, unique active users), by start.
    PostgreSQL computes them with the SQL engine's statement (read only)."""
    if connection.vendor == "postgresql" and ENGINE == "sql":
        return engine_sql.preview(after, until, now, guild_ids)
    rows = compute_in_python(FIVE_MIN, after, until, now, guild_ids)
    return [
        (
            row.guild_id,
            row.period_start,
            row.period_end,
            row.total_messages,
            row.total_voice_seconds,
            row.total_reactions,
            row.unique_active_users,
        )
        for row in sorted(rows, key=lambda row: row.period_start)
    ]


@dataclass
class GuildBucket:
    """One guild's activity in one bucket, as it accumulates."""

    by_type: Counter[str] = field(default_factory=Counter)
    totals: list[int] = field(default_factory=lambda: [0, 0, 0])  # messages, voice s, reactions
    messages: Counter[int] = field(default_factory=Counter)  # per member
    reactions: Counter[int] = field(default_factory=Counter)  # given, per member
    voice: Counter[int] = field(default_factory=Counter)  # seconds, per member
    channel_messages: Counter[int] = field(default_factory=Counter)
    channel_voice: Counter[int] = field(default_factory=Counter)
    emojis: Counter[str] = field(default_factory=Counter)

    def snapshot(
        self, guild_id: int, period_type: str, start: datetime, end: datetime
    ) -> MetricsSnapshot | None:
        active = {u for u in set(self.messages) | set(self.reactions) | set(self.voice)}
        active = {u for u in active if self.messages[u] or self.reactions[u] or self.voice[u]}
        if not active and not self.by_type and not any(self.totals):
            return None
        return MetricsSnapshot(
            guild_id=guild_id,
            period_type=period_type,
            period_start=start,
            period_end=end,
            # 32-bit columns: saturate, as the SQL engine does (assembly.INT_MAX)
            total_messages=min(self.totals[0], INT_MAX),
            total_voice_seconds=min(self.totals[1], INT_MAX),
            total_reactions=min(self.totals[2], INT_MAX),
            unique_active_users=len(active),
            data=self.data(active),
        )

    def data(self, active: set[int]) -> dict[str, Any]:
        scores = {u: self.messages[u] + self.reactions[u] for u in active}
        top_members = sorted(active, key=lambda u: (-scores[u], -self.voice[u], u))[:TOP]
        channels = {
            c
            for c in set(self.channel_messages) | set(self.channel_voice)
            if self.channel_messages[c] or self.channel_voice[c]
        }
        top_channels = sorted(
            channels, key=lambda c: (-self.channel_messages[c], -self.channel_voice[c], c)
        )[:TOP]
        return {
            "countsByType": dict(sorted(self.by_type.items())),
            "topChannels": [
                {
                    "channelId": str(c),
                    "messages": self.channel_messages[c],
                    "voiceSeconds": self.channel_voice[c],
                }
                for c in top_channels
            ],
            "topMembers": [
                {
                    "userId": str(u),
                    "messages": self.messages[u],
                    "reactions": self.reactions[u],
                    "voiceSeconds": self.voice[u],
                }
                for u in top_members
            ],
            "voiceSecondsByChannel": {
                str(c): s for c, s in sorted(self.channel_voice.items()) if s
            },
            "reactionsByEmoji": dict(
                sorted(((e, n) for e, n in self.emojis.items() if n), key=lambda i: (-i[1], i[0]))
            ),
        }


def emoji_name(data: object) -> str | None:
    emoji = data.get("emoji") if isinstance(data, dict) else None
    if isinstance(emoji, dict):
        emoji = emoji.get("name") or emoji.get("id")
    return str(emoji) if emoji else None


def compute_in_python(
    granularity: Granularity,
    after: datetime,
    until: datetime,
    now: datetime,
    guild_ids: Sequence[int] | None,
) -> list[MetricsSnapshot]:
    lo = after - granularity.longest
    # a collector's heartbeats say when it collected, not what happened: no bucket counts them
    events = Event.objects.filter(timestamp__gte=lo, timestamp__lt=until).exclude(
        type__in=COVERAGE_TYPES
    )
    sessions = _sessions(lo, until, now)
    contributions = SnapshotActivity.objects.filter(period_start__gte=lo, period_start__lt=until)
    if guild_ids is not None:
        events = events.filter(guild_id__in=list(guild_ids))
        sessions = [s for s in sessions if s[0] in set(guild_ids)]
        contributions = contributions.filter(guild_id__in=list(guild_ids))
    rows = list(
        events.values_list("guild_id", "type", "user_id", "channel_id", "timestamp", "data")
    )
    snapshot_rows = list(
        contributions.values_list(
            "guild_id",
            "period_start",
            "user_id",
            "channel_id",
            "emoji",
            "messages",
            "voice_seconds",
            "reactions",
        )
    )
    guilds = {r[0] for r in rows} | {s[0] for s in sessions} | {r[0] for r in snapshot_rows}
    deltas = counting_rules(guilds)
    deltas.snapshots_since.update(
        ActivitySource.objects.filter(guild_id__in=guilds).values_list(
            "guild_id", "snapshots_since"
        )
    )

    def zone(guild_id: int) -> ZoneInfo:
        return deltas.settings.get(guild_id, DEFAULT_COUNTING).tz

    buckets: dict[tuple[int, datetime, datetime], GuildBucket] = defaultdict(GuildBucket)

    def bucket_of(guild_id: int, moment: datetime) -> GuildBucket | None:
        start, end = bucket_bounds(granularity, moment, zone(guild_id))
        if not after < end <= until:
            return None
        return buckets[(guild_id, start, end)]

    for guild_id, type_, user_id, channel_id, ts, data in rows:
        bucket = bucket_of(guild_id, ts)
        if bucket is None:
            continue
        bucket.by_type[type_] += 1
        if user_id is None or not deltas.is_counted(guild_id, user_id, channel_id):
            continue
        if not deltas.counts_raw(guild_id, ts):
            continue
        if type_ == "MESSAGE_CREATE" and channel_id is not None:
            bucket.totals[0] += 1
            bucket.messages[user_id] += 1
            bucket.channel_messages[channel_id] += 1
        elif type_ == "MESSAGE_REACTION_ADD":
            bucket.totals[2] += 1
            bucket.reactions[user_id] += 1
            if name := emoji_name(data):
                bucket.emojis[name] += 1

    for guild_id, user_id, channel_id, began, ended in sessions:
        since = deltas.snapshots_since.get(guild_id)
        if since is not None:
            ended = min(ended, since)
        if ended <= began or not deltas.is_counted(guild_id, user_id, channel_id):
            continue
        cursor = max(began, lo)
        while cursor < min(ended, until):
            start, end = bucket_bounds(granularity, cursor, zone(guild_id))
            seconds = second_mark(min(ended, end)) - second_mark(max(began, start))
            if after < end <= until and seconds:
                bucket = buckets[(guild_id, start, end)]
                bucket.totals[1] += seconds
                bucket.voice[user_id] += seconds
                bucket.channel_voice[channel_id] += seconds
            cursor = end

    for guild_id, start, user_id, channel_id, emoji, messages, voice, reactions in snapshot_rows:
        bucket = bucket_of(guild_id, start)
        if bucket is None:
            continue
        if user_id is not None:
            bucket.messages[user_id] += messages
            bucket.voice[user_id] += voice
            bucket.reactions[user_id] += reactions
        elif channel_id is not None:
            bucket.channel_messages[channel_id] += messages
            bucket.channel_voice[channel_id] += voice
        elif emoji:
            bucket.emojis[emoji] += reactions
        else:
            bucket.totals[0] += messages
            bucket.totals[1] += voice
            bucket.totals[2] += reactions

    made = (
        bucket.snapshot(guild_id, granularity.name, start, end)
        for (guild_id, start, end), bucket in buckets.items()
    )
    return [snapshot for snapshot in made if snapshot is not None]


def _sessions(
    lo: datetime, until: datetime, now: datetime
) -> list[tuple[int, int, int, datetime, datetime]]:
    """(guild, user, channel, start, end) of sessions overlapping [lo, until); an open one
    runs up to now, and never past the cap."""
    closed = VoiceSessionLog.objects.filter(started_at__lt=until, ended_at__gt=lo).values_list(
        "guild_id", "user_id", "channel_id", "started_at", "ended_at"
    )
    cap = session_cap()
    opened = [
        (g, u, c, joined, min(now, joined + cap))
        for g, u, c, joined in VoiceSession.objects.filter(joined_at__lt=until).values_list(
            "guild_id", "user_id", "channel_id", "joined_at"
        )
    ]
    return list(closed) + [s for s in opened if s[4] > lo]
