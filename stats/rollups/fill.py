"""Snapshots of each guild's activity per 5 minutes, hour and day, filled by watermarks.

Modelled on Zulip's analytics (``analytics/lib/counts.py``):

* each granularity is described once (``GRANULARITIES``) and has a ``FillState``: the end of the
  range last worked on, STARTED before the work and DONE after, so a run that crashes midway
  redoes that range (delete, then recompute) and a run that comes twice finds nothing to do; a
  scheduler down for hours catches up range by range on its next run;
* runs are serialised by a session lock, and the unique (guild, period type, period start)
  constraint makes a stray double insert fail loudly;
* storage never holds zero rows: readers zero-fill.

5-minute and hourly buckets are aligned to UTC; a daily bucket is the guild's local day (23 or
25 hours on DST days), so the daily watermark advances in 15-minute UTC steps: every zone's
midnight falls on one. A bucket is filled once it is over by the grace delay for late events.

Late events: processing marks the 5-minute buckets an event changes once they are filled
(``mark_stale_buckets``, under a lock on the 5-minute watermark that the fill holds while it
writes), and each run recomputes those buckets and the hours and days that contain them.

What counts is what the real-time counters count (bots and excluded channels are not; a
bot-aggregated guild's snapshots replace its raw activity from ``snapshots_since``); voice time
comes from closed sessions (``voice_session_log``) and open ones, split at bucket edges. The
numbers are computed by ``stats.rollups.engine_python``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone
from guildstats_contract.events import SNAPSHOT_TYPES, STATE_TYPES, VOICE_TYPES
from guildstats_contract.ids import EPOCH

from core.sql import session_lock
from guilds.selectors import counting_settings
from pipeline.models import Event
from stats.models import FillState, MetricsSnapshot, StaleBucket
from stats.rollups import engine_python
from stats.rollups.buckets import (
    FIVE_MIN,
    FIVE_MINUTES,
    GRANULARITIES,
    Compute,
    Granularity,
    bucket_bounds,
    floor_time,
)
from stats.rollups.pieces import connections_for_pieces, in_pieces

if TYPE_CHECKING:
    from core.events import StoredEvent

ROLLUP_LOCK = 0x6775_696C_F111  # session advisory lock held by a fill run


def compute_snapshots(
    granularity: Granularity,
    after: datetime,
    until: datetime,
    now: datetime,
    guild_ids: Sequence[int] | None = None,
) -> int:
    """Write the snapshots of the buckets ending in (after, until], for all or some guilds."""
    return engine_python.compute(granularity, after, until, now, guild_ids)


# --- filling ---------------------------------------------------------------------------------
def fill_snapshots(
    now: datetime | None = None,
    *,
    granularities: Sequence[str] | None = None,
    compute: Compute = compute_snapshots,
) -> dict[str, int]:
    """Fill the granularities (all by default) up to ``now`` minus the grace delay, then
    recompute stale buckets; return the number of buckets filled or refreshed per granularity.
    Safe to run concurrently (the second run returns at once), twice (the watermarks), or
    after a crash."""
    now = now or timezone.now()
    chosen = [g for g in GRANULARITIES if granularities is None or g.name in granularities]
    report = {g.name: 0 for g in chosen} | {"stale": 0}
    with session_lock(ROLLUP_LOCK) as mine:
        if not mine:
            return report
        for granularity in chosen:
            target = _target(granularity, now)
            if target is not None:
                report[granularity.name] = _fill(granularity, target, now, compute)
        report["stale"] = refresh_stale_buckets(now, compute=compute)
    return report


def _target(granularity: Granularity, now: datetime) -> datetime | None:
    """Where a granularity is due: ``now`` minus the grace delay, floored to its steps, and
    never past the 5-minute watermark, whose parts the longer buckets are summed from (None:
    no 5-minute bucket filled yet)."""
    grace = timedelta(seconds=settings.GUILDSTATS["ROLLUP_GRACE_SECONDS"])
    target = floor_time(now - grace, granularity.align)
    if granularity is FIVE_MIN:
        return target
    five = FillState.objects.filter(granularity=FIVE_MIN.name, state=FillState.DONE).first()
    return None if five is None else min(target, floor_time(five.end_time, granularity.align))


def _fill(
    granularity: Granularity,
    target: datetime,
    now: datetime,
    compute: Compute,
    progress: Callable[[int], None] | None = None,
) -> int:
    filled = 0
    workers = connections_for_pieces()  # asked here: inside the range's transaction it is 1
    while (span := _start_next_range(granularity, target)) is not None:
        after, until = span
        with transaction.atomic():
            _lock_watermark(granularity, exclusive=True)
            in_pieces(
                granularity,
                after,
                until,
                workers,
                lambda a, b: _replace(granularity, a, b, compute, now),
            )
            FillState.objects.filter(granularity=granularity.name).update(state=FillState.DONE)
        filled += _bucket_count(granularity, after, until)
        if progress:
            progress(1)
    return filled


def _start_next_range(
    granularity: Granularity, target: datetime
) -> tuple[datetime, datetime] | None:
    """Mark the next range STARTED (committed) and return it; None when filled up to
    ``target``. The first run starts at the oldest raw event (nothing before it to fill); a
    STARTED range (a crash) is redone from one step back, which recomputes some finished
    buckets identically."""
    with transaction.atomic():
        state = FillState.objects.select_for_update().filter(granularity=granularity.name).first()
        if state is None:
            first = Event.objects.aggregate(t=Min("timestamp"))["t"]
            begin = target if first is None else min(floor_time(first, granularity.align), target)
            state = FillState(granularity=granularity.name, end_time=begin, state=FillState.DONE)
        elif state.state == FillState.STARTED:
            state.end_time -= granularity.step
        after = state.end_time
        if after >= target:
            state.state = FillState.DONE
            state.save()
            return None
        until = min(after + granularity.step, target)
        state.end_time, state.state = until, FillState.STARTED
        state.save()
        return after, until


def _replace(
    granularity: Granularity,
    after: datetime,
    until: datetime,
    compute: Compute,
    now: datetime,
    guild_ids: Sequence[int] | None = None,
) -> int:
    """Delete the stored buckets ending in (after, until] and write them again."""
    stored = MetricsSnapshot.objects.filter(
        period_type=granularity.name,
        # the buckets ending in (after, until] start in this range: the time index finds them
        period_start__gt=after - granularity.longest,
        period_start__lt=until,
        period_end__gt=after,
        period_end__lte=until,
    )
    if guild_ids is not None:
        stored = stored.filter(guild_id__in=list(guild_ids))
    stored.delete()
    return compute(granularity, after, until, now, guild_ids)


def _bucket_count(granularity: Granularity, after: datetime, until: datetime) -> int:
    """Buckets per guild in a range (a daily range counts its quarter-hour steps as days)."""
    if granularity.size is None:
        return max(1, round((until - after) / timedelta(days=1)))
    return (until - after) // granularity.size


# --- late events -----------------------------------------------------------------------------
def _lock_watermark(granularity: Granularity, *, exclusive: bool) -> datetime | None:
    """Read a watermark, locking its row: the fill locks it exclusively while it writes a
    range, processing locks it shared while it marks stale buckets, so a late event is either
    seen by the fill or marked stale, never neither. (SQLite serialises writers anyway.)"""
    if connection.vendor != "postgresql":
        state = FillState.objects.filter(granularity=granularity.name).first()
        return state.end_time if state else None
    mode = "UPDATE" if exclusive else "KEY SHARE"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT end_time FROM fill_state WHERE granularity = %s FOR {mode}",
            [granularity.name],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def mark_stale_buckets(events: Sequence[StoredEvent]) -> None:
    """In the processing transaction: mark the filled 5-minute buckets that ``events`` change.

    A message or reaction changes its own bucket; a voice transition changes every bucket from
    its time on (an open session was counted up to the fill's time); a bot snapshot changes
    every bucket from its period's start on (it may move the guild's switch to snapshots).
    Only the 5-minute watermark is read: it is never behind the hourly and daily ones.
    """
    if not events:
        return
    watermark = _lock_watermark(FIVE_MIN, exclusive=False)
    if watermark is None or min(e.timestamp for e in events) >= watermark:
        return
    marks: set[tuple[int, datetime]] = set()
    for event in events:
        start = event.timestamp
        if event.type in SNAPSHOT_TYPES and isinstance(event.data, dict):
            period_start = event.data.get("periodStart")
            if isinstance(period_start, int):
                start = min(start, EPOCH + timedelta(milliseconds=period_start))
        elif event.type in STATE_TYPES and isinstance(event.data, dict):
            # a roster ends sessions back at the gap's start (unknown: anywhere in the cap)
            gap = event.data.get("gapSince")
            start = min(
                start,
                EPOCH + timedelta(milliseconds=gap)
                if isinstance(gap, int)
                else start - timedelta(hours=settings.GUILDSTATS["VOICE_SESSION_CAP_HOURS"]),
            )
        if start >= watermark:
            continue
        bucket = floor_time(start, FIVE_MINUTES)
        if event.type in VOICE_TYPES or event.type in SNAPSHOT_TYPES or event.type in STATE_TYPES:
            while bucket < watermark:
                marks.add((event.guild_id, bucket))
                bucket += FIVE_MINUTES
        else:
            marks.add((event.guild_id, bucket))
    _upsert_stale(marks)


def _upsert_stale(marks: Iterable[tuple[int, datetime]]) -> None:
    now = timezone.now()
    rows = [StaleBucket(guild_id=g, period_start=s, marked_at=now) for g, s in sorted(marks)]
    StaleBucket.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["guild_id", "period_start"],
        update_fields=["marked_at"],
    )


def refresh_stale_buckets(
    now: datetime | None = None, *, compute: Compute = compute_snapshots
) -> int:
    """Recompute, guild by guild, the stale 5-minute buckets and the filled hours and days
    that contain them; return how many buckets were recomputed. A mark made again while this
    runs (a newer ``marked_at``) survives for the next run."""
    now = now or timezone.now()
    stale = list(StaleBucket.objects.values_list("guild_id", "period_start", "marked_at"))
    if not stale:
        return 0
    watermarks = dict(FillState.objects.values_list("granularity", "end_time"))
    by_guild: dict[int, list[datetime]] = defaultdict(list)
    for guild_id, start, _marked in stale:
        by_guild[guild_id].append(start)
    zones = {g: s.tz for g, s in counting_settings(by_guild).items()}
    horizon = recompute_horizon(now)
    refreshed = 0
    for guild_id, starts in by_guild.items():
        zone = zones.get(guild_id, UTC)
        for granularity in GRANULARITIES:
            watermark = watermarks.get(granularity.name)
            if watermark is None:
                continue
            spans = sorted(
                span
                for span in {bucket_bounds(granularity, start, zone) for start in starts}
                if span[1] <= watermark  # else not filled yet: the regular fill will do it
                and span[0] >= horizon  # else its inputs are past retention: keep it
            )
            for after, until, count in _runs(spans, granularity.step):
                with transaction.atomic():
                    _replace(granularity, after, until, compute, now, [guild_id])
                refreshed += count
    for offset in range(0, len(stale), 500):
        done = Q()
        for guild_id, period_start, marked in stale[offset : offset + 500]:
            done |= Q(guild_id=guild_id, period_start=period_start, marked_at=marked)
        StaleBucket.objects.filter(done).delete()
    return refreshed


def _runs(
    spans: list[tuple[datetime, datetime]], longest: timedelta
) -> Iterator[tuple[datetime, datetime, int]]:
    """Contiguous buckets joined into ranges of at most ``longest`` (one computation each, as
    a replayed spool marks long runs): (start, end, number of buckets)."""
    run: list[tuple[datetime, datetime]] = []
    for span in spans:
        if run and (span[0] != run[-1][1] or span[1] - run[0][0] > longest):
            yield run[0][0], run[-1][1], len(run)
            run = []
        run.append(span)
    if run:
        yield run[0][0], run[-1][1], len(run)


def recompute_horizon(now: datetime) -> datetime:
    """The oldest instant whose buckets can still be recomputed: before it, raw events (or the
    5-minute parts that longer buckets are summed from) are past retention."""
    limits = settings.GUILDSTATS
    days = [d for d in (limits["RAW_RETENTION_DAYS"], limits["SNAPSHOT_5MIN_RETENTION_DAYS"]) if d]
    return now - timedelta(days=min(days)) if days else EPOCH


# --- re-filling a range on demand (the fill_stats command) ------------------------------------
def refill_steps(granularity: Granularity, since: datetime, until: datetime) -> int:
    """How many steps ``refill`` takes for this range (for a progress bar)."""
    after = floor_time(since, granularity.align)
    return max(0, -(-(until - after) // granularity.step))


def refill(
    granularity: Granularity,
    since: datetime,
    until: datetime,
    guild_ids: Sequence[int] | None = None,
    *,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Recompute the buckets ending in (since, until], step by step, waiting for the fill lock;
    return the number of buckets per guild recomputed or filled.

    Up to the watermark, buckets are deleted and recomputed (after a change of a guild's time
    zone, excluded channels or bot accounts, say). Past it, for all guilds, the watermark is
    advanced as the scheduled fill would (never beyond ``now`` minus the grace delay); for
    some guilds only, buckets past the watermark are left to the scheduled fill.
    """
    now = now or timezone.now()
    done = 0
    with session_lock(ROLLUP_LOCK, wait=True):
        state = FillState.objects.filter(granularity=granularity.name).first()
        watermark = state.end_time if state is not None and state.state == FillState.DONE else None
        after = floor_time(max(since, recompute_horizon(now)), granularity.align)
        redo_until = min(until, watermark) if watermark is not None else after
        workers = connections_for_pieces()
        while after < redo_until:
            end = min(after + granularity.step, redo_until)
            with transaction.atomic():
                _lock_watermark(granularity, exclusive=True)
                in_pieces(
                    granularity,
                    after,
                    end,
                    workers,
                    lambda a, b: _replace(granularity, a, b, compute_snapshots, now, guild_ids),
                )
            done += _bucket_count(granularity, after, end)
            if progress:
                progress(1)
            after = end
        due = _target(granularity, now)
        if guild_ids is None and due is not None:
            target = min(due, floor_time(until, granularity.align))
            done += _fill(granularity, target, now, compute_snapshots, progress)
    return done
