"""A ``GUILD_DIRECTORY`` snapshot's chunks: counted as they arrive; once all have, the rows of
its sections that it did not list, and that nothing after it wrote, are marked deleted
(channels, roles, emojis) or gone (members, their open roles closed)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from guildstats_contract.directory import DirectoryChunk

from directory.models import Channel, DirectoryRow, Emoji, Member, Role, RoleSpan, Snapshot

log = logging.getLogger(__name__)

THREAD_TYPES = (10, 11, 12)  # Discord's thread channel types: deleted by THREAD_DELETE only
SECTION_MODELS = {"channels": Channel, "roles": Role, "emojis": Emoji}


def record_chunk(guild_id: int, at: datetime, chunk: DirectoryChunk) -> bool:
    """Count the chunk; True when it completed its snapshot (which is then swept)."""
    snapshot, _ = Snapshot.objects.get_or_create(
        guild_id=guild_id,
        snapshot_id=chunk.snapshot_id,
        defaults={"parts": chunk.parts, "sections": list(chunk.sections), "taken_at": at},
    )
    if snapshot.completed_at is not None:
        return False
    if chunk.parts != snapshot.parts:
        log.warning(
            "directory snapshot %s of guild %s: a chunk says %s parts, the first said %s; ignored",
            chunk.snapshot_id,
            guild_id,
            chunk.parts,
            snapshot.parts,
        )
        return False
    received = sorted(set(snapshot.received) | {chunk.part})
    snapshot.received = received
    snapshot.taken_at = min(snapshot.taken_at, at)
    done = len(received) == snapshot.parts
    if done:
        snapshot.completed_at = timezone.now()
        _sweep(snapshot)
    snapshot.save(update_fields=["received", "taken_at", "completed_at"])
    return done


def _sweep(snapshot: Snapshot) -> None:
    g, taken = snapshot.guild_id, snapshot.taken_at
    for section, model in SECTION_MODELS.items():
        if section in snapshot.sections:
            rows = _unlisted(model, snapshot).filter(deleted=False)
            if model is Channel:  # a collector knows only active threads: archived ones stay
                rows = rows.exclude(type__in=THREAD_TYPES)
            rows.update(deleted=True, updated_at=taken)
    if "members" in snapshot.sections:
        gone = _unlisted(Member, snapshot).filter(present=True)
        users = list(gone.values_list("user_id", flat=True))
        gone.update(present=False, updated_at=taken)
        for start in range(0, len(users), 1000):
            RoleSpan.objects.filter(
                guild_id=g, user_id__in=users[start : start + 1000], until=None
            ).update(until=taken)


def _unlisted(model: type[DirectoryRow | Member], snapshot: Snapshot) -> QuerySet[Any]:
    rows: QuerySet[Any] = model._default_manager.filter(
        guild_id=snapshot.guild_id, updated_at__lt=snapshot.taken_at
    )
    return rows.exclude(snapshot_id=snapshot.snapshot_id)
