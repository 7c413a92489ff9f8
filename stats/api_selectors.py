"""Reads behind the stats API: counters and daily counters only, never raw events.

Totals sum ``guild_daily_stats`` over the window's days; per-member figures read ``member_stats``
for "all" and sum ``member_daily_stats`` over the window's days for today/week/month (exact, in
the guild's time zone). Voice is stored in seconds and shown in whole minutes (rounded);
rankings use the shown value so that equal scores share a rank.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db.models import BigIntegerField, Count, F, Min, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from guilds.models import Guild
from guilds.selectors import zone_of
from stats.models import (
    ChannelDailyStats,
    GuildDailyStats,
    MemberDailyStats,
    MemberStats,
    MetricsSnapshot,
    PeriodSummary,
)
from stats.periods import PERIODS, Window, boundaries, iso, midnight, window

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
# An answer may be at most 60 s stale (issue 4). Answers are cached for API_CACHE_SECONDS, so
# what they are built from (period summaries, cached distinct counts) may be at most the rest.
STALENESS_SECONDS = 60


def input_max_age() -> int:
    """How old a precomputed input of an answer may be: 60 s minus the answer cache."""
    return max(0, STALENESS_SECONDS - max(0, settings.API_CACHE_SECONDS))


@dataclass(frozen=True)
class Totals:
    messages: int
    voice_seconds: int
    reactions: int
    active_users: int


def totals(guild: Guild, win: Window, now: datetime, active: int | None = None) -> Totals:
    """Messages, voice, reactions and unique active members of ``win``.

    Sums come from ``guild_daily_stats`` (one row per day). ``active`` is given when a period
    summary holds it; otherwise see ``active_members``.
    """
    days = GuildDailyStats.objects.filter(guild_id=guild.guild_id, day__lte=win.last_day)
    if win.first_day is not None:
        days = days.filter(day__gte=win.first_day)
    agg = days.aggregate(m=Sum("messages"), v=Sum("voice_seconds"), r=Sum("reactions"))
    if active is None:
        active = active_members(guild, win, now)
    return Totals(agg["m"] or 0, agg["v"] or 0, agg["r"] or 0, active)


def active_members(guild: Guild, win: Window, now: datetime) -> int:
    """Unique active members of ``win``. Of a window that ends today: the members last seen
    since it started (an index range on last_seen); of a past window: counted from member days
    once and cached, its days being complete; of all time: members with any activity."""
    if win.first_day is None:
        return _counted_members(guild).filter(MEMBER_ACTIVE).count()
    if win.last_day >= now.astimezone(win.zone).date():
        return _counted_members(guild).filter(last_seen__gte=win.start).count()
    return cache.get_or_set(
        _active_key(guild, win.first_day, win.last_day),
        lambda: _days(guild, win).filter(ACTIVE).values("user_id").distinct().count(),
        timeout=input_max_age(),
    )


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
    summary = summaries(guild, [win], now).get(period)
    current = totals(guild, win, now, summary and summary["activeUsers"])
    previous_window = win.previous()
    previous = (
        totals(guild, previous_window, now, summary and summary["previousActiveUsers"])
        if previous_window
        else None
    )
    top = (
        _ranked(summary["byMessages"][:3])
        if summary
        else member_totals(guild, win).order_by("-messages", "user_id")[:3]
    )
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
    rows = _filtered_members(
        guild,
        min_messages=min_messages,
        min_voice_minutes=min_voice_minutes,
        active_only=active_only,
        now=now,
    )
    if not guild.count_bots:
        rows = rows.filter(is_bot=False)
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


def _filtered_members(
    guild: Guild,
    *,
    min_messages: int | None,
    min_voice_minutes: int | None,
    active_only: bool,
    now: datetime,
) -> QuerySet[MemberStats]:
    rows = MemberStats.objects.filter(guild_id=guild.guild_id)
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
) -> int:
    """How many members the list has. Unfiltered, a big guild's count comes from its "all"
    summary (under 60 s old). Otherwise all matching rows minus the matching bots: both counts
    can be read from an index alone (the member index, the partial index of bots), where
    counting non-bots directly visits every member's row for ``is_bot``."""
    if min_messages is None and min_voice_minutes is None and not active_only:
        summary = summaries(guild, [window("all", zone_of(guild.timezone), now)], now)
        if "all" in summary and "members" in summary["all"]:
            return summary["all"]["members"]
    rows = _filtered_members(
        guild,
        min_messages=min_messages,
        min_voice_minutes=min_voice_minutes,
        active_only=active_only,
        now=now,
    )
    total = rows.count()
    return total if guild.count_bots else total - rows.filter(is_bot=True).count()


