"""discord.py objects → a guild's directory (``guildstats_contract.directory``): the entries of a
``GUILD_DIRECTORY`` snapshot and its chunks, and the events of each change (``CHANNEL_*``,
``THREAD_*``, ``ROLE_*``, ``EMOJI_*``, ``GUILD_MEMBER_UPDATE``).

Pure functions, like ``events``: names go through the contract's ``clean_name`` here, so what is
sent is what the server stores. Client ids are deterministic per logical event (the entity, the
event's time and a checksum of its data), so the same change reported twice at one moment is
stored once.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import discord
import msgspec
from guildstats_collector.events import event, iso, now_ms, sid
from guildstats_contract.directory import (
    CHANNEL_NAME_MAX,
    EMOJI_NAME_MAX,
    MAX_CHUNK_ENTRIES,
    MAX_MEMBER_ROLES,
    NICK_MAX,
    ROLE_NAME_MAX,
    SECTIONS,
    USERNAME_MAX,
)
from guildstats_contract.directory import clean_name as _clean_name

Channel = discord.abc.GuildChannel | discord.Thread
Entry = dict[str, Any]
SERVER_FRAME_MAX = 1024 * 1024  # the server refuses larger frames (413)
CHUNK_OVERHEAD = 1024  # a chunk's envelope and keys, next to its entries

# the client id's prefix of each change (``<prefix>-<entity>-<ms>-<crc32 of data>``)
_PREFIX = {
    "CHANNEL_CREATE": "chc",
    "CHANNEL_UPDATE": "chu",
    "CHANNEL_DELETE": "chd",
    "THREAD_CREATE": "thc",
    "THREAD_UPDATE": "thu",
    "THREAD_DELETE": "thd",
    "ROLE_CREATE": "roc",
    "ROLE_UPDATE": "rou",
    "ROLE_DELETE": "rod",
    "EMOJI_CREATE": "emc",
    "EMOJI_UPDATE": "emu",
    "EMOJI_DELETE": "emd",
    "GUILD_MEMBER_UPDATE": "mu",
}
ID_PREFIXES = ("dir-", *(f"{prefix}-" for prefix in _PREFIX.values()))


# --- entries ----------------------------------------------------------------------------------
def clean_name(value: str, limit: int) -> str:
    """The contract's ``clean_name``, at once for the usual name: one with no control character
    nor lone surrogate (``isprintable`` is false for both) has nothing to take out."""
    if value.isprintable():
        return value.strip()[:limit]
    return _clean_name(value, limit)


def channel_entry(channel: Channel) -> Entry:
    """A channel, category or thread: a thread's ``parentId`` is its channel, a channel's its
    category; threads have no position."""
    parent: int | None
    if isinstance(channel, discord.Thread):
        parent, position = channel.parent_id, 0
    else:
        parent, position = channel.category_id, channel.position
    return {
        "id": str(channel.id),
        "name": clean_name(channel.name, CHANNEL_NAME_MAX),
        "type": channel.type.value,
        "parentId": sid(parent),
        "position": position,
    }


def role_entry(role: discord.Role) -> Entry:
    return {
        "id": str(role.id),
        "name": clean_name(role.name, ROLE_NAME_MAX),
        "color": role.colour.value,
        "position": role.position,
        "managed": role.managed,
    }


def emoji_entry(emoji: discord.Emoji) -> Entry:
    return {
        "id": str(emoji.id),
        "name": clean_name(emoji.name, EMOJI_NAME_MAX),
        "animated": emoji.animated,
    }


def _name(value: str | None, limit: int) -> str | None:
    return None if value is None else clean_name(value, limit)


def member_entry(member: discord.Member) -> Entry:
    """A member's names, avatars (the user's own and this guild's) and roles (@everyone left
    out: every member holds it)."""
    avatar, guild_avatar = member.avatar, member.guild_avatar  # ``avatar``: the user's own
    roles = [role.id for role in member.roles if not role.is_default()]  # hierarchy order
    return {
        "id": str(member.id),
        "username": clean_name(member.name, USERNAME_MAX),
        "globalName": _name(member.global_name, USERNAME_MAX),
        "nick": _name(member.nick, NICK_MAX),
        "avatar": avatar.key if avatar is not None else None,
        "guildAvatar": guild_avatar.key if guild_avatar is not None else None,
        "bot": member.bot,
        "joinedAt": iso(member.joined_at),
        "roles": [str(role) for role in roles[:MAX_MEMBER_ROLES]],
    }


# --- changes ----------------------------------------------------------------------------------
def change(kind: str, guild_id: int, entity_id: int, data: Entry, **ids: Any) -> Entry:
    """One change of the directory, at the moment the collector learns it (not Discord's time
    of a creation: an emoji, a thread first seen may be years old, older than the server's
    retention; and a row a snapshot did not list is swept unless written after it), with its
    deterministic client id."""
    moment = now_ms()
    digest = zlib.crc32(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
    client_id = f"{_PREFIX[kind]}-{entity_id}-{moment}-{digest:08x}"
    return event(kind, guild_id, timestamp=moment, data=data, event_id=client_id, **ids)


def channel_created(channel: Channel) -> Entry:
    kind = "THREAD_CREATE" if isinstance(channel, discord.Thread) else "CHANNEL_CREATE"
    return change(kind, channel.guild.id, channel.id, channel_entry(channel), channel_id=channel.id)


def channel_updated(before: Channel | None, after: Channel) -> Entry | None:
    """``CHANNEL_UPDATE`` / ``THREAD_UPDATE`` when the name, type, parent or position changed
    (not for permissions, topics, archiving…); ``before`` None: a thread the cache did not
    know."""
    entry = channel_entry(after)
    if before is not None and channel_entry(before) == entry:
        return None
    kind = "THREAD_UPDATE" if isinstance(after, discord.Thread) else "CHANNEL_UPDATE"
    return change(kind, after.guild.id, after.id, entry, channel_id=after.id)


def channel_deleted(channel: Channel) -> Entry:
    kind = "THREAD_DELETE" if isinstance(channel, discord.Thread) else "CHANNEL_DELETE"
    data = {"id": str(channel.id), "name": clean_name(channel.name, CHANNEL_NAME_MAX)}
    return change(kind, channel.guild.id, channel.id, data, channel_id=channel.id)


def thread_deleted(payload: discord.RawThreadDeleteEvent) -> Entry:
    """A thread's deletion, cached or not (``on_raw_thread_delete``)."""
    data: Entry = {"id": str(payload.thread_id), "parentId": str(payload.parent_id)}
    if payload.thread is not None:
        data["name"] = clean_name(payload.thread.name, CHANNEL_NAME_MAX)
    return change(
        "THREAD_DELETE", payload.guild_id, payload.thread_id, data, channel_id=payload.thread_id
    )


