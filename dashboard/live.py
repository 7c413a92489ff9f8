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

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from django.core.cache import cache
from django.db import transaction

from core.events import StoredEvent
from dashboard.selectors import generation_key

log = logging.getLogger(__name__)

PUSH_INTERVAL_SECONDS = 1
GENERATION_SECONDS = 24 * 3600
# How long a socket's guild counts as watched after the socket opened or last pinged (the page
# pings every minute; a background tab's timers may be slowed to about one a minute): a guild
# is pushed to while a socket could still be open on it, and a mark the cache dropped under
# memory pressure comes back with the next ping.
WATCH_SECONDS = 15 * 60


def group_name(guild_id: int) -> str:
    return f"guild.{guild_id}"


def push_key(guild_id: int) -> str:
    return f"dashboard:push:{guild_id}"


def watch_key(guild_id: int) -> str:
    return f"dashboard:watched:{guild_id}"


def watching(guild_id: int) -> None:
    """A socket joined the guild's group or pinged (``GuildLiveConsumer``): push to it."""
    cache.set(watch_key(guild_id), 1, WATCH_SECONDS)


def on_chunk(events: Sequence[StoredEvent]) -> None:
    guild_ids = {e.guild_id for e in events}
    if guild_ids:
        transaction.on_commit(lambda: guilds_changed(guild_ids))


def guilds_changed(guild_ids: Iterable[int]) -> list[int]:
    """Move the guilds' page generation and push to those not pushed in the last second;
    returns the guilds pushed.

    A chunk touches up to a thousand guilds, so this costs a fixed number of round trips, not
    a few per guild (it was half of a chunk's processing time): the generations are written in
    one ``set_many``; only the guilds someone watches (``watching``, one ``get_many``) are
    pushed to, since a group send costs two Redis round trips even to an empty group, and the
    push gate costs one (together a fifth of a chunk's processing time for a thousand guilds
    nobody watched); of those, the push marks are read in one ``get_many`` (``cache.add``, the
    atomic gate, is then asked only for the guilds not pushed in the last second), and the
    pushes go out in one hop to the event loop."""
    guilds = sorted(set(guild_ids))
    if not guilds:
        return []
    pushed: list[int] = []
    try:
        _next_generations(guilds)
        watched = cache.get_many([watch_key(g) for g in guilds])
        guilds = [g for g in guilds if watch_key(g) in watched]
        if not guilds:
            return []
        recent = cache.get_many([push_key(g) for g in guilds])
        due = [g for g in guilds if push_key(g) not in recent]
        pushed = [g for g in due if cache.add(push_key(g), 1, PUSH_INTERVAL_SECONDS)]
        layer = get_channel_layer()
        if layer is not None and pushed:
            _outside_event_loop(lambda: async_to_sync(_send_all)(layer, pushed))
    except Exception:  # never fail processing for a dashboard
        log.warning("live push for guilds %s failed", guilds[:10], exc_info=True)
        # a push that did not go out must not hold back the next chunk's for a second (the
        # page refetches only after a push it received)
        with suppress(Exception):  # the cache itself is down: its marks expire within a second
            cache.delete_many([push_key(g) for g in pushed])
        return []
    return pushed


def _outside_event_loop(send: Callable[[], object]) -> None:
    """Run ``send`` here, or, when this thread is running an event loop (processing applied
    eagerly from async code: the embedded mode's server, a test driving a browser), in a short
    thread of its own and wait for it: ``async_to_sync`` refuses to run inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        send()
        return
    failure: list[BaseException] = []

    def run() -> None:
        try:
            send()
        except BaseException as exc:  # handed back to the caller, which logs it
            failure.append(exc)

    thread = threading.Thread(target=run, name="live-push", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


async def _send_all(layer: BaseChannelLayer, guild_ids: list[int]) -> None:
    for guild_id in guild_ids:
        await layer.group_send(
            group_name(guild_id),
            {"type": "guild.changed", "guild": str(guild_id), "at": time.time()},
        )


def _next_generations(guild_ids: list[int]) -> None:
    """A new page-cache generation for each guild: a value never used before (the time in
    nanoseconds and a random part), so two chunks in the same instant still make two
    generations, written for all the guilds in one round trip."""
    token = f"{time.time_ns()}-{secrets.token_hex(4)}"
    cache.set_many({generation_key(g): token for g in guild_ids}, GENERATION_SECONDS)