def member_page(
    rows: QuerySet[MemberStats], *, total: int, page: int, page_size: int
) -> dict[str, Any]:
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
    summary = summaries(guild, [win], now).get(period)
    if summary:
        rows = _ranked(summary[category][:limit], category)
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
    windows = {period: window(period, zone, now) for period in ("today", "week", "month")}
    summary = summaries(guild, list(windows.values()), now)
    month = windows["month"]
    days = list(  # the month's days serve all three windows: one query
        GuildDailyStats.objects.filter(
            guild_id=guild.guild_id, day__gte=month.first_day, day__lte=month.last_day
        ).values_list("day", "messages", "voice_seconds", "reactions")
    )
    for period, win in windows.items():
        inside = [row for row in days if win.first_day <= row[0] <= win.last_day]
        t = Totals(
            sum(row[1] for row in inside),
            sum(row[2] for row in inside),
            sum(row[3] for row in inside),
            summary[period]["activeUsers"]
            if period in summary
            else active_members(guild, win, now),
        )
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
    members = (
        _ranked(summary["week"]["byMessages"][:5])
        if "week" in summary
        else member_totals(guild, week).order_by("-messages", "user_id")[:5]
    )
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


# --- period summaries: precomputed rankings of big guilds ------------------------------------

SUMMARY_TOP = 100  # the largest leaderboard limit
CATEGORIES = ("messages", "voice", "reactions", "overall")


def summaries(guild: Guild, windows: list[Window], now: datetime) -> dict[str, dict[str, Any]]:
    """The fresh period summaries of ``guild`` for ``windows``, by period (one query).

    A row is used only if it was computed less than ``input_max_age()`` ago for the same days (a
    summary computed before local midnight describes yesterday's windows)."""
    wanted = {win.period: win for win in windows}
    rows = PeriodSummary.objects.filter(
        guild_id=guild.guild_id,
        period__in=list(wanted),
        computed_at__gte=now - timedelta(seconds=input_max_age()),
    ).values_list("period", "first_day", "last_day", "data")
    return {
        period: data
        for period, first_day, last_day, data in rows
        if (first_day, last_day) == (wanted[period].first_day, wanted[period].last_day)
    }


def _score(category: str, messages: int, voice: int, reactions: int) -> int:
    """A leaderboard score, as the live query computes it (voice in rounded minutes)."""
    if category == "messages":
        return messages
    if category == "voice":
        return minutes(voice)
    if category == "reactions":
        return reactions
    return messages + minutes(voice) + reactions


def _ranked(rows: list[list[int]], category: str = "messages") -> list[dict[str, int]]:
    """Summary rows ``[user_id, messages, voice seconds, reactions]`` as the live queries'."""
    return [
        {
            "user_id": user,
            "messages": messages,
            "voice": voice,
            "reactions": reactions,
            "score": _score(category, messages, voice, reactions),
        }
        for user, messages, voice, reactions in rows
    ]


def compute_summary(guild: Guild, period: str, now: datetime) -> tuple[Window, dict[str, Any]]:
    """Every member's figures of the period, read once (the same queryset as the live answers)
    and reduced to what the API shows: the first SUMMARY_TOP members in the order of the
    dashboard/overview (messages, ties by user id, zeros included) and of each leaderboard
    category (positive scores only), plus the active-member counts of the period and of the
    previous one."""
    win = window(period, zone_of(guild.timezone), now)
    rows = [
        (user, messages or 0, voice or 0, reactions or 0)
        for user, messages, voice, reactions in member_totals(guild, win).values_list(
            "user_id", "messages", "voice", "reactions"
        )
    ]
    data: dict[str, Any] = {
        "members": _counted_members(guild).count() if period == "all" else None,
        "activeUsers": active_members(guild, win, now),
        "previousActiveUsers": None,
        "byMessages": [
            list(row) for row in heapq.nsmallest(SUMMARY_TOP, rows, key=lambda r: (-r[1], r[0]))
        ],
    }
    previous = win.previous()
    if previous is not None:
        data["previousActiveUsers"] = active_members(guild, previous, now)
        spans = {
            (first, last)
            for granularity in ("day", "week")
            for first, last in _day_spans(
                boundaries(granularity, win.first_day, win.last_day, win.zone), win.zone
            )
        }
        data["activeBySpan"] = {
            _span_key(first, last): count
            for (first, last), count in _count_distinct_active(guild, sorted(spans)).items()
        }
    for category in CATEGORIES:
        scored = [(_score(category, *row[1:]), row) for row in rows]
        data[category] = [
            list(row)
            for _score_, row in heapq.nsmallest(
                SUMMARY_TOP,
                (item for item in scored if item[0] > 0),
                key=lambda item: (-item[0], item[1][0]),
            )
        ]
    return win, data


