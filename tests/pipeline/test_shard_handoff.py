"""When processing is behind, a task drains one shard and hands the frame's other shards on to a
task of their own at once, so that an idle worker process drains them alongside (not one after
another); a frame that did not wait is drained by its one task."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from pipeline.models import IngestBatch
from pipeline.tasks import process_batches
from tests.factories import message, ms, snowflake
from tests.stats import tables

EVEN, ODD, EVEN_TOO = "815000000000000100", "815000000000000101", "815000000000000102"


def _frame_over_two_shards(ingest, monkeypatch, guildstats_settings, *, waited: float = 1.0):
    guildstats_settings(PROCESSING_SHARDS=2)
    from pipeline import ingest as ingest_service

    monkeypatch.setattr(ingest_service, "_enqueue", lambda pending: None)
    user, channel = snowflake(), snowflake()
    ingest(
        [
            message(EVEN, user, channel, ms()),
            message(ODD, user, channel, ms()),
            message(EVEN_TOO, user, channel, ms()),
        ]
    )
    # the frame has waited this long for its task (processing is behind past HAND_ON_AFTER)
    IngestBatch.objects.update(received_at=timezone.now() - timedelta(seconds=waited))
    batches = dict(IngestBatch.objects.values_list("shard", "pk"))
    return int(user), batches


def test_behind_the_other_shards_are_handed_on_before_the_first_is_drained(
    ingest, monkeypatch, guildstats_settings
):
    user, batches = _frame_over_two_shards(ingest, monkeypatch, guildstats_settings)
    handed: list[tuple[list[int], dict]] = []

    def delay(ids):  # what the queued task would find when it starts
        handed.append((list(ids), {g: tables.members(g) for g in (EVEN, ODD, EVEN_TOO)}))

    monkeypatch.setattr(process_batches, "delay", delay)
    assert process_batches.apply(args=[[batches[0], batches[1]]]).get() == 2
    # shard 1 was handed on before shard 0 was drained, and not drained here
    assert handed == [([batches[1]], {EVEN: {}, ODD: {}, EVEN_TOO: {}})]
    assert tables.members(EVEN) == tables.members(EVEN_TOO) == {user: (1, 0, 0, 0)}
    assert tables.members(ODD) == {}

    # the handed-on task drains shard 1, and hands nothing on
    monkeypatch.undo()
    assert process_batches.apply(args=[handed[0][0]]).get() == 1
    assert tables.members(ODD) == {user: (1, 0, 0, 0)}
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
    assert process_batches.apply(args=[[batches[0], batches[1]]]).get() == 0  # exactly once


def test_a_broker_that_cannot_take_the_hand_on_leaves_every_shard_to_this_task(
    ingest, monkeypatch, guildstats_settings
):
    user, batches = _frame_over_two_shards(ingest, monkeypatch, guildstats_settings)

    def delay(ids):
        raise BrokerError("broker down")

    monkeypatch.setattr(process_batches, "delay", delay)
    assert process_batches.apply(args=[[batches[0], batches[1]]]).get() == 3
    assert {g: tables.members(g) for g in (EVEN, ODD, EVEN_TOO)} == {
        g: {user: (1, 0, 0, 0)} for g in (EVEN, ODD, EVEN_TOO)
    }
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()


def test_a_frame_that_did_not_wait_is_drained_by_its_one_task(
    ingest, monkeypatch, guildstats_settings
):
    user, batches = _frame_over_two_shards(ingest, monkeypatch, guildstats_settings, waited=0)
    handed: list[list[int]] = []
    monkeypatch.setattr(process_batches, "delay", lambda ids: handed.append(list(ids)))
    assert process_batches.apply(args=[[batches[0], batches[1]]]).get() == 3
    assert handed == []
    assert {g: tables.members(g) for g in (EVEN, ODD, EVEN_TOO)} == {
        g: {user: (1, 0, 0, 0)} for g in (EVEN, ODD, EVEN_TOO)
    }
