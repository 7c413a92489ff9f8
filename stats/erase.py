"""The stats app's part of erasing a member (privacy's ``erase_member`` runs it through the
scopes and the eraser registered in ``StatsConfig.ready()``): their counters, voice time,
bot-snapshot rows and rollup parts go, and the snapshots they counted in are recomputed without
them.

The rollups' fill lock is taken first (``rollup_lock``, outside the pipeline's transaction and
shard lock, in the order every other path takes them: fill lock, then shard lock; neither holder
waits for the other's second lock), so the recomputation does not race a fill run.
``recompute`` notes the 5-minute buckets the member counted in before any row goes (their raw
events included) and, once every eraser has run, marks them stale and refills them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.scrub import naming, scrub_rows
from core.sql import session_lock
from pipeline.models import Event
from stats.models import (
    BucketParts,
    FillState,
    MemberDailyStats,
    MemberStats,
    MetricsSnapshot,
    PeriodSummary,
    SnapshotActivity,
    StaleBucket,
    VoiceSession,
    VoiceSessionLog,
)
from stats.rollups.buckets import FIVE_MIN, FIVE_MINUTES, floor_time
from stats.rollups.fill import ROLLUP_LOCK, recompute_horizon, refresh_stale_buckets

MAX_MARKED_BUCKETS = 300_000  # a voice session spans at most the cap; this bounds a bad row


@contextmanager
def rollup_lock(guild_id: int, user_id: int, report: dict[str, Any]) -> Iterator[None]:
    with session_lock(ROLLUP_LOCK, wait=True):
        yield


@contextmanager
def recompute(guild_id: int, user_id: int, report: dict[str, Any]) -> Iterator[None]:
    now = timezone.now()
    buckets = _buckets_counting(guild_id, user_id, now)
    yield
    _mark_stale(guild_id, buckets)
    report["buckets_recomputed"] = refresh_stale_buckets(now)
    # what recomputing cannot reach (buckets past retention, not filled yet) is scrubbed
    report["snapshots_scrubbed"] = scrub_rows(
        MetricsSnapshot.objects.filter(guild_id=guild_id), ("data",), user_id
    )
    report["period_summaries"] = PeriodSummary.objects.filter(guild_id=guild_id).delete()[0]


def _buckets_counting(guild_id: int, user_id: int, now: datetime) -> set[datetime]:
    """The 5-minute buckets the member may count in: their events, voice time, bot-snapshot
    rows and rollup parts, and every snapshot naming them (its first 5-minute bucket: the
    refresh recomputes the hour and day that contain it)."""
    watermark = (
        FillState.objects.filter(granularity=FIVE_MIN.name)
        .values_list("end_time", flat=True)
        .first()
    )
    if watermark is None:
        return set()
    horizon = recompute_horizon(now)
    member = Q(guild_id=guild_id, user_id=user_id)
    starts: set[datetime] = set()
    starts.update(Event.objects.filter(member).values_list("timestamp", flat=True))
    starts.update(_parts_naming(guild_id, user_id).values_list("bucket_start", flat=True))
    starts.update(SnapshotActivity.objects.filter(member).values_list("period_start", flat=True))
    snapshots = naming(MetricsSnapshot.objects.filter(guild_id=guild_id), "data", user_id)
    starts.update(snapshots.values_list("period_start", flat=True))
    spans = list(VoiceSessionLog.objects.filter(member).values_list("started_at", "ended_at"))
    spans += [
        (j, watermark)
        for j in VoiceSession.objects.filter(member).values_list("joined_at", flat=True)
    ]
    buckets = {floor_time(s, FIVE_MINUTES) for s in starts}
    for started, ended in spans:
        bucket = floor_time(max(started, horizon), FIVE_MINUTES)
        while bucket < min(ended, watermark) and len(buckets) < MAX_MARKED_BUCKETS:
            buckets.add(bucket)
            bucket += FIVE_MINUTES
    return {b for b in buckets if horizon - timedelta(days=1) <= b < watermark}


def erase_member_activity(guild_id: int, user_id: int) -> dict[str, int]:
    member = Q(guild_id=guild_id, user_id=user_id)
    report: dict[str, int] = {}
    for label, model in (
        ("member_stats", MemberStats),
        ("member_daily_stats", MemberDailyStats),
        ("voice_sessions", VoiceSession),
        ("voice_session_log", VoiceSessionLog),
        ("snapshot_activity", SnapshotActivity),
    ):
        report[label] = model.objects.filter(member).delete()[0]
    report["rollup_parts"] = _erase_from_parts(guild_id, user_id)
    return report


def _parts_naming(guild_id: int, user_id: int) -> QuerySet[BucketParts]:
    """The 5-minute rollup parts that list the member (only PostgreSQL's engine writes them)."""
    parts = BucketParts.objects.filter(guild_id=guild_id)
    if connection.vendor != "postgresql":
        return parts.none()
    return parts.filter(member_ids__contains=[user_id])


def _erase_from_parts(guild_id: int, user_id: int) -> int:
    """Take the member out of the parts that list them (the sums of the buckets recomputed next
    are rewritten anyway; the others keep their totals, as their snapshots do)."""
    if not _parts_naming(guild_id, user_id).exists():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE rollup_parts p
            SET (member_ids, member_messages, member_reactions, member_voice) = (
              SELECT coalesce(array_agg(u.i ORDER BY u.o), '{}'),
                     coalesce(array_agg(u.m ORDER BY u.o), '{}'),
                     coalesce(array_agg(u.r ORDER BY u.o), '{}'),
                     coalesce(array_agg(u.v ORDER BY u.o), '{}')
              FROM unnest(p.member_ids, p.member_messages, p.member_reactions, p.member_voice)
                   WITH ORDINALITY u(i, m, r, v, o)
              WHERE u.i <> %(user)s)
            WHERE p.guild_id = %(guild)s AND p.member_ids @> ARRAY[%(user)s]::bigint[]
            """,
            {"guild": guild_id, "user": user_id},
        )
        return int(cursor.rowcount)


def _mark_stale(guild_id: int, buckets: set[datetime]) -> None:
    now = timezone.now()
    StaleBucket.objects.bulk_create(
        [StaleBucket(guild_id=guild_id, period_start=b, marked_at=now) for b in sorted(buckets)],
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["guild_id", "period_start"],
        update_fields=["marked_at"],
    )