def summary_min_members() -> int:
    return int(settings.GUILDSTATS.get("API_SUMMARY_MIN_MEMBERS", 10_000))


def refresh_summaries(now: datetime | None = None) -> int:
    """Recompute the period summaries of every guild with at least API_SUMMARY_MIN_MEMBERS
    member rows (Beat, every 30 s); return how many rows were written. ``computed_at`` is the
    time the computation started, so a row's age never understates its staleness."""
    now = now or timezone.now()
    big = (
        MemberStats.objects.values("guild_id")
        .annotate(n=Count("id"))
        .filter(n__gte=summary_min_members())
        .values_list("guild_id", flat=True)
    )
    written = 0
    for guild in Guild.objects.filter(guild_id__in=list(big)):
        for period in PERIODS:
            win, data = compute_summary(guild, period, now)
            PeriodSummary.objects.update_or_create(
                guild_id=guild.guild_id,
                period=period,
                defaults={
                    "first_day": win.first_day,
                    "last_day": win.last_day,
                    "computed_at": now,
                    "data": data,
                },
            )
            written += 1
    return written


# --- activity series and heatmap: read from the snapshots, never from raw events ---------------

GRANULARITIES = ("hour", "day", "week")
HEATMAP_PERIODS = ("week", "month", "all")
FIVE_MINUTES = MetricsSnapshot.FIVE_MINUTES
HOURLY = MetricsSnapshot.HOURLY
DAILY = MetricsSnapshot.DAILY
LONGEST_BUCKET = timedelta(hours=25)  # a daily bucket on a DST day
FIVE_MINUTE_RETENTION = timedelta(days=30)
_TICK = timedelta(microseconds=1)
FIXED_LENGTH = {HOURLY: timedelta(hours=1), FIVE_MINUTES: timedelta(minutes=5)}


@dataclass(frozen=True)
class Bucket:
    """One snapshot row, as the series read it (``data`` is never loaded)."""

    kind: str
    start: datetime
    end: datetime
    messages: int
    voice_seconds: int
    reactions: int
    active_users: int


def _buckets(guild_id: int, kind: str, since: datetime, end: datetime) -> list[Bucket]:
    """Rows of one granularity that overlap [since, end), in order, through the unique index
    (guild_id, period_type, period_start): a bucket starts at most 25 hours before it ends."""
    rows = MetricsSnapshot.objects.filter(
        guild_id=guild_id,
        period_type=kind,
        period_start__gte=since - LONGEST_BUCKET,
        period_start__lt=end,
        period_end__gt=since,
    ).order_by("period_start")
    counts = ("total_messages", "total_voice_seconds", "total_reactions", "unique_active_users")
    if kind == DAILY:  # 23, 24 or 25 hours
        return [
            Bucket(kind, *values)
            for values in rows.values_list("period_start", "period_end", *counts)
        ]
    # fixed length: not loading period_end halves the timestamps parsed (720 hours a month)
    length = FIXED_LENGTH[kind]
    return [
        Bucket(kind, start, start + length, *values)
        for start, *values in rows.values_list("period_start", *counts)
    ]


