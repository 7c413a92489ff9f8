"""Writes of collection windows (a service of the guilds app): COLLECTOR_HEARTBEAT events
merged into per-guild windows (``CollectionWindow``); the reads are ``guilds.selectors``.

A heartbeat says "this collector was collecting every guild of ``data.guildIds`` from
``data.since`` to the event's timestamp". Each one's span is unioned with the windows of its
guilds: spans that overlap or lie at most ``MERGE_GAP`` apart become one window, so replays,
duplicates and heartbeats arriving out of order (a spool replayed after an outage) change
nothing. A window reads as covered up to ``open_until`` while it is its guild's newest: the
newest heartbeat's time plus two intervals, or that time exactly after a ``stop``.

Set-based: a chunk's heartbeats of the same guild set are unioned in Python first, then each
resulting span costs one read of the guilds' windows it touches, at most one insert of the
guilds that have none and one update of the guilds whose window it grows (every such window
gets the same SQL ``LEAST``/``GREATEST``, so a concurrent writer cannot shrink it), per
``ID_CHUNK`` guilds. Two chunks inserting a guild's first window at once may leave two
overlapping rows: the reader unions them and the next heartbeat merges them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import msgspec
from django.db.models import Case, DateTimeField, F, Value, When
from django.db.models.functions import Greatest, Least
from guildstats_contract.ids import EPOCH
from guildstats_contract.payloads import HeartbeatData

from guilds.models import CollectionWindow

if TYPE_CHECKING:
    from core.events import StoredEvent

MERGE_GAP = CollectionWindow.MERGE_GAP
ID_CHUNK = 5000  # guild ids per statement (SQLite binds at most 32766 parameters)


@dataclass
class Span:
    start: datetime
    end: datetime
    open_until: datetime

    def touches(self, other: Span) -> bool:
        return self.start <= other.end + MERGE_GAP and other.start <= self.end + MERGE_GAP

    def absorb(self, other: Span) -> None:
        """Union with ``other``: the newest heartbeat decides how far the window stays open
        (of two as new, the one open longer)."""
        if other.end > self.end or (other.end == self.end and other.open_until > self.open_until):
            self.open_until = other.open_until
        self.start = min(self.start, other.start)
        self.end = max(self.end, other.end)


def heartbeat_span(event: StoredEvent) -> tuple[tuple[int, ...], Span]:
    data = msgspec.convert(event.data or {}, HeartbeatData, strict=True)
    end = event.timestamp
    start = min(EPOCH + timedelta(milliseconds=data.since), end)
    live = data.state != "stop"
    open_until = end + 2 * timedelta(seconds=data.interval_seconds) if live else end
    return tuple(sorted({int(g) for g in data.guild_ids})), Span(start, end, open_until)


def apply_heartbeats(events: Sequence[StoredEvent]) -> None:
    """The registered handler: merge the chunk's heartbeats into their guilds' windows."""
    by_guilds: dict[tuple[int, ...], list[Span]] = defaultdict(list)
    for event in events:
        guilds, span = heartbeat_span(event)
        if guilds:
            by_guilds[guilds] = union(by_guilds[guilds], span)
    for guilds, spans in by_guilds.items():
        for span in spans:
            for start in range(0, len(guilds), ID_CHUNK):
                merge_window(guilds[start : start + ID_CHUNK], span)


def union(spans: list[Span], span: Span) -> list[Span]:
    """``spans`` (disjoint, in order) with ``span`` merged in."""
    merged = Span(span.start, span.end, span.open_until)
    out = []
    for other in spans:
        if other.touches(merged):
            merged.absorb(other)
        else:
            out.append(other)
    out.append(merged)
    return sorted(out, key=lambda s: s.start)


def merge_window(guild_ids: Sequence[int], span: Span) -> None:
    """Union ``span`` with the windows of ``guild_ids``, in a handful of statements."""
    rows = CollectionWindow.objects.filter(
        guild_id__in=list(guild_ids),
        started_at__lte=span.end + MERGE_GAP,
        ended_at__gte=span.start - MERGE_GAP,
    ).values_list("pk", "guild_id", "started_at", "ended_at", "open_until")
    found: dict[int, list[tuple[int, Span]]] = defaultdict(list)
    for pk, guild_id, started, ended, open_until in rows:
        found[guild_id].append((pk, Span(started, ended, open_until)))
    fresh = [
        CollectionWindow(
            guild_id=g, started_at=span.start, ended_at=span.end, open_until=span.open_until
        )
        for g in guild_ids
        if g not in found
    ]
    if fresh:
        CollectionWindow.objects.bulk_create(fresh)
    grow: list[int] = []
    for windows in found.values():
        if len(windows) == 1:
            pk, window = windows[0]
            merged = Span(window.start, window.end, window.open_until)
            merged.absorb(span)
            if merged != window:  # a replay or a duplicate changes nothing: no write
                grow.append(pk)
            continue
        # the span bridges several windows (or a race left two): keep one, the hull
        keep, merged = windows[0][0], Span(span.start, span.end, span.open_until)
        for _pk, window in windows:
            merged.absorb(window)
        CollectionWindow.objects.filter(pk__in=[pk for pk, _w in windows[1:]]).delete()
        CollectionWindow.objects.filter(pk=keep).update(
            started_at=merged.start, ended_at=merged.end, open_until=merged.open_until
        )
    if grow:
        _grow(grow, span)


def _grow(pks: list[int], span: Span) -> None:
    """One UPDATE for every window that ``span`` extends, computed from each row's own values
    (``absorb`` in SQL; SET expressions all read the row as it was)."""

    def at(value: datetime) -> Value:
        return Value(value, output_field=DateTimeField())

    CollectionWindow.objects.filter(pk__in=pks).update(
        started_at=Least(F("started_at"), at(span.start)),
        ended_at=Greatest(F("ended_at"), at(span.end)),
        open_until=Case(
            When(ended_at__lt=span.end, then=at(span.open_until)),
            When(ended_at=span.end, then=Greatest(F("open_until"), at(span.open_until))),
            default=F("open_until"),
            output_field=DateTimeField(),
        ),
    )
