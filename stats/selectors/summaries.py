"""Big guilds' precomputed rankings and active counts (``period_summaries``), and how they are
computed; the Beat refresh that writes them is ``stats.periodic``."""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from guilds.models import Guild
from guilds.selectors import zone_of
from stats.models import (
    PeriodSummary,
)
from stats.selectors.counts import (
    active_members,
    count_distinct_active,
    counted_members,
    day_spans,
    input_max_age,
    member_totals,
    minutes,
    span_key,
)
from stats.selectors.periods import Window, boundaries, window
from stats.selectors.shapes import Category, Granularity, Period

# --- period summaries: precomputed rankings of big guilds ------------------------------------

SUMMARY_TOP = 100  # the largest leaderboard limit
CATEGORIES: tuple[Category, ...] = ("messages", "voice", "reactions", "overall")
# the points whose distinct active members a summary holds (``activeBySpan``)
SPAN_GRANULARITIES: tuple[Granularity, ...] = ("day", "week")


def summaries(guild: Guild, windows: list[Window], now: datetime) -> dict[str, dict[str, Any]]:
    """The fresh period summaries of ``guild`` for ``windows``, by period (one query).

    A row is used only if it was computed less than ``input_max_age()`` ago for the same days (a
    summary computed before local midnight describes yesterday's windows)."""
    wanted: dict[str, Window] = {win.period: win for win in windows}
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


def score(category: Category, messages: int, voice: int, reactions: int) -> int:
    """A leaderboard score, as the live query computes it (voice in rounded minutes)."""
    if category == "messages":
        return messages
    if category == "voice":
        return minutes(voice)
    if category == "reactions":
        return reactions
    return messages + minutes(voice) + reactions


def ranked(rows: list[list[int]], category: Category = "messages") -> list[dict[str, int]]:
    """Summary rows ``[user_id, messages, voice seconds, reactions]`` as the live queries'."""
    return [
        {
            "user_id": user,
            "messages": messages,
            "voice": voice,
            "reactions": reactions,
            "score": score(category, messages, voice, reactions),
        }
        for user, messages, voice, reactions in rows
    ]


def compute_summary(guild: Guild, period: Period, now: datetime) -> tuple[Window, dict[str, Any]]:
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
        "members": counted_members(guild).count() if period == "all" else None,
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
            for granularity in SPAN_GRANULARITIES
            for first, last in day_spans(boundaries(granularity, *win.days(), win.zone), win.zone)
        }
        data["activeBySpan"] = {
            span_key(first, last): count
            for (first, last), count in count_distinct_active(guild, sorted(spans)).items()
        }
    for category in CATEGORIES:
        scored = [(score(category, *row[1:]), row) for row in rows]
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
