"""The activity series, read from the snapshots: each stretch from the coarsest row that fits
inside one point, no row counted twice. The stretch the 5-minute fill has not reached yet (the
current bucket and the grace delay before it) is computed on read by the rollups' own engine, so
a live chart moves as soon as processing applies events, and reads the same once it is filled."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from django.core.cache import cache
from django.db import connection
from django.db.models import Min
from django.db.models.expressions import RawSQL

from core.times import instant
from guilds.models import Guild
from guilds.selectors import coverage, zone_of
from stats.models import FillState, MetricsSnapshot
from stats.rollups.buckets import FIVE_MIN, ceil_time
from stats.rollups.engine_python import preview
from stats.selectors.counts import (
    TICK,
    active_key,
    count_distinct_active,
    input_max_age,
    minutes,
    span_key,
)
from stats.selectors.periods import Window, boundaries, window
from stats.selectors.shapes import Activity, Granularity, Period
from stats.selectors.summaries import summaries

# --- activity series and heatmap: read from the snapshots, never from raw events ---------------

GRANULARITIES: tuple[Granularity, ...] = ("hour", "day", "week")
FIVE_MINUTES = MetricsSnapshot.FIVE_MINUTES
HOURLY = MetricsSnapshot.HOURLY
DAILY = MetricsSnapshot.DAILY
LONGEST_BUCKET = timedelta(hours=25)  # a daily bucket on a DST day
FIVE_MINUTE_RETENTION = timedelta(days=30)
FIXED_LENGTH = {HOURLY: timedelta(hours=1), FIVE_MINUTES: timedelta(minutes=5)}


class Bucket(NamedTuple):
    """One snapshot row, as the series read it (``data`` is never loaded). A named tuple: a
    month of hours is 720 of them per read, and a frozen dataclass took four times as long to
    build."""

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
    times: tuple[str, str] = ("period_start", "period_end")
    moment: Callable[[Any], datetime] = _same
    if connection.vendor == "postgresql":
        # Times read as epoch seconds: Django's timestamptz loader is psycopg's pure-Python one
        # plus a time zone swap (a cold month of hours, 720 rows, took 18.5 ms with it, 15 without).
        rows = rows.annotate(
            start_epoch=RawSQL("extract(epoch FROM period_start)::bigint", ()),
            end_epoch=RawSQL("extract(epoch FROM period_end)::bigint", ()),
        )
        times, moment = ("start_epoch", "end_epoch"), _from_epoch
    if kind == DAILY:  # 23, 24 or 25 hours
        return [
            Bucket(kind, moment(start), moment(end), *values)
            for start, end, *values in rows.values_list(*times, *counts)
        ]
    # fixed length: not loading period_end halves the times read (720 hours a month)
    length = FIXED_LENGTH[kind]
    found = []
    for value, *values in rows.values_list(times[0], *counts):
        start = moment(value)
        found.append(Bucket(kind, start, start + length, *values))
    return found


def _same(value: datetime) -> datetime:
    return value


def _from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# The unfilled stretch is computed on read only when it is short (Beat fills every 5 minutes
# after a grace delay): a fill that fell behind shows as missing points, not as a slow page.
PROVISIONAL_LIMIT = timedelta(hours=1)


def provisional_buckets(
    guild_id: int, start: datetime, end: datetime, now: datetime
) -> list[Bucket]:
    """The 5-minute buckets of [start, end) after the fill's watermark, up to ``now``: computed
    for this guild by the rollups' engine (``preview``: the SQL statement on PostgreSQL, the
    reference elsewhere), not stored."""
    until = min(end, ceil_time(now, FIVE_MIN.step))
    state = FillState.objects.filter(granularity=FIVE_MINUTES).first()
    if state is None:  # nothing filled yet (a new install): the last stretch only
        filled = until - PROVISIONAL_LIMIT
    elif state.state == FillState.DONE:
        filled = state.end_time
    else:  # a STARTED range may be committing while we read: compute it too; ``compose``
        filled = state.end_time - FIVE_MIN.step  # takes the stored row first where both exist
    after = max(filled, start)
    if until <= after or until - after > PROVISIONAL_LIMIT:
        return []
    return [
        Bucket(FIVE_MINUTES, start, end, messages, voice, reactions, active)
        for _guild, start, end, messages, voice, reactions, active in preview(
            after, until, now, [guild_id]
        )
    ]


def compose(
    guild_id: int,
    kinds: tuple[str, ...],
    start: datetime,
    end: datetime,
    fits: Callable[[Bucket], bool],
    provisional: list[Bucket] | None = None,
) -> list[Bucket]:
    """The snapshot rows that tile [start, end) without overlap, coarsest first.

    The stretches not read yet are kept as gaps. A row is used only when it lies wholly inside
    one gap (so no instant is read from two rows, even where it straddles two coarser rows) and
    ``fits`` (inside one point of the series); its time is then cut out of the gaps. A row that
    does not fit, or overlaps time already read, is left to the finer levels, which fill exactly
    what is still uncovered: the hours of a day whose daily row is not filled yet, the 5-minute
    buckets of the current hour, or, in a zone whose offset is not a whole hour, the 5-minute
    buckets of the hours that straddle two local hours (or the end of a daily row). At the
    finest level a row that does not fit has nothing finer: it counts where it starts, if no
    part of it was read already. Storage has no zero rows and each granularity is filled in time
    order, so a finer level is read only from the first row left to it, or else after the last
    row used. ``provisional`` rows (``provisional_buckets``) join the finest level after the
    stored ones: where a stored row already covers their time they are left out.
    """
    used: list[Bucket] = []
    gaps: list[tuple[datetime, datetime]] = [(start, end)] if start < end else []
    since = start
    for level, kind in enumerate(kinds):
        if not gaps:
            break
        finest = level == len(kinds) - 1
        left: datetime | None = None  # the first stretch this level leaves to finer rows
        after = since  # the end of the last row used
        rows = _buckets(guild_id, kind, since, end)
        if finest and provisional:
            rows = sorted(rows + provisional, key=lambda row: row.start)  # stable: stored first
        for row in rows:
            span = (max(row.start, start), min(row.end, end))
            inside = start <= row.start and row.end <= end
            at = _gap_holding(gaps, span)
            if at is not None and ((inside and fits(row)) or (finest and row.start >= start)):
                used.append(row)
                _cut(gaps, at, span)
                after = max(after, row.end)
            elif left is None and _overlaps(gaps, span):
                left = span[0]
        since = after if left is None else min(left, after)
    return used


def _gap_holding(
    gaps: list[tuple[datetime, datetime]], span: tuple[datetime, datetime]
) -> int | None:
    """The index of the gap that holds all of ``span``, or None."""
    at = bisect_right(gaps, (span[0], datetime.max.replace(tzinfo=UTC))) - 1
    if at >= 0 and gaps[at][0] <= span[0] and span[1] <= gaps[at][1]:
        return at
    return None


def _overlaps(gaps: list[tuple[datetime, datetime]], span: tuple[datetime, datetime]) -> bool:
    at = max(bisect_right(gaps, (span[0], datetime.max.replace(tzinfo=UTC))) - 1, 0)
    return any(s < span[1] and span[0] < e for s, e in gaps[at : at + 2])


def _cut(gaps: list[tuple[datetime, datetime]], at: int, span: tuple[datetime, datetime]) -> None:
    """Remove ``span`` from the gap at ``at``, which holds it."""
    first, last = gaps[at]
    gaps[at : at + 1] = [(a, b) for a, b in ((first, span[0]), (span[1], last)) if a < b]


def series_first_day(guild: Guild, win: Window) -> date:
    """The window's first day; for "all", the local day of the guild's first snapshot (today
    when there is none)."""
    if win.first_day is not None:
        return win.first_day
    first = MetricsSnapshot.objects.filter(guild_id=guild.guild_id).aggregate(
        first=Min("period_start")
    )["first"]
    return win.last_day if first is None else min(first.astimezone(win.zone).date(), win.last_day)


def activity(guild: Guild, *, period: Period, granularity: Granularity, now: datetime) -> Activity:
    """A zero-filled time series of the guild's activity in its time zone (seed 000 §8.5).

    Sums come from the snapshots (daily rows, hourly rows, 5-minute rows, see ``compose``).
    ``uniqueActiveUsers`` of a point is its snapshot's own count when one bucket is the whole
    point; distinct members do not add up across buckets, so a week, or a day not rolled up yet,
    counts its distinct active members in the per-day member counters, and an hour made of
    5-minute buckets (the current one) has null. ``covered`` (``guilds.selectors.coverage``):
    null when the guild has no collection window or the point ends before its first one,
    else whether the point overlaps a window.
    """
    zone = zone_of(guild.timezone)
    win = window(period, zone, now)
    first_day = series_first_day(guild, win)
    edges = boundaries(granularity, first_day, win.last_day, zone)
    start, end = edges[0], edges[-1]

    def point(moment: datetime) -> int:
        return bisect_right(edges, moment) - 1

    def fits(row: Bucket) -> bool:
        return point(row.start) == point(row.end - TICK)

    kinds = (HOURLY, FIVE_MINUTES) if granularity == "hour" else (DAILY, HOURLY, FIVE_MINUTES)
    sums = [[0, 0, 0] for _ in edges[:-1]]
    parts: list[list[Bucket]] = [[] for _ in edges[:-1]]
    tail = provisional_buckets(guild.guild_id, start, end, now)
    for row in compose(guild.guild_id, kinds, start, end, fits, tail):
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
                last = (edges[at + 1] - TICK).astimezone(zone).date()
                composite[at] = (edges[at].astimezone(zone).date(), last)
    summary = summaries(guild, [win], now).get(period, {}) if win.first_day else {}
    for at, count in _distinct_active(guild, composite, now, summary).items():
        users[at] = count
    # collection windows: null without any (unknown), else whether the point's time overlaps one
    windows = coverage(guild.guild_id, start, end)
    covered = [
        None if windows is None else windows.covers(edges[at], edges[at + 1])
        for at in range(len(sums))
    ]
    return {
        "guildId": str(guild.guild_id),
        "period": period,
        "granularity": granularity,
        "timezone": zone.key,
        "periodStart": instant(start),
        "periodEnd": instant(end),
        "dataPoints": [
            {
                "timestamp": instant(edges[at]),
                "totalMessages": messages,
                "totalVoiceMinutes": minutes(voice),
                "totalReactions": reactions,
                "uniqueActiveUsers": users[at],
                "covered": covered[at],
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
        value = known.get(span_key(first, last))
        if value is None and last < today:
            value = cache.get(active_key(guild, first, last))
        if value is None:
            wanted[at] = (first, last)
        else:
            found[at] = value
    counts = count_distinct_active(guild, list(wanted.values()))
    for at, (first, last) in wanted.items():
        found[at] = counts[(first, last)]
        if last < today:
            cache.set(active_key(guild, first, last), found[at], input_max_age())
    return found
