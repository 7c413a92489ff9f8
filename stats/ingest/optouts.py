"""The members each guild does not track, read once per frame at most.

Each guild's list is kept in the Django cache (Redis when configured) for ``CACHE_SECONDS``;
adding or removing an opt-out deletes its guild's key (``forget_opt_outs``), so the change
applies to the next frame. A frame costs one cache round trip, plus one query for the guilds
whose lists were not cached."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache

from stats.models import MemberOptOut

CACHE_SECONDS = 300


def opt_out_cache_key(guild_id: int) -> str:
    return f"privacy:optouts:{guild_id}"


def opted_out_members(guild_ids: Iterable[int]) -> set[tuple[int, int]]:
    """(guild id, user id) of every opted-out member of ``guild_ids``."""
    keys = {opt_out_cache_key(g): g for g in set(guild_ids)}
    if not keys:
        return set()
    cached = cache.get_many(list(keys))
    members = {(keys[key], user) for key, users in cached.items() for user in users}
    missing = [g for key, g in keys.items() if key not in cached]
    if missing:
        found: dict[int, list[int]] = {g: [] for g in missing}
        rows = MemberOptOut.objects.filter(guild_id__in=missing).values_list("guild_id", "user_id")
        for guild_id, user_id in rows:
            found[guild_id].append(user_id)
            members.add((guild_id, user_id))
        cache.set_many({opt_out_cache_key(g): users for g, users in found.items()}, CACHE_SECONDS)
    return members


def forget_opt_outs(guild_id: int) -> None:
    """Drop a guild's cached list (after an opt-out was added or removed)."""
    cache.delete(opt_out_cache_key(guild_id))
