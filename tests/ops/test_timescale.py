"""The TimescaleDB path: hypertables, compression segmented by guild, retention by whole
chunks. Runs only against a database with the extension (``DATABASE_URL=timescale://…``;
TimescaleDB is not packaged for the CI machine, so CI skips these — see README)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from core import timescale
from ops import retention
from ops.tasks import compress_old_chunks
from pipeline.models import Event
from stats.rollups import fill as rollups
from tests.factories import message, ms, snowflake

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _needs_timescale(guildstats_settings):
    if not timescale.hypertables():
        pytest.skip("needs DATABASE_URL=timescale://… (a database with TimescaleDB)")
    guildstats_settings(RAW_RETENTION_DAYS=30, COMPRESS_AFTER_DAYS=7)


def chunks(table: str) -> list[tuple[datetime, bool]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT range_start, is_compressed FROM timescaledb_information.chunks "
            "WHERE hypertable_name = %s ORDER BY range_start",
            [table],
        )
        return cursor.fetchall()


def test_events_and_snapshots_are_hypertables_compressed_by_guild():
    assert timescale.hypertables() == {"events", "metrics_snapshots"}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT hypertable_name, attname, segmentby_column_index "
            "FROM timescaledb_information.compression_settings "
            "WHERE segmentby_column_index IS NOT NULL ORDER BY 1, 3"
        )
        assert cursor.fetchall() == [
            ("events", "guild_id", 1),
            ("metrics_snapshots", "guild_id", 1),
            ("metrics_snapshots", "period_type", 2),
        ]


def test_old_chunks_are_compressed_then_dropped_by_our_schedule(
    ingest, guildstats_settings, tmp_path
):
    guildstats_settings(ARCHIVE_DIR=str(tmp_path))
    g, user, channel = snowflake(), snowflake(), snowflake()
    with time_machine.travel(ORIGIN, tick=False):
        ingest([message(g, user, channel, ms(ORIGIN - timedelta(days=d))) for d in range(12)])
        rollups.fill_snapshots()
    with time_machine.travel(ORIGIN, tick=False):
        compressed = compress_old_chunks.delay().get()
    # 1-day chunks: those wholly before ORIGIN - 7 days hold the events of days 8..11 before it
    assert compressed["events"] == 4
    assert [c for _start, c in chunks("events")] == [True] * 4 + [False] * 8
    # counting still reads compressed chunks, and a replayed old event is still a duplicate
    assert Event.objects.count() == 12
    with time_machine.travel(ORIGIN, tick=False):
        _status, ack = ingest([message(g, user, channel, ms(ORIGIN - timedelta(days=10)))])
    assert ack["accepted"] == 1  # a new message id: a new event, into a compressed chunk
    # 30 days later, retention drops whole chunks of events after archiving their rows
    with time_machine.travel(ORIGIN + timedelta(days=25), tick=False):
        deleted = retention.apply_retention()
    # the cutoff is ORIGIN - 5 days: the chunks of days 6..11 go (7 events with the late one)
    assert deleted["events"] == 7
    assert len(chunks("events")) == 6
    archived = 0
    for path in (tmp_path / "events").iterdir():
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            archived += sum(1 for _line in lines)
    assert archived == 7


def test_a_large_frame_resent_into_compressed_chunks_is_all_duplicates(ingest):
    """Ingest copies a frame of new events straight into ``events`` (``core.sql``); the unique
    index must still refuse a resend whose events sit in compressed chunks, so that the frame
    falls back to ``ON CONFLICT DO NOTHING`` and nothing is stored twice."""
    from core.sql import PG_COPY_MIN_ROWS

    g, user, channel = snowflake(), snowflake(), snowflake()
    size = PG_COPY_MIN_ROWS + 10
    base = ms(ORIGIN - timedelta(days=10))
    frame = [
        {**message(g, user, channel, base + i), "messageId": str(int(g) + i)} for i in range(size)
    ]
    with time_machine.travel(ORIGIN, tick=False):
        _status, ack = ingest(frame)
        assert ack["accepted"] == size
        compress_old_chunks.delay().get()
    assert [c for _start, c in chunks("events")] == [True]
    with time_machine.travel(ORIGIN, tick=False):
        _status, ack = ingest(frame)
    assert (ack["accepted"], ack["duplicates"]) == (0, size)
    assert Event.objects.count() == size
