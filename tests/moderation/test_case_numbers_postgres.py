"""Case numbers under concurrent workers on PostgreSQL: 1, 2, 3 … per guild, no gaps, no
duplicates, even when transactions bypass the shard lock or roll back."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections, transaction

from core.events import StoredEvent
from moderation.models import ModerationCase
from moderation.services.cases import apply_moderation_events
from pipeline.models import IngestBatch
from tests.concurrency import process_concurrently
from tests.factories import audit_entry, ban, ms, snowflake

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ORIGIN = datetime.now(UTC) - timedelta(hours=1)


def numbers(guild: int) -> list[int]:
    return list(
        ModerationCase.objects.filter(guild_id=guild)
        .order_by("case_number")
        .values_list("case_number", flat=True)
    )


class Rollback(Exception):
    pass


def test_concurrent_transactions_take_distinct_consecutive_numbers():
    """Eight threads open cases in one guild at once, each in its own transaction and without
    the shard lock (the counter row alone must serialise them); every third transaction rolls
    back after taking numbers. The committed cases are numbered 1..N exactly."""
    guild = int(snowflake())
    threads_count, per_thread = 8, 15
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []
    committed: list[int] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            barrier.wait()
            for round_ in range(3):
                events = [
                    StoredEvent(
                        index * 1000 + round_ * 100 + i,
                        "GUILD_BAN_ADD",
                        guild,
                        None,
                        None,
                        ORIGIN + timedelta(minutes=index * 100 + round_ * 20 + i),
                        {"targetUserId": str(10_000 + index * 100 + i)},
                    )
                    for i in range(per_thread // 3)
                ]
                try:
                    with transaction.atomic():
                        apply_moderation_events(events)
                        if (index + round_) % 3 == 0:
                            raise Rollback
                except Rollback:
                    continue
                with lock:
                    committed.append(len(events))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    total = sum(committed)
    assert 0 < total < threads_count * per_thread  # some rolled back
    assert numbers(guild) == list(range(1, total + 1))


def test_concurrent_workers_number_cases_without_gaps_or_duplicates(ingest, monkeypatch):
    """Bans and their audit entries for two guilds in many small batches, every task delivered
    twice to four workers in random order: each action is one case, numbered 1..N per guild."""
    from pipeline import ingest as ingest_service

    queued: list[int] = []
    monkeypatch.setattr(
        ingest_service, "_enqueue", lambda pending: queued.extend(b for b, _shard in pending)
    )
    guilds = [snowflake(), snowflake()]
    mod = snowflake()
    feed = []
    expected: dict[str, int] = {}
    for g in guilds:
        for i in range(40):
            target = snowflake()
            t = ms(ORIGIN + timedelta(minutes=i))
            feed.append(ban(g, target, t))
            if i % 2:  # half of them also reported by the audit log (merged, not a new case)
                feed.append(audit_entry(g, "MEMBER_BAN_ADD", t + 2000, target=target, executor=mod))
            else:  # and some actions seen only in the audit log
                feed.append(audit_entry(g, "MEMBER_KICK", t + 5000, target=target, executor=mod))
        expected[g] = 60
    for start in range(0, len(feed), 3):
        ingest(feed[start : start + 3])
    errors = process_concurrently(queued, seed=7)  # every task delivered twice
    assert errors == []
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
    for g in guilds:
        assert numbers(int(g)) == list(range(1, expected[g] + 1))
        merged = ModerationCase.objects.filter(
            guild_id=int(g), event_id__isnull=False, audit_event_id__isnull=False
        )
        assert merged.count() == 20
        assert set(merged.values_list("moderator_id", flat=True)) == {int(mod)}
