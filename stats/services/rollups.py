"""5-minute snapshots of each guild's activity, filled from raw events by a watermark.

Modelled on Zulip's analytics: a FillState per granularity marks the last bucket STARTED before
its work and DONE after, so a run that crashes midway redoes that bucket from scratch and a run
that comes twice finds nothing to do; a scheduler down for hours catches up bucket by bucket on
its next run. Buckets are aligned to UTC and are filled only once they are over plus a grace
delay for late events; storage holds no zero rows (readers zero-fill).

The same counting rules as the real-time processors apply (bots and excluded channels are not
counted) through ``CounterDeltas``; voice time comes from closed sessions (``voice_session_log``)
and open ones, split at the bucket's edges.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from guilds.selectors import counting_settings
from stats.models import Event, FillState, MetricsSnapshot, VoiceSession, VoiceSessionLog
from stats.selectors import known_bots
from stats.services.counting import CounterDeltas, second_mark
from stats.services.voice import session_cap
from stats.sql import session_lock

FIVE_MINUTES = timedelta(minutes=5)
ROLLUP_LOCK = 0x6775_696C_F111  # session advisory lock held by a fill run
TOP = 10


def floor_time(moment: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // step) * step


@dataclass
class GuildBucket:
    """One guild's activity in one bucket, as it accumulates."""

    by_type: Counter[str] = field(default_factory=Counter)
    messages: Counter[int] = field(default_factory=Counter)  # per member
    reactions: Counter[int] = field(default_factory=Counter)  # given, per member
    voice: Counter[int] = field(default_factory=Counter)  # seconds, per member
    channel_messages: Counter[int] = field(default_factory=Counter)
    channel_voice: Counter[int] = field(default_factory=Counter)
    emojis: Counter[str] = field(default_factory=Counter)

    def snapshot(self, guild_id: int, start: datetime, end: datetime) -> MetricsSnapshot | None:
        active = set(self.messages) | set(self.reactions) | {u for u, s in self.voice.items() if s}
        if not active and not self.by_type:
            return None
        scores = Counter({u: self.messages[u] + self.reactions[u] for u in active})
        top_members = sorted(active, key=lambda u: (-scores[u], -self.voice[u], u))[:TOP]
        channels = set(self.channel_messages) | set(self.channel_voice)
        top_channels = sorted(
            channels, key=lambda c: (-self.channel_messages[c], -self.channel_voice[c], c)
        )[:TOP]
        data: dict[str, Any] = {
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
            "voiceSecondsByChannel": {str(c): s for c, s in sorted(self.channel_voice.items())},
            "reactionsByEmoji": dict(self.emojis.most_common()),
        }
        return MetricsSnapshot(
            guild_id=guild_id,
            period_type=MetricsSnapshot.FIVE_MINUTES,
            period_start=start,
            period_end=end,
            total_messages=sum(self.messages.values()),
            total_voice_seconds=sum(self.voice.values()),
            total_reactions=sum(self.reactions.values()),
            unique_active_users=len(active),
            data=data,
        )


