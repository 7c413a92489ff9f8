"""What the pages show, from the same readers and selectors as the API (no figure is computed
here: the cards are the dashboard reader's totals, the invites selectors' joins and leaves and
the moderation selectors' cases of the same window; the chart is the activity reader's series).

Page data is cached like the API's answers (``API_CACHE_SECONDS``) under a per-guild
generation that the live hook (``dashboard.live``) moves after every processed chunk, so a page
or a live refresh never shows figures older than the last push.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import cache

from guilds.models import Guild
from guilds.selectors import zone_of
from guilds.shapes import PeriodCoverage
from invites import selectors as invites
from moderation import selectors as moderation
from moderation.shapes import Case, CasePage
from stats.selectors import heatmap, members, series, totals
from stats.selectors.names import with_member_names
from stats.selectors.periods import PERIODS, window
from stats.selectors.shapes import (
    Category,
    Granularity,
    Heatmap,
    HeatmapPeriod,
    MemberPage,
    Period,
)

PERIOD_LABELS: dict[Period, str] = {
    "today": "Today",
    "week": "7 days",
    "month": "30 days",
    "all": "All time",
}
GRANULARITY_LABELS: dict[Granularity, str] = {"hour": "Hour", "day": "Day", "week": "Week"}
DEFAULT_GRANULARITY: dict[Period, Granularity] = {
    "today": "hour",
    "week": "day",
    "month": "day",
    "all": "week",
}
CATEGORIES: tuple[Category, ...] = ("messages", "voice", "reactions", "overall")
HEATMAP_PERIOD: dict[Period, HeatmapPeriod] = {
    "today": "week",
    "week": "week",
    "month": "month",
    "all": "all",
}


def generation_key(guild_id: int) -> str:
    return f"dashboard:gen:{guild_id}"


def generation(guild_id: int) -> int | str:
    """The guild's page-cache generation (moved by ``dashboard.live`` after each chunk: a
    value never used before; 0 until the first chunk)."""
    found: int | str = cache.get(generation_key(guild_id), 0)
    return found


def shared_across_processes() -> bool:
    """Whether the cache and the channel layer reach every process (Redis). Without Redis
    (``make run``'s embedded mode) the worker that applies events is another process than the
    web server: it cannot move this process's page generation nor push to its sockets, so pages
    are computed fresh and poll every 2 s instead."""
    return settings.DASHBOARD_SHARED


Value = TypeVar("Value")


def cached(guild: Guild, name: str, compute: Callable[[], Value], *params: object) -> Value:
    if settings.API_CACHE_SECONDS <= 0 or not shared_across_processes():
        return compute()
    current = generation(guild.guild_id)
    key = ":".join(["dashboard", str(guild.guild_id), str(current), name, *map(str, params)])
    # the stubs allow None: the cache holds what ``compute`` made, or answers it when it fails
    return cast(Value, cache.get_or_set(key, compute, timeout=settings.API_CACHE_SECONDS))


def period_or_default(value: str | None) -> Period:
    return value if value in PERIODS else "week"


def granularity_or_default(period: Period, value: str | None) -> Granularity:
    if value not in series.GRANULARITIES or (period == "all" and value == "hour"):
        return DEFAULT_GRANULARITY[period]
    return value


# --- the cards ----------------------------------------------------------------------------------
def _joins_leaves(guild: Guild, first_day: date, last_day: date) -> tuple[int, int]:
    days = invites.growth(guild.guild_id, first_day, last_day)
    return sum(d["joins"] for d in days), sum(d["leaves"] for d in days)


def cards(guild: Guild, period: Period, now: datetime) -> dict[str, Any]:
    """The dashboard reader's answer (exactly the API's ``stats/dashboard``) and the seven
    cards, each with its change against the previous period of equal length."""
    body = totals.dashboard(guild, period, now)
    win = window(period, zone_of(guild.timezone), now)
    previous = win.previous()
    if previous is None:  # all time
        growth = invites.totals(guild.guild_id)
        joins, leaves = growth["joins"], growth["leaves"]
        actions = moderation.case_query(guild.guild_id).count()
        before = None
    else:
        joins, leaves = _joins_leaves(guild, *win.days())
        actions = moderation.case_query(guild.guild_id, since=win.start, until=win.end).count()
        before = (
            *_joins_leaves(guild, *previous.days()),
            moderation.case_query(guild.guild_id, since=previous.start, until=previous.end).count(),
        )

    def change(value: int, index: int) -> float | None:
        return None if before is None else totals.change_percent(value, before[index])

    rows = [
        ("messages", "Messages", body["totalMessages"], body["messagesChange"], False),
        ("voice", "Voice minutes", body["totalVoiceMinutes"], body["voiceMinutesChange"], False),
        ("reactions", "Reactions", body["totalReactions"], body["reactionsChange"], False),
        ("active", "Active members", body["uniqueActiveUsers"], body["activeUsersChange"], False),
        ("joins", "Joins", joins, change(joins, 0), False),
        ("leaves", "Leaves", leaves, change(leaves, 1), True),
        ("moderation", "Moderation actions", actions, change(actions, 2), True),
    ]
    return {
        "dashboard": body,
        "coverageNote": coverage_note(body["coverage"]),
        "cards": [
            {
                "key": key,
                "label": label,
                "value": value,
                "change": delta,
                # a rise in leaves or moderation actions is bad, a fall good
                "tone": None if not delta else ("bad" if (delta > 0) == rise_is_bad else "good"),
            }
            for key, label, value, delta, rise_is_bad in rows
        ],
    }


def coverage_note(coverage: PeriodCoverage) -> str | None:
    """A sentence when the collector was not collecting for part of the period (the API's
    ``coverage``): the figures of the missing time are unknown, not zero. None otherwise."""
    covered_seconds, measured = coverage["coveredSeconds"], coverage["periodSeconds"]
    if coverage["covered"] is not False or not measured or covered_seconds is None:
        return None
    share = 100 * covered_seconds / measured
    gaps = len(coverage["gaps"])
    return (
        f"Collected for {share:.0f}% of this period ({gaps} gap{'s' if gaps != 1 else ''}): "
        "activity outside collection is unknown, not zero."
    )


def live(guild: Guild, period: Period, granularity: Granularity, now: datetime) -> dict[str, Any]:
    """What a live refresh needs: the cards and the activity series."""
    return {
        **cached(guild, "cards", lambda: cards(guild, period, now), period),
        "activity": cached(
            guild,
            "activity",
            lambda: series.activity(guild, period=period, granularity=granularity, now=now),
            period,
            granularity,
        ),
    }


def dashboard_page(
    guild: Guild, period: Period, granularity: Granularity, now: datetime
) -> dict[str, Any]:
    heat_period = HEATMAP_PERIOD[period]
    return {
        **live(guild, period, granularity, now),
        "heatmap": cached(
            guild,
            "heatmap",
            lambda: heatmap_grid(heatmap.heatmap(guild, period=heat_period, now=now)),
            heat_period,
        ),
        "leaderboards": cached(
            guild,
            "leaderboards",
            lambda: [
                members.leaderboard(guild, category=c, period=period, limit=10, now=now)
                for c in CATEGORIES
            ],
            period,
        ),
        "overview": cached(guild, "overview", lambda: totals.overview(guild, now)),
    }


def heatmap_grid(body: Heatmap) -> dict[str, Any]:
    """The heatmap reader's cells as rows of days (Monday first) with a shade per cell."""
    cells = body["cells"]
    top = max((c["totalMessages"] for c in cells), default=0)
    rows: dict[int, list[dict[str, Any]]] = {}
    for cell in cells:
        shade = 0 if not top else round(cell["totalMessages"] / top, 2)
        rows.setdefault(cell["dayOfWeek"], []).append({**cell, "shade": shade})
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    return {
        **body,
        "rows": [{"day": names[d - 1], "cells": rows[d]} for d in sorted(rows)],
        "max": top,
    }


