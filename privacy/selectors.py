"""The members each guild does not track, read once per frame at most.

Each guild's list is kept in the Django cache (Redis when configured) for ``CACHE_SECONDS``;
adding or removing an opt-out deletes its guild's key (``forget_opt_outs``), so the change
applies to the next frame. A frame costs one cache round trip, plus one query for the guilds
whose lists were not cached.

Each process also keeps the lists it has read, valid while the shared opt-out version (one
cache key, moved by every ``forget_opt_outs``) is the one they were read under: a frame then
costs one small read instead of its guilds' lists (a frame of 1,000 events touches hundreds of
guilds; reading and unpickling their keys was a seventh of ingest's time in process). When the
version cannot be read (Redis down), the process's copy is dropped and every frame reads the
database, as before.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable

from django.core.cache import cache

from privacy.models import MemberOptOut

CACHE_SECONDS = 300
VERSION_KEY = "privacy:optouts:version"


def opt_out_cache_key(guild_id: int) -> str:
    return f"privacy:optouts:{guild_id}"


class _Known:
    """This process's copy: guild id -> opted-out user ids, read under ``version``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.version: str | None = None
        self.since = 0.0
        self.lists: dict[int, tuple[int, ...]] = {}

    def take(self, version: str | None, guilds: set[int]) -> dict[int, tuple[int, ...]]:
        """The lists known for ``guilds`` under ``version`` (forgetting an older copy). An
        unreadable version (Redis down) forgets the copy too: an opt-out changed during the
        outage cannot move the version, so nothing read before it is trusted after it."""
        with self.lock:
            now = time.monotonic()
            if version is None or version != self.version or now - self.since > CACHE_SECONDS:
                self.version, self.since, self.lists = version, now, {}
            return {g: self.lists[g] for g in guilds if g in self.lists}

    def keep(self, version: str | None, lists: dict[int, tuple[int, ...]]) -> None:
        with self.lock:
            if version is not None and version == self.version:
                self.lists.update(lists)


_known = _Known()


def _version() -> str | None:
    version = cache.get(VERSION_KEY)
    if version is None and cache.add(VERSION_KEY, _new_version(), None):
        version = cache.get(VERSION_KEY)
    return None if version is None else str(version)


def _new_version() -> str:
    return f"{time.time_ns()}-{secrets.token_hex(4)}"


def opted_out_members(guild_ids: Iterable[int]) -> set[tuple[int, int]]:
    """(guild id, user id) of every opted-out member of ``guild_ids``."""
    guilds = set(guild_ids)
    if not guilds:
        return set()
    version = _version()
    lists = _known.take(version, guilds)
    missing = guilds - lists.keys()
    if missing:
        read = _read(missing)
        _known.keep(version, read)
        lists.update(read)
    return {(g, user) for g, users in lists.items() for user in users}


def _read(guilds: set[int]) -> dict[int, tuple[int, ...]]:
    """The guilds' lists from the shared cache, and from the database for those not cached."""
    keys = {opt_out_cache_key(g): g for g in guilds}
    cached = cache.get_many(list(keys))
    lists = {keys[key]: tuple(users) for key, users in cached.items()}
    missing = [g for key, g in keys.items() if key not in cached]
    if missing:
        found: dict[int, list[int]] = {g: [] for g in missing}
        rows = MemberOptOut.objects.filter(guild_id__in=missing).values_list("guild_id", "user_id")
        for guild_id, user_id in rows:
            found[guild_id].append(user_id)
        cache.set_many({opt_out_cache_key(g): users for g, users in found.items()}, CACHE_SECONDS)
        lists.update((g, tuple(users)) for g, users in found.items())
    return lists


def forget_opt_outs(guild_id: int) -> None:
    """Drop a guild's cached list (after an opt-out was added or removed), and move the shared
    version so that every process drops its own copy before its next frame."""
    cache.delete(opt_out_cache_key(guild_id))
    cache.set(VERSION_KEY, _new_version(), None)