def compute_bucket(start: datetime, end: datetime, now: datetime) -> list[MetricsSnapshot]:
    """The snapshots of every guild with activity in [start, end)."""
    buckets: dict[int, GuildBucket] = defaultdict(GuildBucket)
    events = list(
        Event.objects.filter(timestamp__gte=start, timestamp__lt=end).values_list(
            "guild_id", "type", "user_id", "channel_id", "data"
        )
    )
    sessions = _voice_in(start, end, now)
    guild_ids = {e[0] for e in events} | {s[0] for s in sessions}
    deltas = CounterDeltas(counting_settings(guild_ids), known_bots(guild_ids))
    for guild_id, type_, user_id, channel_id, data in events:
        bucket = buckets[guild_id]
        bucket.by_type[type_] += 1
        if user_id is None or not deltas.is_counted(guild_id, user_id, channel_id):
            continue
        if type_ == "MESSAGE_CREATE" and channel_id is not None:
            bucket.messages[user_id] += 1
            bucket.channel_messages[channel_id] += 1
        elif type_ == "MESSAGE_REACTION_ADD":
            bucket.reactions[user_id] += 1
            emoji = data.get("emoji") if isinstance(data, dict) else None
            if isinstance(emoji, dict):
                emoji = emoji.get("name") or emoji.get("id")
            if emoji:
                bucket.emojis[str(emoji)] += 1
    for guild_id, user_id, channel_id, began, ended in sessions:
        if not deltas.is_counted(guild_id, user_id, channel_id):
            continue
        seconds = second_mark(min(ended, end)) - second_mark(max(began, start))
        if seconds > 0:
            buckets[guild_id].voice[user_id] += seconds
            buckets[guild_id].channel_voice[channel_id] += seconds
    made = (bucket.snapshot(guild_id, start, end) for guild_id, bucket in buckets.items())
    return [snapshot for snapshot in made if snapshot is not None]


def _voice_in(start: datetime, end: datetime, now: datetime) -> list[tuple]:
    """(guild, user, channel, start, end) of sessions overlapping [start, end); an open one
    runs up to now, and never past the cap."""
    closed = VoiceSessionLog.objects.filter(started_at__lt=end, ended_at__gt=start).values_list(
        "guild_id", "user_id", "channel_id", "started_at", "ended_at"
    )
    cap = session_cap()
    opened = [
        (g, u, c, joined, min(now, joined + cap))
        for g, u, c, joined in VoiceSession.objects.filter(joined_at__lt=end).values_list(
            "guild_id", "user_id", "channel_id", "joined_at"
        )
    ]
    return list(closed) + opened


def fill_snapshots(
    now: datetime | None = None,
    *,
    compute: Callable[[datetime, datetime, datetime], list[MetricsSnapshot]] = compute_bucket,
) -> int:
    """Fill every complete 5-minute bucket up to ``now`` minus the grace delay; return how many
    buckets were filled. Safe to run concurrently (a lock: the second run returns), twice (the
    watermark), or after a crash (a STARTED bucket is deleted and redone)."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.GUILDSTATS["ROLLUP_GRACE_SECONDS"])
    last_end = floor_time(now - grace, FIVE_MINUTES)
    filled = 0
    with session_lock(ROLLUP_LOCK) as mine:
        if not mine:
            return 0
        while (end := _start_next_bucket(last_end)) is not None:
            with transaction.atomic():
                start = end - FIVE_MINUTES
                MetricsSnapshot.objects.filter(
                    period_type=MetricsSnapshot.FIVE_MINUTES, period_start=start
                ).delete()
                MetricsSnapshot.objects.bulk_create(compute(start, end, now))
                FillState.objects.filter(granularity="5min").update(state=FillState.DONE)
            filled += 1
    return filled


def _start_next_bucket(last_end: datetime) -> datetime | None:
    """Mark the next bucket to fill STARTED (committed) and return its end; None when filled up
    to ``last_end``. The first run starts at the oldest raw event."""
    with transaction.atomic():
        state = FillState.objects.filter(granularity="5min").first()
        if state is None:
            first = Event.objects.aggregate(t=Min("timestamp"))["t"]
            if first is None or floor_time(first, FIVE_MINUTES) >= last_end:
                FillState.objects.create(
                    granularity="5min", end_time=last_end, state=FillState.DONE
                )
                return None
            state = FillState(granularity="5min", end_time=floor_time(first, FIVE_MINUTES))
            end = state.end_time + FIVE_MINUTES
        elif state.state == FillState.STARTED:
            end = state.end_time  # a crashed run left this bucket partial: redo it
        else:
            end = state.end_time + FIVE_MINUTES
        if end > last_end:
            return None
        state.end_time, state.state = end, FillState.STARTED
        state.save()
        return end
