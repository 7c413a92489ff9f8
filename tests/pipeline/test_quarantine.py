"""Defence in depth: an accepted event that processing still cannot apply is quarantined, alone,
and its shard goes on; shards are drained independently; quarantined events can be replayed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from guilds.models import Guild
from pipeline import drain as processing
from pipeline.models import Event, IngestBatch, QuarantinedEvent
from pipeline.tasks import process_batches, sweep_unprocessed_batches
from tests.factories import message, ms, snowflake
from tests.stats import tables

TOO_BIG = "99999999999999999999"  # 20 digits: more than any 64-bit column holds


def legacy_event(guild: int, type_: str, data: dict, shard: int) -> Event:
    """A row stored before ingest bounded this value (ingest refuses it today)."""
    batch = IngestBatch.objects.create(
        frame_id=uuid.uuid4(), shard=shard, transport="http", received_at=timezone.now()
    )
    return Event.objects.create(
        batch_id=batch.pk,
        type=type_,
        guild_id=guild,
        timestamp=datetime.now(UTC),
        data=data,
        dedupe_key=uuid.uuid4().hex,
    )


def test_a_poison_event_is_quarantined_alone_and_its_shard_goes_on(
    ingest, monkeypatch, guildstats_settings
):
    guildstats_settings(PROCESSING_SHARDS=1)
    from pipeline import ingest as ingest_service

    monkeypatch.setattr(ingest_service, "_enqueue", lambda pending: None)  # drained below
    g, user, channel = snowflake(), snowflake(), snowflake()
    ingest([message(g, user, channel, ms(ago=30)) for _ in range(3)])
    poison = legacy_event(int(g), "GUILD_UPDATE", {"changes": {"ownerId": {"new": TOO_BIG}}}, 0)
    ingest([message(g, user, channel, ms(ago=10)) for _ in range(2)])

    assert process_batches.delay([poison.batch_id]).get() == 6
    assert tables.members(g) == {int(user): (5, 0, 0, 0)}
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
    rows = list(QuarantinedEvent.objects.values_list("event_id", "type", "guild_id", "attempts"))
    assert rows == [(poison.pk, "GUILD_UPDATE", int(g), 1)]
    error = QuarantinedEvent.objects.get().error
    assert "out of range" in error or "too large" in error, error

    # visible to operators
    health = Client().get("/health").json()["checks"]["quarantine"]
    assert health == {"status": "warning", "events": 1}
    scrape = Client().get("/metrics").content.decode()
    assert "guildstats_quarantined_events 1.0" in scrape

    # still failing: a replay keeps it, with one more attempt
    call_command("replay_quarantine")
    assert list(QuarantinedEvent.objects.values_list("event_id", "attempts")) == [(poison.pk, 2)]

    # the cause fixed (here: the stored value corrected), a replay applies it exactly once
    QuarantinedEvent.objects.update(data={"changes": {"ownerId": {"new": "42"}}})
    call_command("replay_quarantine")
    assert not QuarantinedEvent.objects.exists()
    assert Guild.objects.get(guild_id=int(g)).owner_id == 42
    call_command("replay_quarantine")
    assert tables.members(g) == {int(user): (5, 0, 0, 0)}


def test_one_failing_shard_never_holds_up_another(ingest, monkeypatch, guildstats_settings):
    guildstats_settings(PROCESSING_SHARDS=2)
    from pipeline import ingest as ingest_service

    monkeypatch.setattr(ingest_service, "_enqueue", lambda pending: None)
    even, odd = "815000000000000100", "815000000000000101"
    user, channel = snowflake(), snowflake()
    ingest([message(even, user, channel, ms()), message(odd, user, channel, ms())])
    batch_ids = list(IngestBatch.objects.order_by("shard").values_list("pk", flat=True))
    real_drain = processing.drain_shard

    def drain(shard: int, **kwargs):
        if shard == 0:
            raise OperationalError("connection lost")  # transient: the chunk stays pending
        return real_drain(shard, **kwargs)

    monkeypatch.setattr(processing, "drain_shard", drain)
    with pytest.raises(OperationalError):
        process_batches.delay(batch_ids).get()
    assert tables.members(odd) == {int(user): (1, 0, 0, 0)}  # shard 1 went on
    assert tables.members(even) == {}
    assert list(
        IngestBatch.objects.filter(processed_at__isnull=True).values_list("shard", flat=True)
    ) == [0]

    # the sweeper hands every stuck shard a task of its own
    monkeypatch.setattr(processing, "drain_shard", real_drain)
    IngestBatch.objects.update(received_at=timezone.now() - timezone.timedelta(minutes=5))
    sent = []
    monkeypatch.setattr(process_batches, "delay", lambda ids: sent.append(list(ids)))
    ingest([message(odd, user, channel, ms())])
    IngestBatch.objects.update(received_at=timezone.now() - timezone.timedelta(minutes=5))
    assert sweep_unprocessed_batches.delay().get() == 2
    assert sorted(len(ids) for ids in sent) == [1, 1]
    assert sorted(IngestBatch.objects.get(pk=ids[0]).shard for ids in sent) == [0, 1]