def compose(
    guild_id: int,
    kinds: tuple[str, ...],
    start: datetime,
    end: datetime,
    fits: Callable[[Bucket], bool],
) -> list[Bucket]:
    """The snapshot rows that tile [start, end) without overlap, coarsest first.

    A coarse row is used when it lies inside [start, end) and ``fits`` (inside one point of the
    series); the time it covers is then skipped at the finer levels. Finer rows fill the rest:
    the hours of a day whose daily row is not filled yet, the 5-minute buckets of the current
    hour, or, in a zone whose offset is not a whole hour, the 5-minute buckets of the hours that
    straddle two local hours. Storage has no zero rows, and each granularity is filled in time
    order, so while the coarse rows fit, the finer level is read only after the last coarse row.
    """
    used: list[Bucket] = []
    covered: list[tuple[datetime, datetime]] = []  # sorted, disjoint
    since, aligned = start, True
    for level, kind in enumerate(kinds):
        finest = level == len(kinds) - 1
        fresh: list[tuple[datetime, datetime]] = []
        for row in _buckets(guild_id, kind, since if aligned else start, end):
            if row.start < start or row.end > end or not fits(row):
                if finest and start <= row.start < end:
                    used.append(row)  # nothing finer: counted where it starts
                else:
                    aligned = False
                continue
            if _inside(covered, row):
                continue
            used.append(row)
            fresh.append((row.start, row.end))
            since = max(since, row.end)
        covered = sorted(covered + fresh)
    return used


def _inside(covered: list[tuple[datetime, datetime]], row: Bucket) -> bool:
    at = bisect_right(covered, (row.start, datetime.max.replace(tzinfo=UTC))) - 1
    return at >= 0 and covered[at][0] <= row.start and row.end <= covered[at][1]


def _series_first_day(guild: Guild, win: Window) -> date:
    """The window's first day; for "all", the local day of the guild's first snapshot (today
    when there is none)."""
    if win.first_day is not None:
        return win.first_day
    first = MetricsSnapshot.objects.filter(guild_id=guild.guild_id).aggregate(
        first=Min("period_start")
    )["first"]
    return win.last_day if first is None else min(first.astimezone(win.zone).date(), win.last_day)


def activity(guild: Guild, *, period: str, granularity: str, now: datetime) -> dict[str, Any]:
    """A zero-filled time series of the guild's activity in its time zone (seed 000 §8.5).

    Sums come from the snapshots (daily rows, hourly rows, 5-minute rows, see ``compose``).
    ``uniqueActiveUsers`` of a point is its snapshot's own count when one bucket is the whole
    point; distinct members do not add up across buckets, so a week, or a day not rolled up yet,
    counts its distinct active members in the per-day member counters, and an hour made of
    5-minute buckets (the current one) has null.
    """
    zone = zone_of(guild.timezone)
    win = window(period, zone, now)
    first_day = _series_first_day(guild, win)
    edges = boundaries(granularity, first_day, win.last_day, zone)
    start, end = edges[0], edges[-1]

    def point(moment: datetime) -> int:
        return bisect_right(edges, moment) - 1

    def fits(row: Bucket) -> bool:
        return point(row.start) == point(row.end - _TICK)

    kinds = (HOURLY, FIVE_MINUTES) if granularity == "hour" else (DAILY, HOURLY, FIVE_MINUTES)
    sums = [[0, 0, 0] for _ in edges[:-1]]
    parts: list[list[Bucket]] = [[] for _ in edges[:-1]]
    for row in compose(guild.guild_id, kinds, start, end, fits):
        at = point(row.start)
        sums[at][0] += row.messages
        sums[at][1] += row.voice_seconds
        sums[at][2] += row.reactions
        parts[at].append(row)
    users: list[int | None] = []
    composite: dict[int, tuple[date, date]] = {}
    for at, rows in enumerate(parts):
        if not rows:
            users.append(0)
        elif len(rows) == 1 and (rows[0].start, rows[0].end) == (edges[at], edges[at + 1]):
            users.append(rows[0].active_users)
        else:
            users.append(None)
            if granularity != "hour":
                last = (edges[at + 1] - _TICK).astimezone(zone).date()
                composite[at] = (edges[at].astimezone(zone).date(), last)
    summary = summaries(guild, [win], now).get(period, {}) if win.first_day else {}
    for at, count in _distinct_active(guild, composite, now, summary).items():
        users[at] = count
    return {
        "guildId": str(guild.guild_id),
        "period": period,
        "granularity": granularity,
        "timezone": zone.key,
        "periodStart": iso(start),
        "periodEnd": iso(end),
        "dataPoints": [
            {
                "timestamp": iso(edges[at]),
                "totalMessages": messages,
                "totalVoiceMinutes": minutes(voice),
                "totalReactions": reactions,
                "uniqueActiveUsers": users[at],
            }
            for at, (messages, voice, reactions) in enumerate(sums)
        ],
    }


