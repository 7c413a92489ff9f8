"""discord.py guilds → guildstats' guild events: the registry (``GUILD_SYNC``, ``GUILD_CREATE``,
``GUILD_UPDATE``, ``GUILD_DELETE``) and a guild's state at a (re)connect (``GUILD_STATE``).
Pure functions, like ``events``."""

from __future__ import annotations

from typing import Any

import discord
from guildstats_collector.events import event, iso, sid
from guildstats_contract.payloads import GUILD_FIELD_NAMES, MAX_ROSTER


# --- guilds -----------------------------------------------------------------------------------
def guild_fields(guild: discord.Guild) -> dict[str, Any]:
    return {
        "name": guild.name,
        "icon": guild.icon.key if guild.icon is not None else None,
        "ownerId": sid(guild.owner_id),
        "memberCount": guild.member_count or 0,
        "features": sorted(guild.features),
        "premiumTier": guild.premium_tier,
        "premiumSubscriptionCount": guild.premium_subscription_count or 0,
    }


def guild_sync(guilds: list[discord.Guild], shard_id: int, shard_count: int) -> dict[str, Any]:
    entries = [{"id": str(g.id), **guild_fields(g)} for g in guilds]
    return event(
        "GUILD_SYNC",
        guilds[0].id,
        shard_id=shard_id,
        data={"guilds": entries, "shardCount": shard_count},
    )


def guild_create(guild: discord.Guild) -> dict[str, Any]:
    data = {"id": str(guild.id), **guild_fields(guild)}
    me = guild.me
    if me is not None and me.joined_at is not None:
        data["joinedAt"] = iso(me.joined_at)
    return event("GUILD_CREATE", guild.id, shard_id=guild.shard_id, data=data)


def guild_update(before: discord.Guild, after: discord.Guild) -> dict[str, Any] | None:
    old, new = guild_fields(before), guild_fields(after)
    changes = {
        k: {"old": old[k], "new": new[k]} for k in sorted(GUILD_FIELD_NAMES) if old[k] != new[k]
    }
    if not changes:
        return None
    return event("GUILD_UPDATE", after.id, data={"id": str(after.id), "changes": changes})


def voice_roster(guild: discord.Guild) -> list[dict[str, Any]] | None:
    """Who is in which voice channel now, from discord.py's cache (the voice states that
    GUILD_CREATE gave, kept current since); None when over the bound."""
    roster = []
    members = 0
    for channel in sorted((*guild.voice_channels, *guild.stage_channels), key=lambda c: c.id):
        states = channel.voice_states
        if not states:
            continue
        bots = [u for u in states if (m := guild.get_member(u)) is not None and m.bot]
        entry: dict[str, Any] = {"channelId": str(channel.id), "userIds": _ids(states)}
        if bots:
            entry["botIds"] = _ids(bots)
        roster.append(entry)
        members += len(states)
    return roster if members <= MAX_ROSTER else None


def _ids(values: Any) -> list[str]:
    return [str(v) for v in sorted(values)]


def guild_state(
    guild: discord.Guild,
    snapshot_id: str,
    reason: str,
    *,
    gap_since: int | None = None,
    timestamp: int | None = None,
    invites: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """GUILD_STATE: the voice roster and member count now (``invites`` None), or the invite
    list (a second part of the same snapshot, once fetched)."""
    data: dict[str, Any] = {"snapshotId": snapshot_id, "reason": reason}
    if gap_since is not None:
        data["gapSince"] = gap_since
    if invites is not None:
        data["invites"] = invites
    else:
        data["memberCount"] = guild.member_count or 0
        roster = voice_roster(guild)
        if roster is not None:
            data["voice"] = roster
    return event("GUILD_STATE", guild.id, timestamp=timestamp, shard_id=guild.shard_id, data=data)


def guild_delete(guild: discord.Guild) -> dict[str, Any]:
    return event("GUILD_DELETE", guild.id, data={"id": str(guild.id)})
