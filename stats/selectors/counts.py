"""What every reader shares: the counted members and their days of a window, active members,
distinct active members over spans of days (cached), voice minutes, the staleness bound."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import TypedDict, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet, Sum

from guilds.models import Guild
from stats.models import (
    MemberDailyStats,
    MemberStats,
)
from stats.selectors.periods import Window
from stats.services.rules import counted_rows

TICK = timedelta(microseconds=1)


def minutes(seconds: int | None) -> int:
    return ((seconds or 0) + 30) // 60


def counted_members(guild: Guild) -> QuerySet[MemberStats]:
    return counted_rows(MemberStats.objects.filter(guild_id=guild.guild_id), guild)


def member_days(guild: Guild, win: Window) -> QuerySet[MemberDailyStats]:
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


def active_members(guild: Guild, win: Window, now: datetime) -> int:
    """Unique active members of ``win``. Of a window that ends today: the members last seen
    since it started (an index range on last_seen); of a past window: counted from member days
    once and cached, its days being complete; of all time: members with any activity."""
    if win.first_day is None:
        return counted_members(guild).filter(MEMBER_ACTIVE).count()
    if win.last_day >= now.astimezone(win.zone).date():
        return counted_members(guild).filter(last_seen__gte=win.start).count()
    # the stubs allow None: Django answers the count it computed even when the cache fails
    return cast(
        int,
        cache.get_or_set(
            active_key(guild, win.first_day, win.last_day),
            lambda: member_days(guild, win).filter(ACTIVE).values("user_id").distinct().count(),
            timeout=input_max_age(),
        ),
    )


class MemberTotals(TypedDict):
    """A row of ``member_totals`` (a sum is None over no rows)."""

    user_id: int
    messages: int | None
    voice: int | None
    reactions: int | None


def member_totals(
    guild: Guild, win: Window
) -> QuerySet[MemberStats | MemberDailyStats, MemberTotals]:
    """Per member (user_id, messages, voice_seconds, reactions) for the window, as a queryset."""
    if win.first_day is None:
        return (
            counted_members(guild)
            .values("user_id")
            .annotate(
                messages=F("total_messages"),
                voice=F("total_voice_seconds"),
                reactions=F("total_reactions_given"),
            )
        )
    return (
        member_days(guild, win)
        .values("user_id")
        .annotate(
            messages=Sum("messages"), voice=Sum("voice_seconds"), reactions=Sum("reactions_given")
        )
    )


def count_distinct_active(
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


def day_spans(edges: list[datetime], zone: ZoneInfo) -> list[tuple[date, date]]:
    """The local days (first, last) of each point of a day or week series."""
    return [
        (start.astimezone(zone).date(), (end - TICK).astimezone(zone).date())
        for start, end in pairwise(edges)
    ]


def span_key(first: date, last: date) -> str:
    return f"{first}:{last}"


def active_key(guild: Guild, first: date, last: date) -> str:
    return f"api:active:{guild.guild_id}:{first}:{last}"
