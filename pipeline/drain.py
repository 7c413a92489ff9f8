"""Apply acknowledged batches to member statistics, exactly once.

Guilds are spread over ``PROCESSING_SHARDS`` serial streams (``guild_id % shards``). A stream is
drained under a lock (PostgreSQL advisory lock; SQLite serialises writers by itself) in batch-id
order, a chunk of batches per transaction: the chunk's counter deltas, its voice-session changes
and the ``processed_at`` marks of its batches commit together. A task that is retried, a worker
killed mid-chunk, or a batch received twice therefore never counts an event twice or drops one;
and two workers never interleave one member's voice transitions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import msgspec
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from guildstats_contract.events import GUILD_TYPES
from guildstats_contract.ids import EPOCH
from kombu.exceptions import OperationalError as BrokerUnavailable

from core import telemetry as metrics
from core.events import StoredEvent
from core.registry import registry
from core.sql import try_lock
from pipeline.claims import release_drain
from pipeline.dispatch import apply_isolating
from pipeline.models import Event, IngestBatch, QuarantinedEvent
from pipeline.quarantine import (
    as_stored_event,
    quarantine_events,
    record_attempts,
)

log = logging.getLogger(__name__)

# Advisory-lock namespace: shard s locks LOCK_BASE + s.
LOCK_BASE = 0x6775_696C_0000  # "guil"


def shard_lock_key(guild_id: int) -> int:
    """The advisory lock of the processing shard of ``guild_id``."""
    return LOCK_BASE + guild_id % settings.GUILDSTATS["PROCESSING_SHARDS"]


# A frame that waited longer than this for its task means processing is behind: its shards are
# then spread over the worker processes (``process_batches``). Measured on the worker's clock
# against the web process's: a skew only makes a light load hand on too (more tasks) or a
# backlog not (shards in turn), never changes what is counted.
HAND_ON_AFTER = timedelta(milliseconds=100)


@dataclass
class DrainResult:
    applied: int  # events applied by this call
    busy: bool = False  # another worker holds the shard (and will see this batch)
    next_batch_id: int | None = None  # work left in the shard after this call's budget


@dataclass
class ProcessResult:
    applied: int
    leftover_batch_ids: list[int]  # shards whose drain budget ran out: hand these on


def process_batches(
    batch_ids: Sequence[int],
    *,
    wait: bool = True,
    hand_on: Callable[[list[int]], object] | None = None,
) -> ProcessResult:
    """Make sure ``batch_ids`` are applied, together with every pending batch of their shards.

    One call serves the shards of a frame: a shard another worker holds is skipped (that worker
    will see the batch), the others are drained in turn. Unless processing is behind: when the
    frame has waited longer than ``HAND_ON_AFTER`` and ``hand_on`` is given (the task's own
    ``delay``), only the first shard is drained here and the others are handed on at once to
    a new call, which an idle worker process takes while this one drains. Drained in turn by
    one call, a backlog's shards waited for each other while the other process sat idle; handed
    on always, a light load cost a task per shard of every frame for nothing (a third more
    worker CPU at 5,000 events/s, where tasks start within tens of milliseconds). A retried or
    duplicate task finds its batches processed and applies nothing twice; it still drains their
    shards, because batches that committed while its claim was held enqueued no task of their
    own.
    """
    first_batch: dict[int, int] = {}  # shard -> one of its batches (a drain takes them all)
    received = []
    for batch_id, shard, received_at in IngestBatch.objects.filter(
        pk__in=list(batch_ids)
    ).values_list("pk", "shard", "received_at"):
        first_batch.setdefault(shard, batch_id)
        received.append(received_at)
    shards = sorted(first_batch)
    behind = bool(received) and timezone.now() - min(received) > HAND_ON_AFTER
    if hand_on is not None and len(shards) > 1 and behind:
        try:  # their drain claims stay held: a drain of theirs is queued
            hand_on([first_batch[shard] for shard in shards[1:]])
            shards = shards[:1]
        except BrokerUnavailable:  # drain them all here (as frames._enqueue, the same error)
            log.warning("could not hand shards on; draining them in turn", exc_info=True)
    applied, leftover = 0, []
    failure: BaseException | None = None
    for shard in shards:
        release_drain(shard)  # from here on, a newly committed batch enqueues its own task
        try:
            result = drain_shard(shard, wait=wait)
        except Exception as exc:  # transient (poison events are quarantined): other shards go on
            log.warning("shard %s not drained: %s", shard, exc)
            failure = failure or exc
            continue
        applied += result.applied
        if result.next_batch_id is not None:
            leftover.append(result.next_batch_id)
    if failure is not None:  # the task fails; the sweeper re-enqueues what is still pending
        raise failure
    return ProcessResult(applied, leftover)


def drain_shard(shard: int, *, wait: bool = True, max_chunks: int = 20) -> DrainResult:
    """Apply pending batches of ``shard`` in id order, one chunk per transaction.

    ``busy`` when ``wait`` is off and another worker holds the shard. That is not a retry
    signal: the holder re-checks for pending batches after releasing the lock, so a batch that
    committed before a failed attempt to take the lock is always seen, by the holder or by a
    later drain. (Retrying instead made waiting tasks spin against a busy shard.)
    """
    applied = 0
    for _ in range(max_chunks):
        started = time.perf_counter()
        with transaction.atomic():
            # processing commits need not wait for the WAL flush: see try_lock
            if not try_lock(LOCK_BASE + shard, wait=wait, relax_durability=True):
                return DrainResult(applied, busy=applied == 0)
            batch_ids, events = _take_chunk(shard)
            if batch_ids:
                failed = apply_isolating(events)
                if failed:
                    quarantine_events(shard, failed)
                IngestBatch.objects.filter(pk__in=batch_ids).update(processed_at=timezone.now())
        if not batch_ids:  # lock released: anything committed meanwhile is visible now
            if _has_pending(shard):
                continue
            return DrainResult(applied)
        applied += len(events)
        metrics.PROCESSED.inc(len(events))
        small = len(events) < settings.GUILDSTATS["PROCESSING_CHUNK_EVENTS"] // 2
        if small and not _has_pending(shard):
            # a small chunk took everything pending: no need for another locked read
            return DrainResult(applied)
        log.debug(
            "shard %s: %s events from %s batches in %.3fs",
            shard,
            len(events),
            len(batch_ids),
            time.perf_counter() - started,
        )
    # budget spent with work left: the caller hands the rest to a new task
    first = (
        IngestBatch.objects.filter(shard=shard, processed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    return DrainResult(applied, next_batch_id=first)


def _has_pending(shard: int) -> bool:
    return IngestBatch.objects.filter(shard=shard, processed_at__isnull=True).exists()


def _take_chunk(shard: int) -> tuple[list[int], list[StoredEvent]]:
    """The oldest pending batches of ``shard`` up to the chunk size, and their events in
    timestamp order (several batches' events merged, so transitions across batches line up)."""
    limit = settings.GUILDSTATS["PROCESSING_CHUNK_EVENTS"]
    pending = list(
        IngestBatch.objects.filter(shard=shard, processed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    batch_ids: list[int] = []
    total = 0
    for start in range(0, len(pending), 50):  # sizes counted a slice at a time, as needed
        group = pending[start : start + 50]
        counts = dict(
            Event.objects.filter(batch_id__in=group)
            .values_list("batch_id")
            .annotate(n=Count("id"))
            .values_list("batch_id", "n")
        )
        for batch_id in group:
            count = counts.get(batch_id, 0)
            if batch_ids and total + count > limit:
                break
            batch_ids.append(batch_id)
            total += count
        else:
            continue
        break
    if not batch_ids:
        return [], []
    return batch_ids, _load_events(batch_ids)


_decode_json = msgspec.json.Decoder().decode


def _load_events(batch_ids: list[int]) -> list[StoredEvent]:
    return _with_bot_tokens(_read_events(batch_ids), batch_ids)


def _with_bot_tokens(events: list[StoredEvent], batch_ids: list[int]) -> list[StoredEvent]:
    """The bot token of each guild event's batch (GUILD_SYNC and GUILD_CREATE are scoped to
    their bot): one small query, only for a chunk that holds one."""
    if any(event.type in GUILD_TYPES for event in events):
        tokens = dict(
            IngestBatch.objects.filter(pk__in=batch_ids).values_list("pk", "bot_token_id")
        )
        for event in events:
            event.bot_token_id = tokens.get(event.batch_id)
    return events


def _read_events(batch_ids: list[int]) -> list[StoredEvent]:
    if connection.vendor != "postgresql":
        rows = (
            Event.objects.filter(batch_id__in=batch_ids)
            .order_by("timestamp", "id")
            .values_list(
                "id",
                "type",
                "guild_id",
                "user_id",
                "channel_id",
                "timestamp",
                "data",
                "batch_id",
                "shard_id",
            )
        )
        return [
            StoredEvent(
                *row[:7],
                bot=isinstance(row[6], dict) and row[6].get("bot") is True,
                batch_id=row[7],
                shard_id=row[8],
            )
            for row in rows
        ]
    # PostgreSQL: one raw query, epoch milliseconds instead of parsed timestamps, and JSON only
    # where a processor reads it; the ORM's per-row converters cost more than the rest.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, type, guild_id, user_id, channel_id, "
            "(extract(epoch FROM timestamp) * 1000)::bigint, "
            "CASE WHEN type = ANY(%s) THEN data END, "
            "coalesce(data @> '{\"bot\": true}', false), batch_id, shard_id "
            "FROM events WHERE batch_id = ANY(%s) ORDER BY timestamp, id",
            [registry.types_reading_data(), batch_ids],  # JSON only for types that read it
        )
        rows = cursor.fetchall()
    return [
        StoredEvent(
            id_,
            type_,
            guild,
            user,
            channel,
            EPOCH + timedelta(milliseconds=ms),
            None if data is None else (_decode_json(data) if isinstance(data, str) else data),
            bot,
            batch,
            shard,
        )
        for id_, type_, guild, user, channel, ms, data, bot, batch, shard in rows
    ]


def replay_quarantined(
    event_ids: Sequence[int] | None = None, guild_ids: Sequence[int] | None = None
) -> tuple[int, int]:
    """Apply quarantined events again (all, or those given), shard by shard under the shard's
    lock, in timestamp order; applied ones leave the quarantine in the same transaction.
    Returns (applied, still failing)."""
    rows = QuarantinedEvent.objects.all()
    if event_ids is not None:
        rows = rows.filter(event_id__in=list(event_ids))
    if guild_ids is not None:
        rows = rows.filter(guild_id__in=list(guild_ids))
    applied = failing = 0
    for shard in sorted(set(rows.values_list("shard", flat=True))):
        with transaction.atomic():
            try_lock(LOCK_BASE + shard, wait=True)
            batch = list(rows.filter(shard=shard).order_by("timestamp", "event_id"))
            errors = {
                event.id: exc
                for event, exc in apply_isolating([as_stored_event(row) for row in batch])
            }
            record_attempts(batch, errors)
        applied += len(batch) - len(errors)
        failing += len(errors)
    return applied, failing


def sweep_unprocessed_batches(older_than_seconds: float | None = None) -> list[int]:
    """The oldest pending batch of each shard that has waited too long (lost task, broker down)."""
    age = older_than_seconds
    if age is None:
        age = settings.GUILDSTATS["SWEEP_AFTER_SECONDS"]
    cutoff = timezone.now() - timedelta(seconds=age)
    stuck: list[int] = []
    pending = IngestBatch.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
    for shard in pending.values_list("shard", flat=True).distinct():
        first = pending.filter(shard=shard).order_by("pk").values_list("pk", flat=True).first()
        if first is not None:
            stuck.append(first)
    return sorted(stuck)
