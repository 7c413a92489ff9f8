"""Counters equal a recount of the raw events, whatever is retried, replayed or crashed."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError

from config.celery import app as celery_app
from pipeline.models import IngestBatch
from pipeline.tasks import process_batches, sweep_unprocessed_batches
from stats.services import counting
from tests.factories import message, ms, reaction, snowflake, voice_join, voice_leave, voice_move
from tests.stats import tables

pytestmark = pytest.mark.django_db(transaction=True)


def make_feed(seed: int, guilds: int = 3, members: int = 6) -> tuple[list[dict], dict]:
    """A random feed plus the counters it must produce, computed independently of the code."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=6)
    feed: list[dict] = []
    expected: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for _ in range(guilds):
        g = snowflake()
        users = [snowflake() for _ in range(members)]
        channels = [snowflake() for _ in range(3)]
        for user in users:
            t = start + timedelta(seconds=rng.randint(0, 600))
            for _ in range(rng.randint(1, 4)):  # voice sessions with a move in between
                a, b = rng.sample(channels, 2)
                d1, d2 = rng.randint(5, 900), rng.randint(5, 900)
                feed.append(voice_join(g, user, a, ms(t)))
                feed.append(voice_move(g, user, a, b, ms(t + timedelta(seconds=d1))))
                feed.append(voice_leave(g, user, b, ms(t + timedelta(seconds=d1 + d2))))
                expected[(int(g), int(user))][1] += d1 + d2
                t += timedelta(seconds=d1 + d2 + rng.randint(1, 300))
            for _ in range(rng.randint(0, 8)):
                feed.append(
                    message(
                        g,
                        user,
                        rng.choice(channels),
                        ms(start + timedelta(seconds=rng.randint(0, 18000))),
                    )
                )
                expected[(int(g), int(user))][0] += 1
            for _ in range(rng.randint(0, 4)):
                author = rng.choice(users)
                feed.append(
                    reaction(g, user, author, ms(start + timedelta(seconds=rng.randint(0, 18000))))
                )
                expected[(int(g), int(user))][2] += 1
                if author != user:
                    expected[(int(g), int(author))][3] += 1
    return feed, {k: tuple(v) for k, v in expected.items()}


def counted() -> dict[tuple[int, int], tuple[int, int, int, int]]:
    return tables.all_members()


def chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def test_feed_sent_in_batches_then_replayed_matches_the_recount(ingest):
    feed, expected = make_feed(seed=1)
    feed.sort(key=lambda e: e["timestamp"])  # a bot sends in order
    for batch in chunks(feed, 17):
        ingest(batch)
    assert counted() == expected
    snapshot = tables.all_counters()
    # the bot reconnects and replays its whole spool, in different batch boundaries
    for batch in chunks(feed, 23):
        status, ack = ingest(batch)
        assert (status, ack["accepted"], ack["duplicates"]) == (200, 0, len(batch))
    assert tables.all_counters() == snapshot


def test_retried_tasks_change_nothing(ingest):
    feed, expected = make_feed(seed=2)
    feed.sort(key=lambda e: e["timestamp"])
    for batch in chunks(feed, 40):
        ingest(batch)
    snapshot = tables.all_counters()
    for batch_id in IngestBatch.objects.values_list("pk", flat=True):
        assert process_batches.delay([batch_id]).get() == 0  # already processed: a no-op
    assert tables.all_counters() == snapshot
    assert counted() == expected


def test_a_crash_mid_chunk_rolls_back_and_the_retry_counts_once(
    ingest, monkeypatch, guildstats_settings
):
    # one shard, so the crashed chunk is the whole frame (other shards of a frame go on)
    guildstats_settings(PROCESSING_SHARDS=1)
    feed, expected = make_feed(seed=3)
    feed.sort(key=lambda e: e["timestamp"])
    real_flush = counting.CounterDeltas.flush
    armed = {"crash": False}

    def crash_after_member_upsert(self):
        if armed["crash"]:
            armed["crash"] = False
            now = datetime.now(UTC)
            counting._upsert_members(  # half the writes happen, then the worker "dies"
                [(g, u, *row[:7], row[7], now, now) for (g, u), row in self.members.items()]
            )
            # the connection dies with the worker (an error in the events themselves would
            # be quarantined instead, see test_quarantine)
            raise OperationalError("worker killed")
        return real_flush(self)

    monkeypatch.setattr(counting.CounterDeltas, "flush", crash_after_member_upsert)
    batches = chunks(feed, 30)
    ingest(batches[0])
    before_crash = tables.all_counters()
    armed["crash"] = True
    status, ack = ingest(batches[1])  # acked (durable), then its processing "dies" mid-write
    assert (status, ack["accepted"]) == (200, len(batches[1]))
    pending = list(
        IngestBatch.objects.filter(processed_at__isnull=True).values_list("pk", flat=True)
    )
    assert pending, "the crashed chunk must stay pending"
    assert tables.all_counters() == before_crash, "nothing of the crashed chunk may remain"

    monkeypatch.setattr(counting.CounterDeltas, "flush", real_flush)
    for batch_id in pending:  # redelivery of the task (acks_late)
        process_batches.delay([batch_id]).get()
    for batch_id in pending:  # and a second redelivery is a no-op
        assert process_batches.delay([batch_id]).get() == 0
    for batch in batches[2:]:
        ingest(batch)
    assert counted() == expected


def test_lost_tasks_are_re_enqueued_by_the_sweeper(ingest, monkeypatch):
    feed, expected = make_feed(seed=4, guilds=2)
    feed.sort(key=lambda e: e["timestamp"])
    from pipeline import ingest as ingest_service

    monkeypatch.setattr(ingest_service, "_enqueue", lambda ids: None)  # broker lost the tasks
    for batch in chunks(feed, 25):
        assert ingest(batch)[1]["accepted"] == len(batch)
    assert counted() == {}
    assert IngestBatch.objects.filter(processed_at__isnull=True).exists()

    from django.conf import settings

    settings.GUILDSTATS["SWEEP_AFTER_SECONDS"], saved = (
        0,
        settings.GUILDSTATS["SWEEP_AFTER_SECONDS"],
    )
    try:
        assert sweep_unprocessed_batches.delay().get() >= 1
    finally:
        settings.GUILDSTATS["SWEEP_AFTER_SECONDS"] = saved
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
    assert counted() == expected


def test_out_of_order_batches_of_one_member_are_applied_in_batch_order(
    ingest, monkeypatch, guildstats_settings
):
    """Tasks delivered in reverse order still apply batches in the order they were received."""
    from pipeline import ingest as ingest_service

    guildstats_settings(RAW_RETENTION_DAYS=100_000)
    queued: list[list[tuple[int, int]]] = []
    monkeypatch.setattr(ingest_service, "_enqueue", queued.append)
    g, user, c1, c2 = snowflake(), snowflake(), snowflake(), snowflake()
    t0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    ingest([voice_join(g, user, c1, ms(t0))])
    ingest([voice_move(g, user, c1, c2, ms(t0 + timedelta(minutes=10)))])
    ingest([voice_leave(g, user, c2, ms(t0 + timedelta(minutes=25)))])
    with celery_app.connection_for_write():
        for pending in reversed(queued):
            for batch_id, _shard in pending:
                process_batches.delay([batch_id]).get()
    assert tables.members(g) == {int(user): (0, 1500, 0, 0)}
    assert tables.channels(g) == {
        ("2026-05-04", int(c1)): (0, 600),
        ("2026-05-04", int(c2)): (0, 900),
    }
