"""Bot batch ingest: parse, validate, store durably, acknowledge, enqueue processing.

This is the hot path. Per event it does one msgspec conversion and builds one tuple; per batch it
runs one ledger insert and one events insert, all in one transaction: on PostgreSQL a COPY straight
into ``events``, and only when the unique (timestamp, dedupe key) index refuses a row (a resent
frame) ``INSERT … ON CONFLICT DO NOTHING``, which skips what is stored: a replay is a no-op.
Processing is enqueued on commit with batch ids only, so the ack always describes committed rows.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from guildstats_contract.events import (
    FRAME_DECODER,
    KNOWN_TYPES,
    BotEvent,
    Envelope,
    Rejection,
    parse_event,
)
from guildstats_contract.ids import EPOCH
from kombu.exceptions import OperationalError

from core import telemetry as metrics
from core.sql import Column, bulk_insert, register_stage
from pipeline.claims import claim_drains
from pipeline.models import IngestBatch
from privacy.selectors import opted_out_members

log = logging.getLogger(__name__)

_encode = msgspec.json.Encoder(order="sorted").encode

EVENT_COLUMNS = (
    Column("batch_id", "bigint"),
    Column("type", "text"),
    Column("guild_id", "bigint"),
    Column("timestamp", "timestamptz"),
    Column("user_id", "bigint"),
    Column("channel_id", "bigint"),
    Column("message_id", "bigint"),
    Column("role_id", "bigint"),
    Column("shard_id", "integer"),
    Column("data", "jsonb"),
    Column("client_event_id", "text"),
    Column("dedupe_key", "text"),
    Column("created_at", "timestamptz"),
)
register_stage("events", EVENT_COLUMNS)

OPTED_OUT = "opted out"  # the ack's reason for an event of a member who opted out


class FrameError(Exception):
    """The whole frame is unusable (not JSON, wrong shape, too large); ``status`` is for HTTP."""

    def __init__(self, message: str, status: int = 400, code: str = "bad_frame") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


@dataclass
class IngestResult:
    batch: str
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def ack(self) -> dict[str, Any]:
        return {
            "type": "ack",
            "batch": self.batch,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
        }


def decode_frame(raw: bytes | str) -> list[msgspec.Raw]:
    """Split a frame (a JSON array of events, or the seed's ``{"event", "data": [...]}``
    envelope) into one raw JSON slice per event."""
    limits = settings.GUILDSTATS
    if len(raw) > limits["MAX_FRAME_BYTES"]:
        raise FrameError(
            f"frame of {len(raw)} bytes exceeds the limit of {limits['MAX_FRAME_BYTES']} bytes",
            status=413,
            code="too_large",
        )
    try:
        payload = FRAME_DECODER.decode(raw)
    except msgspec.ValidationError:
        raise FrameError(
            'frame must be a JSON array of events or {"event": …, "data": [events]}',
            code="bad_shape",
        ) from None
    except msgspec.DecodeError as exc:
        raise FrameError(f"frame is not valid JSON: {exc}", code="not_json") from None
    except UnicodeDecodeError:
        raise FrameError("frame is not valid UTF-8", code="not_json") from None
    except RecursionError:
        raise FrameError("frame is nested too deeply", code="bad_shape") from None
    events: list[msgspec.Raw] = payload.data if isinstance(payload, Envelope) else payload
    if len(events) > limits["MAX_BATCH_EVENTS"]:
        raise FrameError(
            f"batch of {len(events)} events exceeds the limit of {limits['MAX_BATCH_EVENTS']}",
            status=413,
            code="too_large",
        )
    return events


def dedupe_key(event: BotEvent) -> str:
    """The client id when the bot gave one (scoped to its guild), else the canonical event
    (its fields with object keys sorted, so a re-serialised replay hashes the same)."""
    if event.id is not None:
        source = f"id\x00{event.guild_id}\x00{event.id}".encode()
    else:
        source = _encode(event)
    return hashlib.blake2b(source, digest_size=16).hexdigest()


def ingest_batch(raw: bytes | str, *, bot_token_id: int | None, transport: str) -> IngestResult:
    """Validate and durably store one frame of events; return the ack for it.

    Invalid events are reported by index and do not block the valid ones. Raises ``FrameError``
    for a frame that cannot be read at all, and lets database errors propagate (the caller answers
    "retry"): nothing is acknowledged that is not committed.
    """
    started = time.perf_counter()
    payload = decode_frame(raw)
    frame_id = uuid.uuid4()
    result = IngestResult(batch=frame_id.hex)

    limits = settings.GUILDSTATS
    received_at = timezone.now()
    now_ms = int(received_at.timestamp() * 1000)
    newest_ms = now_ms + limits["FUTURE_TOLERANCE_SECONDS"] * 1000
    oldest_ms = now_ms - limits["RAW_RETENTION_DAYS"] * 86_400_000
    shards = limits["PROCESSING_SHARDS"]

    # one scan of the frame spares every event the search for an escaped NUL (rare)
    frame_has_nul = ("\\u0000" in raw) if isinstance(raw, str) else (b"\\u0000" in raw)

    rows_by_shard: dict[int, list[list[Any]]] = {}
    unknown = 0
    rejected_codes: Counter[str] = Counter()
    parsed: list[tuple[int, BotEvent]] = []
    for index, obj in enumerate(payload):
        try:
            parsed.append(
                (index, parse_event(obj, now_ms, oldest_ms, newest_ms, check_nul=frame_has_nul))
            )
        except Rejection as rejection:
            result.rejected.append({"index": index, "error": rejection.message})
            rejected_codes[rejection.code] += 1
    # members who opted out: one cache read (and a query for uncached guilds) per frame
    opted_out = opted_out_members({int(event.guild_id) for _index, event in parsed})
    for index, event in parsed:
        guild_id = int(event.guild_id)
        if opted_out and event.user_id is not None and (guild_id, int(event.user_id)) in opted_out:
            result.rejected.append({"index": index, "error": OPTED_OUT})
            rejected_codes["opted_out"] += 1
            continue
        if event.type not in KNOWN_TYPES:
            unknown += 1
        data = event.data
        row = [
            None,  # batch id, known once the ledger rows exist
            event.type,
            guild_id,
            EPOCH + timedelta(milliseconds=event.timestamp),
            _int_or_none(event.user_id),
            _int_or_none(event.channel_id),
            _int_or_none(event.message_id),
            _int_or_none(event.role_id),
            event.shard_id,
            None if data is None else _encode(data),
            event.id,
            dedupe_key(event),
            received_at,
        ]
        rows_by_shard.setdefault(guild_id % shards, []).append(row)

    if rejected_codes["opted_out"]:
        result.rejected.sort(key=lambda rejection: rejection["index"])
    valid = sum(len(rows) for rows in rows_by_shard.values())
    if valid:
        inserted_per_batch = _store(rows_by_shard, frame_id, bot_token_id, transport, received_at)
        result.accepted = sum(inserted_per_batch.values())
    result.duplicates = valid - result.accepted

    metrics.record_ingest(
        transport=transport,
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=rejected_codes,
        unknown_types=unknown,
        seconds=time.perf_counter() - started,
    )
    return result


LEDGER_COLUMNS = (
    Column("frame_id", "uuid"),
    Column("shard", "smallint"),
    Column("bot_token_id", "bigint"),
    Column("transport", "text"),
    Column("received_at", "timestamptz"),
)


def _store(
    rows_by_shard: dict[int, list[list[Any]]],
    frame_id: uuid.UUID,
    bot_token_id: int | None,
    transport: str,
    received_at: datetime,
) -> Counter[int]:
    with transaction.atomic():
        frame = frame_id if connection.vendor == "postgresql" else frame_id.hex
        ledger = bulk_insert(
            "ingest_batches",
            LEDGER_COLUMNS,
            [
                (frame, shard, bot_token_id, transport, received_at)
                for shard in sorted(rows_by_shard)
            ],
            returning="id, shard",
        )
        all_rows: list[list[Any]] = []
        for batch_id, shard in ledger:
            for row in rows_by_shard[shard]:
                row[0] = batch_id
            all_rows.extend(rows_by_shard[shard])
        returned = bulk_insert(
            "events",
            EVENT_COLUMNS,
            all_rows,
            conflict=("timestamp", "dedupe_key"),
            returning="batch_id",
            conflicts_are_rare=True,  # a resent frame is the exception
        )
        inserted = Counter(batch_id for (batch_id,) in returned)
        replays = [batch_id for batch_id, _shard in ledger if not inserted[batch_id]]
        if replays:  # every event of these batches was a duplicate: nothing to process
            IngestBatch.objects.filter(pk__in=replays).update(processed_at=received_at)
        pending = [(batch_id, shard) for batch_id, shard in ledger if inserted[batch_id]]
        if pending:
            # robust: a broker outage must not fail an ack whose events are committed; the sweeper
            # re-enqueues what was not delivered.
            transaction.on_commit(lambda: _enqueue(pending), robust=True)
    return inserted


# The task that processes stored batches. The task module sits above ingest (its tasks call
# every stage), so it is wired in by StatsConfig.ready() rather than imported here.
_process_task: Callable[[list[int]], object] | None = None
_broker_warned = 0.0  # monotonic time of the last "broker unavailable" warning, per process


def connect_processing(enqueue: Callable[[list[int]], object]) -> None:
    global _process_task
    _process_task = enqueue


def _enqueue(pending: list[tuple[int, int]]) -> None:
    claimed = claim_drains([shard for _batch_id, shard in pending])
    batch_ids = [
        batch_id for (batch_id, _shard), claim in zip(pending, claimed, strict=True) if claim
    ]
    if not batch_ids:
        return
    assert _process_task is not None, "StatsConfig.ready() connects the task"  # noqa: S101
    try:  # one task for all the frame's shards that have no drain queued yet
        _process_task(batch_ids)
    except OperationalError:  # broker down: the events are committed; the sweeper enqueues them
        now = time.monotonic()
        global _broker_warned
        if now - _broker_warned > 30:
            _broker_warned = now
            log.warning("broker unavailable: processing waits for the sweeper")


def _int_or_none(value: str | None) -> int | None:
    return None if value is None else int(value)
