"""Live dashboards: after processing commits a chunk, the open dashboards of its guilds are told
to refresh (a Channels group per guild, ``guild.<id>``, on the channel layer ingest uses).

The chunk hook (registered in ``DashboardConfig.ready()``) runs in the chunk's transaction and
only registers an on-commit callback, so a rolled-back chunk (a savepoint of the quarantine's
bisection, a retried transaction) pushes nothing. After the commit, the guild's page-cache
generation moves (pages and live refreshes read fresh figures) and a push is sent at most once
per guild per second (``cache.add`` with a 1 s expiry: shared by every process when Redis is
configured). A chunk that falls inside that second is not pushed on its own: the page fetches
again 1.2 s after each push, so it still shows within 2 s. Nothing here may fail processing: a
channel layer or cache error is logged and dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import transaction

from core.events import StoredEvent
from dashboard.selectors import generation_key

log = logging.getLogger(__name__)

PUSH_INTERVAL_SECONDS = 1
GENERATION_SECONDS = 24 * 3600


def group_name(guild_id: int) -> str:
    return f"guild.{guild_id}"


def push_key(guild_id: int) -> str:
    return f"dashboard:push:{guild_id}"


def on_chunk(events: Sequence[StoredEvent]) -> None:
    guild_ids = {e.guild_id for e in events}
    if guild_ids:
        transaction.on_commit(lambda: guilds_changed(guild_ids))


def guilds_changed(guild_ids: Iterable[int]) -> list[int]:
    """Move the guilds' page generation and push to those not pushed in the last second;
    returns the guilds pushed."""
    pushed = []
    for guild_id in sorted(guild_ids):
        try:
            _next_generation(generation_key(guild_id))
            if cache.add(push_key(guild_id), 1, PUSH_INTERVAL_SECONDS):
                layer = get_channel_layer()
                if layer is not None:
                    async_to_sync(layer.group_send)(
                        group_name(guild_id),
                        {"type": "guild.changed", "guild": str(guild_id), "at": time.time()},
                    )
                pushed.append(guild_id)
        except Exception:  # never fail processing for a dashboard
            log.warning("live push for guild %s failed", guild_id, exc_info=True)
    return pushed


def _next_generation(key: str) -> None:
    """A new page-cache generation for the guild: a counter (``incr`` is atomic in Redis and in
    the local-memory cache), so two chunks in the same instant still make two generations."""
    if not cache.add(key, 1, GENERATION_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, GENERATION_SECONDS)