def _distinct_active(
    guild: Guild,
    spans: dict[int, tuple[date, date]],
    now: datetime,
    summary: dict[str, Any],
) -> dict[int, int]:
    """Distinct active members per run of local days: from the period summary of a big guild
    (under 60 s old), else in one query over member_daily_stats. Runs of days already over are
    cached for the API's longest staleness (only a late replay changes them)."""
    today = now.astimezone(zone_of(guild.timezone)).date()
    known = summary.get("activeBySpan", {})
    found: dict[int, int] = {}
    wanted: dict[int, tuple[date, date]] = {}
    for at, (first, last) in spans.items():
        value = known.get(_span_key(first, last))
        if value is None and last < today:
            value = cache.get(_active_key(guild, first, last))
        if value is None:
            wanted[at] = (first, last)
        else:
            found[at] = value
    counts = _count_distinct_active(guild, list(wanted.values()))
    for at, (first, last) in wanted.items():
        found[at] = counts[(first, last)]
        if last < today:
            cache.set(_active_key(guild, first, last), found[at], input_max_age())
    return found


def _count_distinct_active(
    guild: Guild, spans: list[tuple[date, date]]
) -> dict[tuple[date, date], int]:
    """Distinct members with activity in each run of days, in one query (none for no runs)."""
    if not spans:
        return {}
    counts = (
        MemberDailyStats.objects.filter(
            guild_id=guild.guild_id,
            day__gte=min(first for first, _ in spans),
            day__lte=max(last for _, last in spans),
        )
        .filter(ACTIVE)
        .aggregate(
            **{
                f"p{n}": Count("user_id", distinct=True, filter=Q(day__gte=a, day__lte=b))
                for n, (a, b) in enumerate(spans)
            }
        )
    )
    return {span: counts[f"p{n}"] or 0 for n, span in enumerate(spans)}


def _day_spans(edges: list[datetime], zone: ZoneInfo) -> list[tuple[date, date]]:
    """The local days (first, last) of each point of a day or week series."""
    return [
        (start.astimezone(zone).date(), (end - _TICK).astimezone(zone).date())
        for start, end in pairwise(edges)
    ]


def _span_key(first: date, last: date) -> str:
    return f"{first}:{last}"


def _active_key(guild: Guild, first: date, last: date) -> str:
    return f"api:active:{guild.guild_id}:{first}:{last}"


def heatmap(guild: Guild, *, period: str, now: datetime) -> dict[str, Any]:
    """Activity by local day of the week (ISO: 1 = Monday) and local hour, over the period.

    Hourly rows where an hour of the guild's zone is a UTC hour; 5-minute rows for the current
    hour and, in a zone whose offset is not a whole hour, for hours that straddle two local hours
    while they are kept (30 days); an older straddling hour counts in the local hour it starts in.
    A DST day's repeated hour counts twice in its cell, its missing hour not at all.
    """
    zone = zone_of(guild.timezone)
    win = window(period, zone, now)
    start = midnight(_series_first_day(guild, win), zone)
    end = win.end
    keep_five_minutes = now - FIVE_MINUTE_RETENTION

    def fits(row: Bucket) -> bool:
        local = row.start.astimezone(zone)
        inside = local.minute * 60 + local.second + (row.end - row.start).total_seconds() <= 3600
        return inside or row.end <= keep_five_minutes

    cells = {(day, hour): [0, 0, 0] for day in range(1, 8) for hour in range(24)}
    for row in compose(guild.guild_id, (HOURLY, FIVE_MINUTES), start, end, fits):
        local = row.start.astimezone(zone)
        cell = cells[(local.isoweekday(), local.hour)]
        cell[0] += row.messages
        cell[1] += row.voice_seconds
        cell[2] += row.reactions
    return {
        "guildId": str(guild.guild_id),
        "period": period,
        "timezone": zone.key,
        "periodStart": iso(start),
        "periodEnd": iso(end),
        "cells": [
            {
                "dayOfWeek": day,
                "hour": hour,
                "totalMessages": messages,
                "totalVoiceMinutes": minutes(voice),
                "totalReactions": reactions,
            }
            for (day, hour), (messages, voice, reactions) in cells.items()
        ],
    }
