"""Dispatch a chunk of stored events to the handlers the apps registered (``core.registry``).

``apply_events`` runs every registration over its types' share of the chunk, in order, and
writes the counting handlers' shared deltas. ``apply_isolating`` wraps it in a savepoint and,
when a chunk fails through its events' own fault, bisects it so that only the failing events
are left out (and quarantined by the caller). Imports no app above ``guilds``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from core.db import is_transient
from core.events import StoredEvent
from core.registry import registry
from guilds.selectors import counting_settings
from guilds.services import ensure_guilds
from stats.processing.bots import known_bots
from stats.processing.counting import CounterDeltas
from stats.processing.quarantine import Failure
from stats.processing.snapshots import load_snapshot_sources


def apply_isolating(events: Sequence[StoredEvent]) -> list[Failure]:
    """Apply ``events`` in a savepoint; if that fails through the events' own fault, bisect
    (in order, so transitions still line up) until each failing event stands alone, apply
    everything else and return the failing events with their errors. Transient database
    errors propagate: the whole chunk is retried. The happy path costs one savepoint."""
    failed: list[Failure] = []
    _apply_or_bisect(list(events), failed)
    return failed


def _apply_or_bisect(events: list[StoredEvent], failed: list[Failure]) -> None:
    try:
        with transaction.atomic():
            apply_events(events)
        return
    except Exception as exc:
        if is_transient(exc):
            raise
        if len(events) == 1:
            failed.append((events[0], exc))
            return
    middle = len(events) // 2
    _apply_or_bisect(events[:middle], failed)
    _apply_or_bisect(events[middle:], failed)


def apply_events(events: Sequence[StoredEvent]) -> None:
    """Run every registered handler (``core.registry``) over its types' share of ``events``
    (sorted by timestamp), in the registry's order, then write the counting handlers' deltas.
    Guild rows and counting settings are read first, for every guild in the chunk."""
    guild_ids = {e.guild_id for e in events}
    settings_by_guild = counting_settings(guild_ids)
    ensure_guilds(guild_ids, known=settings_by_guild)
    deltas: CounterDeltas | None = None
    for registration in registry.registrations():
        mine = [e for e in events if e.type in registration.types]
        if not mine:
            continue
        if not registration.counting:
            registration.handler(mine)
            continue
        if deltas is None:
            deltas = _counter_deltas(events, settings_by_guild)
        registration.handler(mine, deltas)
    if deltas is not None:
        deltas.flush()
    for hook in registry.chunk_hooks():  # e.g. the rollups' stale marks for late events
        hook(events)


def _counter_deltas(events: Sequence[StoredEvent], settings_by_guild: dict) -> CounterDeltas:
    """The deltas that the counting handlers of a chunk share, knowing its bot accounts and
    since when each guild's activity comes from bot snapshots."""
    # the counting types, gathered once per chunk (asking the registry per event was a tenth
    # of a chunk's processing time)
    types = frozenset().union(*(r.types for r in registry.registrations() if r.counting))
    counting = [e for e in events if e.type in types]
    active_guilds = {e.guild_id for e in counting}
    deltas = CounterDeltas(settings_by_guild, known_bots(active_guilds))
    load_snapshot_sources(active_guilds, deltas)
    for event in counting:
        if event.bot and event.user_id is not None:
            deltas.mark_bot(event.guild_id, event.user_id)
    return deltas
