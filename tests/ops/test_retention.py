"""Retention: raw events and snapshots past their retention are deleted in batches (whole chunks
on TimescaleDB), exported first when asked; daily snapshots are kept."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from ops import retention
from ops.tasks import apply_retention
from pipeline.models import Event
from stats.models import MetricsSnapshot
from tests.factories import message, ms, snowflake

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOTHING = {
    "events": 0,
    "voice_session_log": 0,
    "snapshot_activity": 0,
    "snapshots_5min": 0,
    "rollup_parts": 0,
    "snapshots_hourly": 0,
}


def test_events_past_retention_are_exported_then_deleted(ingest, guildstats_settings, tmp_path):
    guildstats_settings(RAW_RETENTION_DAYS=30, ARCHIVE_DIR=str(tmp_path))
    g, user, channel = snowflake(), snowflake(), snowflake()
    with time_machine.travel(ORIGIN, tick=False):
        ingest(
            [
                message(g, user, channel, ms(ORIGIN - timedelta(days=d, minutes=1)))
                for d in (0, 1, 2)
            ]
        )
    with time_machine.travel(ORIGIN + timedelta(days=29, hours=12), tick=False):
        # the cutoff is 12 h before ORIGIN: the events of 1 and 2 days before it go
        assert apply_retention.delay().get() == {**NOTHING, "events": 2}
    left = list(Event.objects.values_list("timestamp", flat=True))
    assert left == [ORIGIN - timedelta(minutes=1)]
    files = sorted(p.name for p in (tmp_path / "events").iterdir())
    assert files == ["2026-05-30.jsonl.gz", "2026-05-31.jsonl.gz"]
    with gzip.open(tmp_path / "events" / "2026-05-31.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    assert [(r["type"], r["guild_id"], r["user_id"]) for r in rows] == [
        ("MESSAGE_CREATE", int(g), int(user))
    ]


def test_retention_deletes_in_bounded_batches_and_is_idempotent(ingest, guildstats_settings):
    guildstats_settings(RAW_RETENTION_DAYS=30, ARCHIVE_DIR="")
    g = snowflake()
    with time_machine.travel(ORIGIN, tick=False):
        ingest(
            [
                message(g, snowflake(), snowflake(), ms(ORIGIN - timedelta(days=20, seconds=i)))
                for i in range(25)
            ]
        )
        ingest([message(g, snowflake(), snowflake(), ms(ORIGIN))])
    later = ORIGIN + timedelta(days=15)
    assert retention.apply_retention(later, batch_size=4) == {**NOTHING, "events": 25}
    assert retention.apply_retention(later, batch_size=4) == NOTHING
    assert Event.objects.count() == 1


def test_snapshots_follow_their_granularity_retention(guildstats_settings):
    guildstats_settings(
        RAW_RETENTION_DAYS=30,
        SNAPSHOT_5MIN_RETENTION_DAYS=30,
        SNAPSHOT_HOURLY_RETENTION_DAYS=365,
        SNAPSHOT_DAILY_RETENTION_DAYS=0,
        ARCHIVE_DIR="",
    )
    for age_days in (10, 40, 400):
        for period_type, length in (("5min", 300), ("hourly", 3600), ("daily", 86400)):
            start = ORIGIN - timedelta(days=age_days)
            MetricsSnapshot.objects.create(
                guild_id=1,
                period_type=period_type,
                period_start=start,
                period_end=start + timedelta(seconds=length),
                total_messages=1,
            )
    deleted = retention.apply_retention(ORIGIN)
    assert deleted == {**NOTHING, "snapshots_5min": 2, "snapshots_hourly": 1}
    kept = sorted(
        (p, (ORIGIN - s).days)
        for p, s in MetricsSnapshot.objects.values_list("period_type", "period_start")
    )
    assert kept == [
        ("5min", 10),
        ("daily", 10),
        ("daily", 40),
        ("daily", 400),
        ("hourly", 10),
        ("hourly", 40),
    ]
