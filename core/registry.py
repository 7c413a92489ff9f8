"""The event-handler registry: which app applies which event types, in what order.

Each app registers its handlers in its ``AppConfig.ready()`` (as Django's admin autodiscovers
and Wagtail's ``hooks.register`` collects), and the dispatcher
(``pipeline.dispatch``) asks this registry instead of importing the apps. Whether a
type is processed, whether its ``data`` must be read back, and which known types are only
stored raw all come from here.

A handler is called once per chunk with that chunk's events of its types, in timestamp order,
inside the chunk's transaction. A handler registered with a ``context`` also gets the chunk's
shared object of that name (the stats app's counter deltas: the counting rules and what the
chunk adds), built once by the factory the app registered (``on_context``) from the events of
every handler sharing it, and flushed after the last handler. Handlers run by ascending
``order``; ``before_chunk`` hooks run first (the guild rows a chunk needs), ``on_chunk`` hooks
last. So the dispatcher knows no app and no counting rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from guildstats_contract.events import KNOWN_TYPES, RAW_ONLY_TYPES
from guildstats_contract.payloads import DATA_SCHEMAS


class RegistryError(Exception):
    pass


@dataclass(frozen=True)
class Registration:
    name: str  # "<app>.<what>", for messages and the docs
    types: frozenset[str]
    handler: Callable[..., object]
    order: int
    reads_data: frozenset[str]  # of its types, those whose ``data`` the dispatcher loads
    context: str | None  # handler(events, shared) with the chunk's object of that name


class ChunkContext(Protocol):
    """What a context factory builds: written once every handler sharing it is done."""

    def flush(self) -> None: ...


class HandlerRegistry:
    def __init__(self) -> None:
        self._registrations: dict[str, Registration] = {}
        self._chunk_hooks: dict[str, Callable[..., object]] = {}
        self._erasers: dict[str, Callable[[int, int], dict[str, int]]] = {}
        self._before_chunk: dict[str, Callable[..., object]] = {}
        self._contexts: dict[str, Callable[..., ChunkContext]] = {}
        self._member_columns: dict[str, Callable[[Any], Any]] = {}
        self._erase_scopes: dict[
            str, tuple[int, Callable[..., AbstractContextManager[object]]]
        ] = {}

    def _add(self, hooks: dict[str, Any], name: str, hook: Any) -> None:
        existing = hooks.get(name)
        if existing is not None and existing != hook:  # the same hook again: ready() ran twice
            raise RegistryError(f"{name} is registered twice, differently")
        hooks[name] = hook

    def before_chunk(self, name: str, hook: Callable[..., object]) -> None:
        """Call ``hook(events)`` with every event of each chunk before any handler."""
        self._add(self._before_chunk, name, hook)

    def before_chunk_hooks(self) -> list[Callable[..., object]]:
        return [self._before_chunk[name] for name in sorted(self._before_chunk)]

    def on_context(self, name: str, factory: Callable[..., ChunkContext]) -> None:
        """``factory(events)`` builds the object the handlers registered with ``context=name``
        share in a chunk, from the chunk's events of all their types."""
        self._add(self._contexts, name, factory)

    def context_factory(self, name: str) -> Callable[..., ChunkContext]:
        return self._contexts[name]

    def context_types(self, name: str) -> frozenset[str]:
        """The types of every handler sharing the context ``name``."""
        return frozenset().union(
            *(r.types for r in self._registrations.values() if r.context == name)
        )

    def on_erase(self, name: str, eraser: Callable[[int, int], dict[str, int]]) -> None:
        """``eraser(guild_id, user_id)`` removes an app's rows about a member (privacy's erase
        calls every eraser inside its transaction) and returns the rows changed per table."""
        self._add(self._erasers, name, eraser)

    def erasers(self) -> list[Callable[[int, int], dict[str, int]]]:
        return [self._erasers[name] for name in sorted(self._erasers)]

    def on_erase_scope(
        self,
        name: str,
        scope: Callable[[int, int, dict[str, Any]], AbstractContextManager[object]],
        *,
        order: int,
    ) -> None:
        """``scope(guild_id, user_id, report)`` is a context manager that privacy's erase
        enters around every eraser, by ascending ``order`` (the outermost first), and that may
        add to ``report``: the rollups' lock, the pipeline's transaction and shard lock, the
        audit entry, the recomputation of the snapshots the member counted in."""
        self._add(self._erase_scopes, name, (order, scope))

    def erase_scopes(
        self,
    ) -> list[tuple[int, Callable[[int, int, dict[str, Any]], AbstractContextManager[object]]]]:
        """(order, scope) pairs, by ascending order."""
        ordered = sorted(self._erase_scopes.items(), key=lambda item: (item[1][0], item[0]))
        return [hook for _, hook in ordered]

    def on_member_rows(self, name: str, annotate: Callable[[Any], Any]) -> None:
        """``annotate(rows)`` adds an app's columns to the members list's queryset (the invites
        app: the first join), so the list's reader need not import that app."""
        self._add(self._member_columns, name, annotate)

    def member_columns(self) -> list[Callable[[Any], Any]]:
        return [self._member_columns[name] for name in sorted(self._member_columns)]

    def on_chunk(self, name: str, hook: Callable[..., object]) -> None:
        """Call ``hook(events)`` with every event of each chunk, after the handlers, in the
        chunk's transaction (the rollups mark the buckets a late chunk changes)."""
        self._add(self._chunk_hooks, name, hook)

    def chunk_hooks(self) -> list[Callable[..., object]]:
        return [self._chunk_hooks[name] for name in sorted(self._chunk_hooks)]

    def register(
        self,
        name: str,
        types: Iterable[str],
        handler: Callable[..., object],
        *,
        order: int,
        reads_data: bool | Iterable[str] = False,
        context: str | None = None,
    ) -> None:
        """Register ``handler`` for ``types``; registering the same name again with the same
        handler is a no-op (``ready()`` may run twice in tests), with another one an error."""
        types = frozenset(types)
        reading = types if reads_data is True else frozenset(reads_data or ())
        if not reading <= types:
            raise RegistryError(f"{name} reads data of types it does not handle")
        registration = Registration(name, types, handler, order, reading, context)
        existing = self._registrations.get(name)
        if existing is not None and existing != registration:
            raise RegistryError(f"{name} is registered twice, differently")
        unknown = registration.types - KNOWN_TYPES
        if unknown:
            raise RegistryError(f"{name} handles types outside the contract: {sorted(unknown)}")
        raw_only = registration.types & RAW_ONLY_TYPES
        if raw_only:
            raise RegistryError(f"{name} handles types the contract stores raw: {sorted(raw_only)}")
        unchecked = reading - set(DATA_SCHEMAS)
        if unchecked:
            # nothing ingest accepts may fail later: a payload that is read must be validated
            raise RegistryError(f"{name} reads data of types with no schema: {sorted(unchecked)}")
        self._registrations[name] = registration

    def registrations(self) -> list[Registration]:
        return sorted(self._registrations.values(), key=lambda r: (r.order, r.name))

    def processed_types(self) -> frozenset[str]:
        return frozenset().union(*(r.types for r in self._registrations.values()))

    def types_reading_data(self) -> list[str]:
        return sorted(frozenset().union(*(r.reads_data for r in self._registrations.values())))

    def check_complete(self) -> None:
        """Every type of the contract is either handled or declared raw-only."""
        missing = KNOWN_TYPES - RAW_ONLY_TYPES - self.processed_types()
        if missing:
            raise RegistryError(f"no handler registered for {sorted(missing)}")
        contexts = {r.context for r in self._registrations.values() if r.context is not None}
        unbuilt = contexts - set(self._contexts)
        if unbuilt:
            raise RegistryError(f"no factory registered for the contexts {sorted(unbuilt)}")


registry = HandlerRegistry()
