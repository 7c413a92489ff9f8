"""Quarantine: accepted events that processing could not apply, kept aside so their shard goes on.

Ingest bounds every value a processor stores, so nothing it accepts should fail; this is the
defence in depth for what slips through (a bug, a row stored before a bound existed). Processing
applies a chunk in a savepoint; when that fails with an error that is the events' own fault (not
a lost connection, see ``core.db.is_transient``), it bisects the chunk to find the failing events
(``pipeline.drain.apply_isolating``), applies the rest, and stores the failing ones
here with their error, in the same transaction that marks their batches processed. They are
visible in the admin, ``/health`` (warning) and ``/metrics``, and re-applied by
``manage.py replay_quarantine`` or the admin action once the cause is fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from django.utils import timezone

from core.events import StoredEvent
from pipeline.models import QuarantinedEvent

log = logging.getLogger(__name__)

Failure = tuple[StoredEvent, BaseException]


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def quarantine_events(shard: int, failed: Sequence[Failure]) -> None:
    """Store ``failed`` (event, error) pairs; an event quarantined again keeps one row."""
    now = timezone.now()
    for event, exc in failed:
        log.error(
            "quarantined %s event %s of guild %s (batch %s): %s",
            event.type,
            event.id,
            event.guild_id,
            event.batch_id,
            describe(exc),
            extra={"guild_id": event.guild_id, "batch_id": event.batch_id},
        )
    existing = set(
        QuarantinedEvent.objects.filter(event_id__in=[e.id for e, _ in failed]).values_list(
            "event_id", flat=True
        )
    )
    QuarantinedEvent.objects.bulk_create(
        [
            QuarantinedEvent(
                event_id=event.id,
                batch_id=event.batch_id,
                shard=shard,
                type=event.type,
                guild_id=event.guild_id,
                user_id=event.user_id,
                channel_id=event.channel_id,
                timestamp=event.timestamp,
                data=event.data,
                bot=event.bot,
                error=describe(exc),
                quarantined_at=now,
                last_attempt_at=now,
            )
            for event, exc in failed
            if event.id not in existing
        ]
    )


def as_stored_event(row: QuarantinedEvent) -> StoredEvent:
    return StoredEvent(
        row.event_id,
        row.type,
        row.guild_id,
        row.user_id,
        row.channel_id,
        row.timestamp,
        row.data,
        row.bot,
        row.batch_id,
    )


def record_attempts(rows: Iterable[QuarantinedEvent], errors: dict[int, BaseException]) -> None:
    """After a replay: rows whose event applied are deleted, the others keep the new error."""
    now = timezone.now()
    applied = []
    for row in rows:
        exc = errors.get(row.event_id)
        if exc is None:
            applied.append(row.pk)
            continue
        row.error, row.attempts, row.last_attempt_at = describe(exc), row.attempts + 1, now
        row.save(update_fields=["error", "attempts", "last_attempt_at"])
    QuarantinedEvent.objects.filter(pk__in=applied).delete()
