"""Bot-aggregated guilds: count seed 001's ``METRICS_SNAPSHOT`` / ``MEMBER_ACTIVITY_SNAPSHOT``.

A bot may send aggregates instead of raw activity. They feed the same counters as raw events
(member totals, per-member/per-channel/per-guild days) and, through ``snapshot_activity``, the
rollups. The rule that keeps a period from being counted twice:

* per guild, one snapshot kind counts: the kind of the first snapshot counted (bots that send
  both send the same activity twice, once per minute and once per five minutes);
* a snapshot counts only if its ``periodStart`` is after every raw activity event (message,
  reaction, voice) processed before it for that guild, in ledger order;
* from the earliest counted ``periodStart`` on (``activity_sources.snapshots_since``), raw
  activity events are stored but not counted, and voice sessions are counted up to that instant.

So every counted raw event is older than every counted snapshot's period. Snapshots are
applied before the raw events of their chunk, and "processed before" means earlier batches (or
earlier events of the same batch), so the outcome does not depend on how batches are chunked.
A snapshot counts in the guild's day of its ``periodStart``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from django.db.models import Max, Q
from guildstats_contract.events import VOICE_TYPES
from guildstats_contract.ids import EPOCH
from guildstats_contract.snapshots import (
    SNAPSHOT_SCHEMAS,
    MemberActivitySnapshotData,
    MetricsSnapshotData,
)

from core.ids import snowflake_or_none
from pipeline.models import Event
from stats.models import ActivitySource, SnapshotActivity
from stats.services.counting import CounterDeltas, local_day

if TYPE_CHECKING:
    from core.events import StoredEvent

RAW_ACTIVITY_TYPES = sorted({"MESSAGE_CREATE", "MESSAGE_REACTION_ADD"} | VOICE_TYPES)


def load_snapshot_sources(guild_ids: set[int], deltas: CounterDeltas) -> None:
    """Tell ``deltas`` since when each guild's activity comes from bot snapshots."""
    deltas.snapshots_since.update(
        ActivitySource.objects.filter(guild_id__in=guild_ids).values_list(
            "guild_id", "snapshots_since"
        )
    )


def apply_snapshot_events(events: Sequence[StoredEvent], deltas: CounterDeltas) -> None:
    """Count the snapshots that the rule admits, in ledger order (event id order)."""
    sources = {
        s.guild_id: s
        for s in ActivitySource.objects.filter(guild_id__in={e.guild_id for e in events})
    }
    rows: list[SnapshotActivity] = []
    for event in sorted(events, key=lambda e: e.id):
        try:
            data = msgspec.convert(event.data or {}, SNAPSHOT_SCHEMAS[event.type])
        except (msgspec.ValidationError, KeyError):
            continue  # validated at ingest; an old row that does not parse counts nothing
        start = EPOCH + timedelta(milliseconds=data.period_start)
        end = EPOCH + timedelta(milliseconds=data.period_end)
        source = sources.get(event.guild_id)
        if source is not None and source.snapshot_type != event.type:
            continue
        since = source.snapshots_since if source is not None else None
        if (since is None or start < since) and not _after_raw_activity(event, start, since):
            continue
        if source is None:
            source = sources[event.guild_id] = ActivitySource.objects.create(
                guild_id=event.guild_id, snapshots_since=start, snapshot_type=event.type
            )
        elif start < source.snapshots_since:
            source.snapshots_since = start
            source.save(update_fields=["snapshots_since"])
        deltas.snapshots_since[event.guild_id] = source.snapshots_since
        if isinstance(data, MetricsSnapshotData):
            rows += _count_metrics(event.guild_id, start, end, data, deltas)
        else:
            rows += _count_member_activity(event.guild_id, start, end, data, deltas)
    SnapshotActivity.objects.bulk_create(rows)


def _after_raw_activity(event: StoredEvent, start: datetime, since: datetime | None) -> bool:
    """No counted raw activity processed before ``event`` (earlier batches, or earlier in its
    batch) reaches ``start``. Raw events at or after ``since`` were not counted. (A snapshot
    starting at or after ``since`` needs no check: every counted raw event is older.)"""
    raw = Event.objects.filter(guild_id=event.guild_id, type__in=RAW_ACTIVITY_TYPES)
    if since is not None:
        raw = raw.filter(timestamp__lt=since)
    batch = _batch_of(event)  # snapshots are few (one a minute per guild): a lookup each is fine
    latest = raw.filter(Q(batch_id__lt=batch) | Q(batch_id=batch, id__lt=event.id)).aggregate(
        t=Max("timestamp")
    )["t"]
    return latest is None or latest < start


def _batch_of(event: StoredEvent) -> int:
    return Event.objects.filter(pk=event.id).values_list("batch_id", flat=True).get()


def _seconds(minutes: float) -> int:
    return int(minutes * 60 + 0.5)


