"""Totals of a period (dashboard, overview): ``guild_daily_stats`` over the window's days;
per-member figures from ``member_stats`` for "all" and ``member_daily_stats`` otherwise (exact,
in the guild's time zone). Voice is stored in seconds and shown in whole minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Sum

from core.times import instant, iso
from guilds.models import Guild
from guilds.selectors import period_coverage, zone_of
from stats.models import (
    ChannelDailyStats,
    GuildDailyStats,
)
from stats.selectors.counts import (
    active_members,
    member_totals,
    minutes,
)
from stats.selectors.names import with_channel_names, with_member_names
from stats.selectors.periods import Window, midnight, window
from stats.selectors.shapes import (
    Dashboard,
    Overview,
    OverviewMember,
    Period,
    PeriodTotals,
    TopChannel,
)
from stats.selectors.summaries import ranked, summaries


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


def change_percent(current: int, previous: int | None) -> float | None:
    """Change against the previous period, in %, one decimal; None when there is nothing to
    compare with (previous is 0 or there is no previous period)."""
    if not previous:
        return None
    return round((current - previous) / previous * 100, 1)


def dashboard(guild: Guild, period: Period, now: datetime) -> Dashboard:
    win = window(period, zone_of(guild.timezone), now)
    summary = summaries(guild, [win], now).get(period)
    current = totals(guild, win, now, summary["activeUsers"] if summary else None)
    previous_window = win.previous()
    previous = (
        totals(guild, previous_window, now, summary["previousActiveUsers"] if summary else None)
        if previous_window
        else None
    )
    top = (
        ranked(summary["byMessages"][:3])
        if summary
        else member_totals(guild, win).order_by("-messages", "user_id")[:3]
    )
    body: Dashboard = {
        "guildId": str(guild.guild_id),
        "period": period,
        "totalMessages": current.messages,
        "totalVoiceMinutes": minutes(current.voice_seconds),
        "totalReactions": current.reactions,
        "uniqueActiveUsers": current.active_users,
        "messagesChange": change_percent(current.messages, previous.messages if previous else None),
        "voiceMinutesChange": change_percent(
            minutes(current.voice_seconds), minutes(previous.voice_seconds) if previous else None
        ),
        "reactionsChange": change_percent(
            current.reactions, previous.reactions if previous else None
        ),
        "activeUsersChange": change_percent(
            current.active_users, previous.active_users if previous else None
        ),
        "topMembers": [
            {
                "displayName": None,
                "username": None,
                "avatarUrl": None,
                "userId": str(row["user_id"]),
                "totalMessages": row["messages"] or 0,
                "totalVoiceMinutes": minutes(row["voice"]),
            }
            for row in top
            if row["messages"]
        ],
        "periodStart": iso(win.start),
        "periodEnd": instant(win.end),
        "coverage": period_coverage(guild.guild_id, win.start, win.end, now),
    }
    with_member_names(guild.guild_id, body["topMembers"])
    return body


def overview(guild: Guild, now: datetime) -> Overview:
    """Seed 001's overview: today/week/month totals, top channels and members of the week."""
    zone = zone_of(guild.timezone)
    periods: tuple[Period, ...] = ("today", "week", "month")
    windows = {period: window(period, zone, now) for period in periods}
    summary = summaries(guild, list(windows.values()), now)
    month_first, month_last = windows["month"].days()
    days = list(  # the month's days serve all three windows: one query
        GuildDailyStats.objects.filter(
            guild_id=guild.guild_id, day__gte=month_first, day__lte=month_last
        ).values_list("day", "messages", "voice_seconds", "reactions")
    )
    period_totals: dict[Period, PeriodTotals] = {}
    for period, win in windows.items():
        first, last = win.days()
        inside = [row for row in days if first <= row[0] <= last]
        t = Totals(
            sum(row[1] for row in inside),
            sum(row[2] for row in inside),
            sum(row[3] for row in inside),
            summary[period]["activeUsers"]
            if period in summary
            else active_members(guild, win, now),
        )
        period_totals[period] = {
            "totalMessages": t.messages,
            "totalVoiceMinutes": minutes(t.voice_seconds),
            "totalReactions": t.reactions,
            "uniqueActiveUsers": t.active_users,
        }
    week = window("week", zone, now)
    week_first, week_last = week.days()
    channels = (
        ChannelDailyStats.objects.filter(
            guild_id=guild.guild_id, day__gte=week_first, day__lte=week_last
        )
        .values("channel_id")
        .annotate(messages=Sum("messages"), voice=Sum("voice_seconds"))
        .order_by("-messages", "-voice", "channel_id")[:5]
    )
    top_channels: list[TopChannel] = [
        {
            "channelId": str(c["channel_id"]),
            "name": None,
            "type": None,
            "deleted": False,
            "category": None,
            "messages": c["messages"],
            "voiceMinutes": minutes(c["voice"]),
        }
        for c in channels
    ]
    members = (
        ranked(summary["week"]["byMessages"][:5])
        if "week" in summary
        else member_totals(guild, week).order_by("-messages", "user_id")[:5]
    )
    top_members: list[OverviewMember] = [
        {
            "displayName": None,
            "username": None,
            "avatarUrl": None,
            "userId": str(m["user_id"]),
            "messages": m["messages"] or 0,
            "voiceMinutes": minutes(m["voice"]),
            "reactions": m["reactions"] or 0,
        }
        for m in members
        if m["messages"] or m["voice"] or m["reactions"]
    ]
    with_channel_names(guild.guild_id, top_channels)
    with_member_names(guild.guild_id, top_members)
    return {
        "guildId": str(guild.guild_id),
        "today": period_totals["today"],
        "week": period_totals["week"],
        "month": period_totals["month"],
        "topChannels": top_channels,
        "topMembers": top_members,
        "periodStart": instant(midnight(week_first, zone)),
        "periodEnd": instant(week.end),
    }
