"""Concurrent workers on PostgreSQL (+ a real Celery worker over Redis)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections

from config.celery import app as celery_app
from pipeline.models import Event, IngestBatch
from pipeline.tasks import sweep_unprocessed_batches
from tests.concurrency import process_concurrently
from tests.factories import message, ms, snowflake
from tests.pipeline.test_exactly_once import chunks, counted, make_feed

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_workers_never_interleave_or_double_count(ingest, monkeypatch):
    from pipeline import ingest as ingest_service

    queued: list[int] = []
    monkeypatch.setattr(
        ingest_service, "_enqueue", lambda pending: queued.extend(b for b, _shard in pending)
    )
    feed, expected = make_feed(seed=11, guilds=4, members=8)
    feed.sort(key=lambda e: e["timestamp"])
    for batch in chunks(feed, 9):  # many small batches: voice chains span batches
        ingest(batch)
    errors = process_concurrently(queued, seed=5)  # every task delivered twice
    assert errors == []
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
    assert counted() == expected


def test_the_same_batch_sent_on_two_connections_at_once_is_stored_once(ingest):
    g = snowflake()
    batch = [message(g, snowflake(), snowflake(), ms(ago=i)) for i in range(200)]
    acks: list[dict] = []

    def send() -> None:
        acks.append(ingest(batch)[1])
        connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((a["accepted"], a["duplicates"]) for a in acks) == [(0, 200), (200, 0)]
    assert Event.objects.count() == 200


def start_worker(tmp_path: Path, **extra_env: str) -> subprocess.Popen:
    """A real Celery worker (2 prefork processes) on this test database and Redis."""
    db = connection.settings_dict
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        GUILDSTATS_VAR_DIR=str(tmp_path),
        GUILDSTATS_DB_CONN_MAX_AGE="0",
        **extra_env,
    )
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-c", "2"]
    command += ["-P", "prefork", "--without-gossip", "--without-mingle", "-l", "WARNING"]
    return subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, start_new_session=True)


def stop_worker(worker: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, sig)  # the parent and its pool processes
    worker.wait(timeout=30)


def wait_until_applied(worker: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while IngestBatch.objects.filter(processed_at__isnull=True).exists():
        assert time.monotonic() < deadline, f"workers did not drain the queue in {seconds} s"
        assert worker.poll() is None, "worker exited"
        time.sleep(0.1)


@pytest.fixture
def real_workers():
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    started: list[subprocess.Popen] = []
    yield started
    celery_app.conf.task_always_eager = True
    for worker in started:
        if worker.poll() is None:
            stop_worker(worker)


@pytest.mark.redis
def test_real_workers_over_redis_apply_every_batch(ingest, tmp_path: Path, real_workers):
    """Two prefork worker processes consume the Redis queue; the counters equal the recount."""
    worker = start_worker(tmp_path)
    real_workers.append(worker)
    feed, expected = make_feed(seed=21, guilds=4)
    feed.sort(key=lambda e: e["timestamp"])
    for batch in chunks(feed, 20):
        assert ingest(batch)[1]["accepted"] == len(batch)
    wait_until_applied(worker)
    assert counted() == expected


@pytest.mark.redis
def test_a_worker_killed_mid_backlog_and_restarted_counts_everything_once(
    ingest, tmp_path: Path, real_workers
):
    """SIGKILL the whole worker while it works through a backlog in small chunks; the
    in-flight transaction rolls back, the sweeper hands the rest to a new worker, and the
    counters equal the recount."""
    feed, expected = make_feed(seed=31, guilds=24, members=12)
    feed.sort(key=lambda e: e["timestamp"])
    for batch in chunks(feed, 25):  # stored while no worker runs: a backlog
        assert ingest(batch)[1]["accepted"] == len(batch)
    total = IngestBatch.objects.count()

    worker = start_worker(tmp_path, GUILDSTATS_PROCESSING_CHUNK_EVENTS="40")
    real_workers.append(worker)
    deadline = time.monotonic() + 60
    while IngestBatch.objects.filter(processed_at__isnull=False).count() < total // 4:
        assert time.monotonic() < deadline, "the worker never started processing"
        time.sleep(0.005)
    stop_worker(worker, signal.SIGKILL)
    left = IngestBatch.objects.filter(processed_at__isnull=True).count()
    assert 0 < left < total, "the kill must land mid-backlog"

    restarted = start_worker(tmp_path)
    real_workers.append(restarted)
    from django.conf import settings as dj_settings

    saved = dj_settings.GUILDSTATS["SWEEP_AFTER_SECONDS"]
    dj_settings.GUILDSTATS["SWEEP_AFTER_SECONDS"] = 0
    try:
        sweep_unprocessed_batches.apply()  # what Beat does every 5 s (run here, sends to Redis)
    finally:
        dj_settings.GUILDSTATS["SWEEP_AFTER_SECONDS"] = saved
    wait_until_applied(restarted)
    assert counted() == expected
