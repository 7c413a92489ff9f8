"""The member list (sorted, filtered, paged, CSV) and the leaderboards; rankings use the shown
value (whole voice minutes), so equal scores share a rank."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import BigIntegerField, F, QuerySet, Value
from django.db.models.functions import Cast, Coalesce

from core.pagination import page_of
from core.registry import registry
from core.times import instant, iso
from directory.selectors import member_ids_matching
from guilds.models import Guild
from guilds.selectors import zone_of
from stats.models import (
    MemberStats,
)
from stats.selectors.counts import member_totals, minutes
from stats.selectors.names import with_member_names
from stats.selectors.periods import window
from stats.selectors.shapes import (
    Badge,
    Category,
    Leaderboard,
    LeaderboardEntry,
    Member,
    MemberPage,
    Period,
)
from stats.selectors.summaries import ranked, summaries
from stats.services.rules import bots_hidden, counted_rows

SORT_FIELDS = {
    "messages": "total_messages",
    "voice": "total_voice_seconds",
    "reactions": "total_reactions_given",
    "lastSeen": "last_seen",
}
BADGES: dict[int, Badge] = {1: "gold", 2: "silver", 3: "bronze"}


def member_query(
    guild: Guild,
    *,
    sort_by: str,
    sort_order: str,
    min_messages: int | None,
    min_voice_minutes: int | None,
    active_only: bool,
    now: datetime,
    search: str | None = None,
) -> QuerySet[MemberStats]:
    """Members of ``guild`` with the list filters, in a stable order (ties by user id)."""
    rows = _filtered_members(
        guild,
        min_messages=min_messages,
        min_voice_minutes=min_voice_minutes,
        active_only=active_only,
        now=now,
        search=search,
    )
    rows = counted_rows(rows, guild)
    column = F(SORT_FIELDS[sort_by])
    # only last_seen can be null; NULLS LAST on the NOT NULL counters would stop PostgreSQL
    # from reading the (guild, total_messages DESC, user_id) index in order
    nulls_last = True if sort_by == "lastSeen" else None
    key = (
        column.desc(nulls_last=nulls_last)
        if sort_order == "desc"
        else column.asc(nulls_last=nulls_last)
    )
    # other apps' columns (the invites app's first join, read as joinedAt), by registration
    for annotate in registry.member_columns():
        rows = annotate(rows)
    return rows.order_by(key, "user_id")


def _filtered_members(
    guild: Guild,
    *,
    min_messages: int | None,
    min_voice_minutes: int | None,
    active_only: bool,
    now: datetime,
    search: str | None = None,
) -> QuerySet[MemberStats]:
    rows = MemberStats.objects.filter(guild_id=guild.guild_id)
    if search:
        # an id (as copied from a page), or part of a username, global name or nickname
        found = member_ids_matching(guild.guild_id, search)
        if search.isdigit():
            found.append(int(search))
        rows = rows.filter(user_id__in=found)
    if min_messages is not None:
        rows = rows.filter(total_messages__gte=min_messages)
    if min_voice_minutes is not None:
        rows = rows.filter(total_voice_seconds__gte=min_voice_minutes * 60 - 30)
    if active_only:
        rows = rows.filter(last_seen__gte=now - timedelta(days=7))
    return rows


def member_count(
    guild: Guild,
    *,
    min_messages: int | None,
    min_voice_minutes: int | None,
    active_only: bool,
    now: datetime,
    search: str | None = None,
) -> int:
    """How many members the list has. Unfiltered, a big guild's count comes from its "all"
    summary (under 60 s old). Otherwise all matching rows minus the matching bots: both counts
    can be read from an index alone (the member index, the partial index of bots), where
    counting non-bots directly visits every member's row for ``is_bot``."""
    if min_messages is None and min_voice_minutes is None and not active_only and not search:
        summary = summaries(guild, [window("all", zone_of(guild.timezone), now)], now)
        if "all" in summary and "members" in summary["all"]:
            members: int = summary["all"]["members"]
            return members
    rows = _filtered_members(
        guild,
        min_messages=min_messages,
        min_voice_minutes=min_voice_minutes,
        active_only=active_only,
        now=now,
        search=search,
    )
    total = rows.count()
    return total - rows.filter(is_bot=True).count() if bots_hidden(guild) else total


def member_page(
    rows: QuerySet[MemberStats], *, total: int, page: int, page_size: int
) -> MemberPage:
    found, pagination = page_of(rows, page=page, page_size=page_size, total=total, row=member_row)
    if found:
        with_member_names(int(found[0]["guildId"]), found)
    return {"members": found, "pagination": pagination}


def member_row(m: MemberStats) -> Member:
    return {  # names: with_member_names
        "displayName": None,
        "username": None,
        "avatarUrl": None,
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
        "joinedAt": iso(m.joined_at or getattr(m, "first_join", None)),
    }


def leaderboard(
    guild: Guild, *, category: Category, period: Period, limit: int, now: datetime
) -> Leaderboard:
    win = window(period, zone_of(guild.timezone), now)
    summary = summaries(guild, [win], now).get(period)
    if summary:
        rows = ranked(summary[category][:limit], category)
    else:
        # plain columns where possible: for all time, the messages score is the indexed column.
        # PostgreSQL sums bigint columns as numeric: cast back, so "/ 60" divides integers
        voice = Cast(Coalesce(F("voice"), Value(0)), BigIntegerField())
        voice_minutes = (voice + 30) / 60
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
    entries: list[LeaderboardEntry] = []
    rank, previous_score = 0, None
    for position, row in enumerate(rows, start=1):
        if row["score"] != previous_score:
            rank, previous_score = position, row["score"]
        entry: LeaderboardEntry = {
            "displayName": None,
            "username": None,
            "avatarUrl": None,
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
    with_member_names(guild.guild_id, entries)
    return {
        "guildId": str(guild.guild_id),
        "category": category,
        "period": period,
        "entries": entries,
        "updatedAt": instant(now),
    }
