"""The day-of-week x hour heatmap, from the same snapshot rows as the activity series."""

from __future__ import annotations

from datetime import datetime

from core.times import instant
from guilds.models import Guild
from guilds.selectors import zone_of
from stats.selectors.counts import minutes
from stats.selectors.periods import midnight, window
from stats.selectors.series import (
    FIVE_MINUTE_RETENTION,
    FIVE_MINUTES,
    HOURLY,
    Bucket,
    compose,
    series_first_day,
)
from stats.selectors.shapes import Heatmap, HeatmapPeriod

HEATMAP_PERIODS: tuple[HeatmapPeriod, ...] = ("week", "month", "all")


def heatmap(guild: Guild, *, period: HeatmapPeriod, now: datetime) -> Heatmap:
    """Activity by local day of the week (ISO: 1 = Monday) and local hour, over the period.

    Hourly rows where an hour of the guild's zone is a UTC hour; 5-minute rows for the current
    hour and, in a zone whose offset is not a whole hour, for hours that straddle two local hours
    while they are kept (30 days); an older straddling hour counts in the local hour it starts in.
    A DST day's repeated hour counts twice in its cell, its missing hour not at all.
    """
    zone = zone_of(guild.timezone)
    win = window(period, zone, now)
    start = midnight(series_first_day(guild, win), zone)
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
        "periodStart": instant(start),
        "periodEnd": instant(end),
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