def role_created(role: discord.Role) -> Entry:
    return change("ROLE_CREATE", role.guild.id, role.id, role_entry(role), role_id=role.id)


def role_updated(before: discord.Role, after: discord.Role) -> Entry | None:
    """``ROLE_UPDATE`` when the name, colour, position or ``managed`` changed (not for
    permissions, icons, hoisting…)."""
    entry = role_entry(after)
    if role_entry(before) == entry:
        return None
    return change("ROLE_UPDATE", after.guild.id, after.id, entry, role_id=after.id)


def role_deleted(role: discord.Role) -> Entry:
    data = {"id": str(role.id), "name": clean_name(role.name, ROLE_NAME_MAX)}
    return change("ROLE_DELETE", role.guild.id, role.id, data, role_id=role.id)


def emojis_changed(
    guild: discord.Guild, before: Sequence[discord.Emoji], after: Sequence[discord.Emoji]
) -> list[Entry]:
    """GUILD_EMOJIS_UPDATE gives the whole list: created, renamed and deleted ones, by id."""
    old = {emoji.id: emoji_entry(emoji) for emoji in before}
    found: list[Entry] = []
    for emoji in sorted(after, key=lambda e: e.id):
        entry = emoji_entry(emoji)
        previous = old.pop(emoji.id, None)
        if previous is None:
            found.append(change("EMOJI_CREATE", guild.id, emoji.id, entry))
        elif previous != entry:
            found.append(change("EMOJI_UPDATE", guild.id, emoji.id, entry))
    for emoji_id in sorted(old):
        found.append(change("EMOJI_DELETE", guild.id, emoji_id, {"id": str(emoji_id)}))
    return found


def member_updated(member: discord.Member) -> Entry:
    """``GUILD_MEMBER_UPDATE``: the member's whole directory entry as it is now."""
    entry = member_entry(member)
    return change("GUILD_MEMBER_UPDATE", member.guild.id, member.id, entry, user_id=member.id)