# --- members ------------------------------------------------------------------------------------
MEMBER_SORTS = tuple(members.SORT_FIELDS)


def member_list(guild: Guild, query: dict[str, Any], now: datetime) -> MemberPage:
    """The members reader's page, with the API's parameters (``stats/members``)."""
    filters = {
        "min_messages": query["minMessages"],
        "min_voice_minutes": query["minVoiceMinutes"],
        "active_only": query["activeOnly"],
        "now": now,
        "search": query.get("search"),
    }
    rows = members.member_query(
        guild, sort_by=query["sortBy"], sort_order=query["sortOrder"], **filters
    )
    return cached(
        guild,
        "members",
        lambda: members.member_page(
            rows,
            total=members.member_count(guild, **filters),
            page=query["page"],
            page_size=query["pageSize"],
        ),
        *(f"{k}={v}" for k, v in sorted(query.items())),
    )


def member_detail(guild: Guild, user_id: int, now: datetime) -> dict[str, Any] | None:
    """One member: their counters (the members reader's row), their joins and leaves and
    inviter (the invites selector) and moderation history (the moderation selector), as the
    API's ``moderation/users/{id}`` answers."""
    row = (
        members.member_query(
            guild,
            sort_by="messages",
            sort_order="desc",
            min_messages=None,
            min_voice_minutes=None,
            active_only=False,
            now=now,
        )
        .filter(user_id=user_id)
        .first()
    )
    membership = invites.membership(guild.guild_id, user_id)
    history = moderation.user_cases(guild.guild_id, user_id)
    if row is None and membership is None and not history["cases"]:
        return None
    person: dict[str, Any] = {"userId": str(user_id)}
    with_member_names(guild.guild_id, [person])
    return {
        **person,
        "stats": members.member_row(row) if row is not None else None,
        "membership": membership,
        **history,
    }


# --- moderation and invites ---------------------------------------------------------------------
def cases(guild: Guild, filters: dict[str, Any], page: int) -> CasePage:
    rows = moderation.case_query(guild.guild_id, **filters)
    return moderation.case_page(rows, page=page, page_size=25)


def recent(guild: Guild, limit: int = 10) -> list[Case]:
    return moderation.recent_cases(guild.guild_id, limit)


def invites_page(guild: Guild, now: datetime, days: int = 30) -> dict[str, Any]:
    today = now.astimezone(zone_of(guild.timezone or "UTC")).date()
    since = today - timedelta(days=days - 1)
    return cached(
        guild,
        "invites",
        lambda: {
            "stats": invites.invite_stats(guild.guild_id, limit=25, now=now),
            "days": invites.growth(guild.guild_id, since, today),
            "totals": invites.totals(guild.guild_id),
            "retention": invites.retention(guild.guild_id, now),
        },
        days,
    )
