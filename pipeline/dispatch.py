"""Dispatch a chunk of stored events to the handlers the apps registered (``core.registry``).

``apply_events`` runs every registration over its types' share of the chunk, in order, and
flushes the contexts they share. ``apply_isolating`` wraps it in a savepoint and,
when a chunk fails through its events' own fault, bisects it so that only the failing events
are left out (and quarantined by the caller). Knows no app and no counting rule: what a chunk
needs besides the handlers (guild rows, the counting deltas) comes from registered hooks.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from core.db import is_transient
from core.events import StoredEvent
from core.registry import ChunkContext, registry
from pipeline.quarantine import Failure


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
    (sorted by timestamp), in the registry's order: the ``before_chunk`` hooks first, then the
    handlers, each context's ``flush`` after the last handler sharing it, the ``on_chunk``
    hooks last."""
    for hook in registry.before_chunk_hooks():
        hook(events)
    contexts: dict[str, ChunkContext] = {}
    for registration in registry.registrations():
        mine = [e for e in events if e.type in registration.types]
        if not mine:
            continue
        name = registration.context
        if name is None:
            registration.handler(mine)
            continue
        shared = contexts.get(name)
        if shared is None:
            types = registry.context_types(name)
            factory = registry.context_factory(name)
            shared = contexts[name] = factory([e for e in events if e.type in types])
        registration.handler(mine, shared)
    for shared in contexts.values():
        shared.flush()
    for hook in registry.chunk_hooks():  # e.g. the rollups' stale marks for late events
        hook(events)
