"""The Beat task's writer: refresh big guilds' period summaries (``stats.selectors.summaries``
describes them)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from guilds.models import Guild
from stats.models import (
    MemberStats,
    PeriodSummary,
)
from stats.selectors.periods import PERIODS
from stats.selectors.summaries import compute_summary, summary_min_members


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