def _count_metrics(
    guild_id: int, start: datetime, end: datetime, data: MetricsSnapshotData, deltas: CounterDeltas
) -> list[SnapshotActivity]:
    """METRICS_SNAPSHOT: members from the ``byMember`` maps, channels from ``byChannel``, the
    guild's totals from the counted members (the reported totals when no member is listed)."""
    day = local_day(start, deltas.guild(guild_id))
    metrics = data.metrics
    members: dict[int, list[int]] = {}
    # each value as a whole count: counts as they are (``int``), minutes as seconds
    for field, index, scale in (
        (metrics.messages.by_member, 0, int),
        (metrics.voice.by_member, 1, _seconds),
        (metrics.reactions.by_member, 2, int),
    ):
        for key, value in field.items():
            user = snowflake_or_none(key)
            if user is None or not deltas.is_counted(guild_id, user, None):
                continue
            members.setdefault(user, [0, 0, 0])[index] += scale(value)
    channels: dict[int, list[int]] = {}
    for field, index, scale in (
        (metrics.messages.by_channel, 0, int),
        (metrics.voice.by_channel, 1, _seconds),
    ):
        for key, value in field.items():
            channel = snowflake_or_none(key)
            if channel is None or channel in deltas.guild(guild_id).excluded_channel_ids:
                continue
            channels.setdefault(channel, [0, 0])[index] += scale(value)
    if members:
        totals = [sum(m[i] for m in members.values()) for i in range(3)]
    else:
        totals = [
            metrics.messages.total,
            _seconds(metrics.voice.total_minutes),
            metrics.reactions.total,
        ]
    emojis = dict(metrics.reactions.by_emoji)
    return _write(guild_id, start, end, day, members, channels, totals, emojis, deltas)


def _count_member_activity(
    guild_id: int,
    start: datetime,
    end: datetime,
    data: MemberActivitySnapshotData,
    deltas: CounterDeltas,
) -> list[SnapshotActivity]:
    """MEMBER_ACTIVITY_SNAPSHOT: every active member with per-channel detail."""
    day = local_day(start, deltas.guild(guild_id))
    excluded = deltas.guild(guild_id).excluded_channel_ids
    members: dict[int, list[int]] = {}
    channels: dict[int, list[int]] = {}
    received: dict[int, int] = {}
    for member in data.members:
        user = snowflake_or_none(member.user_id)
        if user is None or not deltas.is_counted(guild_id, user, None):
            continue
        counts = members.setdefault(user, [0, 0, 0])
        for field, index, scale in (
            (member.messages.by_channel, 0, int),
            (member.voice.by_channel, 1, _seconds),
        ):
            for key, value in field.items():
                channel = snowflake_or_none(key)
                if channel is None or channel in excluded:
                    continue
                amount = scale(value)
                channels.setdefault(channel, [0, 0])[index] += amount
                counts[index] += amount
        if not member.messages.by_channel:
            counts[0] += member.messages.total
        if not member.voice.by_channel:
            counts[1] += _seconds(member.voice.total_minutes)
        counts[2] += member.reactions.added
        received[user] = received.get(user, 0) + member.reactions.received
    totals = [sum(m[i] for m in members.values()) for i in range(3)]
    return _write(guild_id, start, end, day, members, channels, totals, {}, deltas, received)


def _write(
    guild_id: int,
    start: datetime,
    end: datetime,
    day: date,
    members: dict[int, list[int]],
    channels: dict[int, list[int]],
    totals: list[int],
    emojis: dict[str, int],
    deltas: CounterDeltas,
    received: dict[int, int] | None = None,
) -> list[SnapshotActivity]:
    seen = end - timedelta(milliseconds=1)  # the last instant the period covers

    def row(**counts: Any) -> SnapshotActivity:
        return SnapshotActivity(guild_id=guild_id, period_start=start, period_end=end, **counts)

    rows = []
    for user, (messages, voice, reactions) in members.items():
        got = (received or {}).get(user, 0)
        if not (messages or voice or reactions or got):
            continue
        deltas.add_aggregate(
            guild_id,
            day,
            user_id=user,
            messages=messages,
            voice_seconds=voice,
            reactions_given=reactions,
            reactions_received=got,
            seen=seen,
        )
        rows.append(row(user_id=user, messages=messages, voice_seconds=voice, reactions=reactions))
    for channel, (messages, voice) in channels.items():
        if messages or voice:
            deltas.add_aggregate(
                guild_id, day, channel_id=channel, messages=messages, voice_seconds=voice
            )
            rows.append(row(channel_id=channel, messages=messages, voice_seconds=voice))
    rows += [row(emoji=emoji[:100], reactions=n) for emoji, n in emojis.items() if n]
    messages, voice, reactions = totals
    deltas.add_aggregate(
        guild_id, day, messages=messages, voice_seconds=voice, reactions_given=reactions
    )
    rows.append(row(messages=messages, voice_seconds=voice, reactions=reactions))
    return rows
