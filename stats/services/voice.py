"""Voice sessions: join / move / leave transitions, counted in seconds, committed with the counts.

Open sessions live in the ``voice_sessions`` table, written in the same transaction as the
counters they produce, so a crash can neither lose nor double voice time (a Redis-only session
store could not promise that; see docs/architecture.md). Transitions of one guild are
applied by one processing stream at a time (its shard lock), in timestamp order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import msgspec
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from guildstats_contract.ids import EPOCH
from guildstats_contract.payloads import GuildStateData

from core.ids import int_or_none
from core.sql import Column, bulk_insert, register_stage, try_lock, tuples_filter
from pipeline.drain import LOCK_BASE
from privacy.models import MemberOptOut
from stats.models import VoiceSession
from stats.services.counting import CounterDeltas, MemberKey
from stats.services.rules import counting_rules
from stats.services.snapshots import load_snapshot_sources

if TYPE_CHECKING:
    from core.events import StoredEvent

SESSION_COLUMNS = (
    Column("guild_id", "bigint"),
    Column("user_id", "bigint"),
    Column("channel_id", "bigint"),
    Column("joined_at", "timestamptz"),
)
register_stage("voice_sessions", SESSION_COLUMNS)


@dataclass
class OpenSession:
    channel_id: int
    joined_at: datetime


def session_cap() -> timedelta:
    return timedelta(hours=settings.GUILDSTATS["VOICE_SESSION_CAP_HOURS"])


def transition(event: StoredEvent) -> tuple[str, int | None]:
    """What a voice event means: ("join"|"leave"|"ignore", channel it ends up in)."""
    data = event.data if isinstance(event.data, dict) else {}
    kind = event.type
    if kind == "VOICE_STATE_UPDATE":
        # Seed 000: a null channelId means the member left voice; otherwise they are (now) in it.
        return ("join", event.channel_id) if event.channel_id else ("leave", None)
    if kind == "VOICE_CHANNEL_JOIN":
        return "join", event.channel_id
    if kind == "VOICE_CHANNEL_MOVE":
        target = int_or_none(data.get("newChannelId")) or event.channel_id
        return ("join", target) if target else ("ignore", None)
    if kind == "VOICE_CHANNEL_LEAVE":
        return "leave", None
    return "ignore", None  # mute/deafen: no change of channel


def apply_voice_events(events: Sequence[StoredEvent], deltas: CounterDeltas) -> None:
    """Apply voice transitions and GUILD_STATE rosters (``events`` sorted by timestamp) and
    persist the open sessions."""
    members = {(e.guild_id, e.user_id) for e in events if e.user_id is not None}
    parsed = {e.id: _roster(e) for e in events if e.type == "GUILD_STATE"}
    rosters = {event_id: r for event_id, r in parsed.items() if r is not None}
    # a roster guild's sessions are all loaded (below): its members need no lookup of their own
    roster_guilds = sorted({r.guild_id for r in rosters.values()})
    _without_opted_out(list(rosters.values()), roster_guilds)
    if not members and not roster_guilds:
        return
    sessions: dict[MemberKey, OpenSession | None] = dict(
        _load_sessions(sorted(members), roster_guilds)
    )
    before = dict(sessions)
    cap = session_cap()

    for event in events:
        if event.type == "GUILD_STATE":
            roster = rosters.get(event.id)
            if roster is not None:
                _reconcile(roster, sessions, deltas, cap)
            continue
        if event.user_id is None:
            continue
        key = (event.guild_id, event.user_id)
        guild_id, user_id = key
        if not deltas.guild(guild_id).count_bots and key in deltas.bots:
            continue
        kind, channel_id = transition(event)
        if kind == "ignore":
            continue
        ts = event.timestamp
        current = sessions.get(key)
        if current is not None and ts < current.joined_at:
            continue  # older than the session's start: a stale replay, changes nothing
        if kind == "join":
            if channel_id is None:  # never: ingest requires a join's channel (REQUIRED_FIELDS)
                continue
            if current is not None and current.channel_id == channel_id:
                continue  # state update inside the same channel (mute, video, …)
            if current is not None:
                _close(deltas, key, current, ts, cap)
            sessions[key] = OpenSession(channel_id, ts)
            if deltas.is_counted(guild_id, user_id, channel_id):
                deltas.voice_seen(guild_id, user_id, ts)
        elif current is not None:  # leave with a known session
            _close(deltas, key, current, ts, cap)
            sessions[key] = None
        # a leave without a known session counts nothing

    _save_sessions(before, sessions)


@dataclass
class Roster:
    """A GUILD_STATE's voice section: who is in which voice channel at ``at``, and since when
    the collector had not known (``gap_since``; None: it never knew)."""

    guild_id: int
    at: datetime
    gap_since: datetime | None
    channels: dict[int, int]  # user -> voice channel
    bots: set[int]


def _roster(event: StoredEvent) -> Roster | None:
    data = msgspec.convert(event.data or {}, GuildStateData, strict=True)
    if data.voice is None:
        return None
    gap = None
    if data.gap_since is not None:
        gap = min(EPOCH + timedelta(milliseconds=data.gap_since), event.timestamp)
    channels = {int(u): int(c.channel_id) for c in data.voice for u in c.user_ids}
    bots = {int(b) for c in data.voice for b in c.bot_ids}
    return Roster(event.guild_id, event.timestamp, gap, channels, bots)


def _without_opted_out(rosters: list[Roster], guild_ids: list[int]) -> None:
    """Ingest refuses the events of members who opted out; a roster names them among others,
    so they are taken out here: no session is opened for them."""
    if not rosters:
        return
    opted_out = set(
        MemberOptOut.objects.filter(guild_id__in=guild_ids).values_list("guild_id", "user_id")
    )
    for roster in rosters:
        for user_id in [u for u in roster.channels if (roster.guild_id, u) in opted_out]:
            del roster.channels[user_id]


def _reconcile(
    roster: Roster,
    sessions: dict[MemberKey, OpenSession | None],
    deltas: CounterDeltas,
    cap: timedelta,
) -> None:
    """Credit only what is known across the gap before ``roster``: a member still in the same
    channel keeps one continuous session; a session that the roster does not confirm (the
    member left or moved) ends at the gap's start (at its own start when the gap's start is
    unknown); a member in voice with no session (joined during the gap, or moved) starts at the
    roster's time. Sessions opened after the roster's time are newer news and stay."""
    guild_id, at = roster.guild_id, roster.at
    for user_id in roster.bots:
        deltas.mark_bot(guild_id, user_id)
    for key, current in sorted(sessions.items()):
        if key[0] != guild_id or current is None or current.joined_at > at:
            continue
        if roster.channels.get(key[1]) == current.channel_id:
            continue
        end = current.joined_at if roster.gap_since is None else roster.gap_since
        _close(deltas, key, current, max(end, current.joined_at), cap)
        sessions[key] = None
    count_bots = deltas.guild(guild_id).count_bots
    for user_id, channel_id in sorted(roster.channels.items()):
        key = (guild_id, user_id)
        if sessions.get(key) is not None or (not count_bots and key in deltas.bots):
            continue
        sessions[key] = OpenSession(channel_id, at)
        if deltas.is_counted(guild_id, user_id, channel_id):
            deltas.voice_seen(guild_id, user_id, at)


def close_sessions_older_than(
    cutoff: datetime, guild_filter: tuple[str, list[int]], deltas: CounterDeltas
) -> int:
    """Close sessions that started before ``cutoff``, each counted up to the cap exactly."""
    where, params = guild_filter
    stale = list(
        VoiceSession.objects.filter(joined_at__lt=cutoff)
        .extra(where=[where], params=params)
        .values_list("pk", "guild_id", "user_id", "channel_id", "joined_at")
    )
    cap = session_cap()
    for _pk, guild_id, user_id, channel_id, joined_at in stale:
        _close(
            deltas, (guild_id, user_id), OpenSession(channel_id, joined_at), joined_at + cap, cap
        )
    VoiceSession.objects.filter(pk__in=[row[0] for row in stale]).delete()
    return len(stale)


def _close(
    deltas: CounterDeltas, key: MemberKey, session: OpenSession, end: datetime, cap: timedelta
) -> None:
    end = min(end, session.joined_at + cap)
    guild_id, user_id = key
    deltas.add_voice(guild_id, user_id, session.channel_id, session.joined_at, end)
    if deltas.is_counted(guild_id, user_id, session.channel_id):
        deltas.voice_seen(guild_id, user_id, end)


def _load_sessions(
    members: list[MemberKey], guild_ids: list[int]
) -> list[tuple[MemberKey, OpenSession]]:
    """The open sessions of ``members`` and every open session of ``guild_ids``."""
    found: list[tuple[int, int, int, datetime]] = []
    if members:
        where, params = tuples_filter(("guild_id", "user_id"), members)
        found += VoiceSession.objects.extra(where=[where], params=params).values_list(
            "guild_id", "user_id", "channel_id", "joined_at"
        )
    if guild_ids:
        found += VoiceSession.objects.filter(guild_id__in=guild_ids).values_list(
            "guild_id", "user_id", "channel_id", "joined_at"
        )
    return [((g, u), OpenSession(c, j)) for g, u, c, j in found]


def _save_sessions(
    before: dict[MemberKey, OpenSession | None], after: dict[MemberKey, OpenSession | None]
) -> None:
    changed = [key for key, session in after.items() if before.get(key) != session]
    if not changed:
        return
    gone = sorted(key for key in changed if before.get(key) is not None)
    if gone:
        where, params = tuples_filter(("guild_id", "user_id"), gone)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM voice_sessions WHERE {where}", params)
    opened = sorted(
        (g, u, session.channel_id, session.joined_at)
        for g, u in changed
        if (session := after[(g, u)]) is not None
    )
    bulk_insert("voice_sessions", SESSION_COLUMNS, opened)


def close_stale_voice_sessions(now: datetime | None = None) -> int:
    """Close sessions open longer than the cap, counting exactly the cap, shard by shard."""
    now = now or timezone.now()
    cutoff = now - session_cap()
    shards = settings.GUILDSTATS["PROCESSING_SHARDS"]
    closed = 0
    for shard in range(shards):
        with transaction.atomic():
            try_lock(LOCK_BASE + shard, wait=True)
            guild_filter = ("guild_id %% %s = %s", [shards, shard])
            guild_ids = set(
                VoiceSession.objects.filter(joined_at__lt=cutoff)
                .extra(where=[guild_filter[0]], params=guild_filter[1])
                .values_list("guild_id", flat=True)
            )
            if not guild_ids:
                continue
            deltas = counting_rules(guild_ids)
            load_snapshot_sources(guild_ids, deltas)
            closed += close_sessions_older_than(cutoff, guild_filter, deltas)
            deltas.flush()
    return closed
