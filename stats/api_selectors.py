"""Reads behind the stats API: counters and daily counters only, never raw events.

Totals sum ``guild_daily_stats`` over the window's days; per-member figures read ``member_stats``
for "all" and sum ``member_daily_stats`` over the window's days for today/week/month (exact, in
the guild's time zone). Voice is stored in seconds and shown in whole minutes (rounded);
rankings use the shown value so that equal scores share a rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from guilds.models import Guild
from guilds.selectors import zone_of
from stats.models import ChannelDailyStats, GuildDailyStats, MemberDailyStats, MemberStats
from stats.periods import Window, iso, window

SORT_FIELDS = {
    "messages": "total_messages",
    "voice": "total_voice_seconds",
    "reactions": "total_reactions_given",
    "lastSeen": "last_seen",
}
BADGES = {1: "gold", 2: "silver", 3: "bronze"}


def minutes(seconds: int | None) -> int:
    return ((seconds or 0) + 30) // 60


def _counted_members(guild: Guild) -> QuerySet[MemberStats]:
    rows = MemberStats.objects.filter(guild_id=guild.guild_id)
    return rows if guild.count_bots else rows.filter(is_bot=False)


def _days(guild: Guild, win: Window) -> QuerySet[MemberDailyStats]:
    return MemberDailyStats.objects.filter(
        guild_id=guild.guild_id, day__gte=win.first_day, day__lte=win.last_day
    )


ACTIVE = Q(messages__gt=0) | Q(voice_seconds__gt=0) | Q(reactions_given__gt=0)
MEMBER_ACTIVE = (
    Q(total_messages__gt=0) | Q(total_voice_seconds__gt=0) | Q(total_reactions_given__gt=0)
)
# Past windows are whole days already over (only a late replay changes them): their distinct
# member count, the costly part, is cached for the longest staleness the API allows.
PAST_WINDOW_CACHE_SECONDS = 60


@dataclass(frozen=True)
class Totals:
    messages: int
    voice_seconds: int
    reactions: int
    active_users: int


def totals(guild: Guild, win: Window, now: datetime) -> Totals:
    """Messages, voice, reactions and unique active members of ``win``.

    Sums come from ``guild_daily_stats`` (one row per day). Active members of a window that ends
    today are the members last seen since it started (an index range on last_seen); a past
    window's are counted from member days once and cached, its days being complete.
    """
    days = GuildDailyStats.objects.filter(guild_id=guild.guild_id, day__lte=win.last_day)
    if win.first_day is not None:
        days = days.filter(day__gte=win.first_day)
    agg = days.aggregate(m=Sum("messages"), v=Sum("voice_seconds"), r=Sum("reactions"))
    if win.first_day is None:
        active = _counted_members(guild).filter(MEMBER_ACTIVE).count()
    elif win.last_day >= now.astimezone(win.zone).date():
        active = _counted_members(guild).filter(last_seen__gte=win.start).count()
    else:
        active = cache.get_or_set(
            f"api:active:{guild.guild_id}:{win.first_day}:{win.last_day}",
            lambda: _days(guild, win).filter(ACTIVE).values("user_id").distinct().count(),
            timeout=PAST_WINDOW_CACHE_SECONDS,
        )
    return Totals(agg["m"] or 0, agg["v"] or 0, agg["r"] or 0, active)


def change_percent(current: int, previous: int | None) -> float | None:
    """Change against the previous period, in %, one decimal; None when there is nothing to
    compare with (previous is 0 or there is no previous period)."""
    if not previous:
        return None
    return round((current - previous) / previous * 100, 1)


def member_totals(guild: Guild, win: Window) -> QuerySet:
    """Per member (user_id, messages, voice_seconds, reactions) for the window, as a queryset."""
    if win.first_day is None:
        return (
            _counted_members(guild)
            .values("user_id")
            .annotate(
                messages=F("total_messages"),
                voice=F("total_voice_seconds"),
                reactions=F("total_reactions_given"),
            )
        )
    return (
        _days(guild, win)
        .values("user_id")
        .annotate(
            messages=Sum("messages"), voice=Sum("voice_seconds"), reactions=Sum("reactions_given")
        )
    )


def dashboard(guild: Guild, period: str, now: datetime) -> dict[str, Any]:
    win = window(period, zone_of(guild.timezone), now)
    current = totals(guild, win, now)
    previous_window = win.previous()
    previous = totals(guild, previous_window, now) if previous_window else None
    top = member_totals(guild, win).order_by("-messages", "user_id")[:3]
    return {
        "guildId": str(guild.guild_id),
        "period": period,
        "totalMessages": current.messages,
        "totalVoiceMinutes": minutes(current.voice_seconds),
        "totalReactions": current.reactions,
        "uniqueActiveUsers": current.active_users,
        "messagesChange": change_percent(current.messages, previous and previous.messages),
        "voiceMinutesChange": change_percent(
            minutes(current.voice_seconds), previous and minutes(previous.voice_seconds)
        ),
        "reactionsChange": change_percent(current.reactions, previous and previous.reactions),
        "activeUsersChange": change_percent(
            current.active_users, previous and previous.active_users
        ),
        "topMembers": [
            {
                "userId": str(row["user_id"]),
                "totalMessages": row["messages"] or 0,
                "totalVoiceMinutes": minutes(row["voice"]),
            }
            for row in top
            if row["messages"]
        ],
        "periodStart": iso(win.start),
        "periodEnd": iso(win.end),
    }


def member_query(
    guild: Guild,
    *,
    sort_by: str,
    sort_order: str,
    min_messages: int | None,
    min_voice_minutes: int | None,
    active_only: bool,
    now: datetime,
) -> QuerySet[MemberStats]:
    """Members of ``guild`` with the list filters, in a stable order (ties by user id)."""
    rows = _counted_members(guild)
    if min_messages is not None:
        rows = rows.filter(total_messages__gte=min_messages)
    if min_voice_minutes is not None:
        rows = rows.filter(total_voice_seconds__gte=min_voice_minutes * 60 - 30)
    if active_only:
        rows = rows.filter(last_seen__gte=now - timedelta(days=7))
    column = F(SORT_FIELDS[sort_by])
    # only last_seen can be null; NULLS LAST on the NOT NULL counters would stop PostgreSQL
    # from reading the (guild, total_messages DESC, user_id) index in order
    nulls_last = True if sort_by == "lastSeen" else None
    key = (
        column.desc(nulls_last=nulls_last)
        if sort_order == "desc"
        else column.asc(nulls_last=nulls_last)
    )
    return rows.order_by(key, "user_id")


def member_page(rows: QuerySet[MemberStats], *, page: int, page_size: int) -> dict[str, Any]:
    total = rows.count()
    offset = (page - 1) * page_size
    return {
        "members": [member_row(m) for m in rows[offset : offset + page_size]],
        "pagination": {
            "total": total,
            "page": page,
            "pageSize": page_size,
            "totalPages": (total + page_size - 1) // page_size,
        },
    }


def member_row(m: MemberStats) -> dict[str, Any]:
    return {
        "userId": str(m.user_id),
        "guildId": str(m.guild_id),
        "totalMessages": m.total_messages,
        "totalVoiceMinutes": minutes(m.total_voice_seconds),
        "totalVoiceSeconds": m.total_voice_seconds,
        "totalReactionsGiven": m.total_reactions_given,
        "totalReactionsReceived": m.total_reactions_received,
        "lastMessageAt": iso(m.last_message_at),
        "lastVoiceAt": iso(m.last_voice_at),
        "lastSeen": iso(m.last_seen),
        "joinedAt": iso(m.joined_at),
    }


def leaderboard(
    guild: Guild, *, category: str, period: str, limit: int, now: datetime
) -> dict[str, Any]:
    win = window(period, zone_of(guild.timezone), now)
    # plain columns where possible: for all time, the messages score is the indexed column
    voice_minutes = (Coalesce(F("voice"), Value(0)) + 30) / 60
    scores = {
        "messages": F("messages"),
        "voice": voice_minutes,
        "reactions": F("reactions"),
        "overall": F("messages") + voice_minutes + F("reactions"),
    }
    rows = (
        member_totals(guild, win)
        .annotate(score=scores[category])
        .filter(score__gt=0)
        .order_by(F("score").desc(), "user_id")
        .values("user_id", "messages", "voice", "reactions", "score")[:limit]
    )
    entries, rank, previous_score = [], 0, None
    for position, row in enumerate(rows, start=1):
        if row["score"] != previous_score:
            rank, previous_score = position, row["score"]
        entry = {
            "rank": rank,
            "userId": str(row["user_id"]),
            "score": row["score"],
            "totalMessages": row["messages"] or 0,
            "totalVoiceMinutes": minutes(row["voice"]),
            "totalReactions": row["reactions"] or 0,
        }
        if rank in BADGES:
            entry["badge"] = BADGES[rank]
        entries.append(entry)
    return {
        "guildId": str(guild.guild_id),
        "category": category,
        "period": period,
        "entries": entries,
        "updatedAt": iso(now),
    }


def overview(guild: Guild, now: datetime) -> dict[str, Any]:
    """Seed 001's overview: today/week/month totals, top channels and members of the week."""
    zone = zone_of(guild.timezone)
    body: dict[str, Any] = {"guildId": str(guild.guild_id)}
    for period in ("today", "week", "month"):
        t = totals(guild, window(period, zone, now), now)
        body[period] = {
            "totalMessages": t.messages,
            "totalVoiceMinutes": minutes(t.voice_seconds),
            "totalReactions": t.reactions,
            "uniqueActiveUsers": t.active_users,
        }
    week = window("week", zone, now)
    channels = (
        ChannelDailyStats.objects.filter(
            guild_id=guild.guild_id, day__gte=week.first_day, day__lte=week.last_day
        )
        .values("channel_id")
        .annotate(messages=Sum("messages"), voice=Sum("voice_seconds"))
        .order_by("-messages", "-voice", "channel_id")[:5]
    )
    body["topChannels"] = [
        {
            "channelId": str(c["channel_id"]),
            "messages": c["messages"],
            "voiceMinutes": minutes(c["voice"]),
        }
        for c in channels
    ]
    members = member_totals(guild, week).order_by("-messages", "user_id")[:5]
    body["topMembers"] = [
        {
            "userId": str(m["user_id"]),
            "messages": m["messages"] or 0,
            "voiceMinutes": minutes(m["voice"]),
            "reactions": m["reactions"] or 0,
        }
        for m in members
        if m["messages"] or m["voice"] or m["reactions"]
    ]
    body["periodStart"], body["periodEnd"] = iso(week.start), iso(week.end)
    return body