# --- the snapshot -----------------------------------------------------------------------------
Sources = list[tuple[str, Sequence[Any]]]
_BUILDERS: dict[str, Callable[[Any], Entry]] = {
    "channels": channel_entry,
    "roles": role_entry,
    "emojis": emoji_entry,
    "members": member_entry,
}


def snapshot_sources(guild: discord.Guild, *, members: bool) -> Sources:
    """What a snapshot lists: every channel and category and the threads the cache knows, the
    roles (@everyone too), the custom emojis, and the members when the cache holds them all.
    Captured now, as lists of discord.py's objects read as each chunk is built (a member who
    leaves meanwhile is still listed, one who joins is not: the join's own event says so)."""
    # copies: discord.py's sequences are views of its live caches (and copy them again on
    # every slice), while the chunk plan needs the lists unchanged from measuring to sending
    sources: Sources = [
        ("channels", [*guild.channels, *guild.threads]),
        ("roles", list(guild.roles)),
        ("emojis", list(guild.emojis)),
    ]
    if members:
        sources.append(("members", list(guild.members)))
    return sources


def entries(sources: Sources, start: int, stop: int) -> Iterator[tuple[str, Entry]]:
    """The entries from ``start`` to ``stop`` of the sections laid end to end."""
    offset = 0
    for section, items in sources:
        low, high = max(start - offset, 0), min(stop - offset, len(items))
        if low < high:
            build = _BUILDERS[section]
            for item in items[low:high]:
                yield section, build(item)
        offset += len(items)


def entry_size(entry: Entry) -> int:
    """Bytes the entry takes in the event's JSON, comma in (msgspec writes what ``json.dumps``
    with ``ensure_ascii=False`` does, ten times faster)."""
    return len(msgspec.json.encode(entry)) + 1


def chunk_budget(frame_max_bytes: int) -> int:
    """Entry bytes per chunk: three quarters of a frame (the rest is room for entries that grow
    between measuring and building), well inside the server's 1 MiB."""
    return min(frame_max_bytes, SERVER_FRAME_MAX) * 3 // 4 - CHUNK_OVERHEAD


class ChunkPlan:
    """Where the chunks end: at most ``MAX_CHUNK_ENTRIES`` entries and ``budget`` bytes each
    (one entry at least). Fed the sizes in order; ``ranges`` are (start, stop) indexes."""

    def __init__(self, budget: int, max_entries: int = MAX_CHUNK_ENTRIES) -> None:
        self._budget = budget
        self._max_entries = max_entries
        self._ends: list[int] = []
        self._index = self._count = self._bytes = 0

    def add(self, size: int) -> None:
        if self._count and (self._count >= self._max_entries or self._bytes + size > self._budget):
            self._ends.append(self._index)
            self._count = self._bytes = 0
        self._index += 1
        self._count += 1
        self._bytes += size

    @property
    def ranges(self) -> list[tuple[int, int]]:
        ends = [*self._ends, self._index]  # no entry at all: one empty chunk, (0, 0)
        starts = [0, *ends[:-1]]
        return list(zip(starts, ends, strict=True))


def chunk(
    guild: discord.Guild,
    snapshot_id: str,
    part: int,
    parts: int,
    sections: list[str],
    listed: Iterator[tuple[str, Entry]],
    *,
    timestamp: int,
) -> tuple[str, bytes]:
    """One ``GUILD_DIRECTORY`` chunk (``part`` of ``parts``) of the entries ``listed``, as its
    client id and JSON: each entry is encoded as soon as it is built, so a chunk under way
    holds bytes, which the garbage collector never scans, rather than a thousand dicts that
    would age into its oldest generation (and set off a full collection of a cache of
    250,000 members)."""
    lists: dict[str, list[msgspec.Raw]] = {section: [] for section in SECTIONS}
    for section, entry in listed:
        lists[section].append(msgspec.Raw(msgspec.json.encode(entry)))
    client_id = f"dir-{snapshot_id}-{part}"
    data = {"snapshotId": snapshot_id, "part": part, "parts": parts, "sections": sections, **lists}
    found = event(
        "GUILD_DIRECTORY",
        guild.id,
        timestamp=timestamp,
        shard_id=guild.shard_id,
        data=data,
        event_id=client_id,
    )
    return client_id, msgspec.json.encode(found)
