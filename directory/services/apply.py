"""Apply the directory's events of a chunk (registered in ``DirectoryConfig.ready()``).

A chunk's events come in timestamp order, and a guild's chunks are applied one at a time (its
processing shard's lock), so the rows a chunk touches are read once, changed in memory and
written back in a few bulk statements: an event older than the row it would change is skipped
(a late update never overwrites a newer name, a snapshot never brings back a channel deleted
after it). Opted-out members are left out entry by entry.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from guildstats_contract.directory import (
    NICK_MAX,
    USERNAME_MAX,
    DirectoryChannel,
    DirectoryChunk,
    DirectoryDelete,
    DirectoryEmoji,
    DirectoryMember,
    DirectoryRole,
    clean_name,
)

from core.events import StoredEvent
from core.sql import Column, bulk_insert, register_stage
from directory.models import Channel, Emoji, Member, Role
from directory.services.roles import RoleChanges
from directory.services.snapshots import record_chunk
from privacy.selectors import opted_out_members

log = logging.getLogger(__name__)
CHANNEL_TYPES = {"CHANNEL_CREATE", "CHANNEL_UPDATE", "THREAD_CREATE", "THREAD_UPDATE"}
CHANNEL_DELETES = {"CHANNEL_DELETE", "THREAD_DELETE"}


_PG_TYPES = {
    "BigIntegerField": "bigint",
    "IntegerField": "integer",
    "SmallIntegerField": "smallint",
    "CharField": "text",
    "BooleanField": "boolean",
    "DateTimeField": "timestamptz",
}


def _columns(model: type[Any]) -> tuple[Column, ...]:
    return tuple(
        Column(f.column, _PG_TYPES[f.get_internal_type()])
        for f in model._meta.concrete_fields
        if not f.primary_key
    )


COLUMNS = {model: _columns(model) for model in (Channel, Role, Emoji, Member)}
for _model, _cols in COLUMNS.items():
    register_stage(_model._meta.db_table, _cols)


@dataclass
class Pending:
    """The rows of one table a chunk changes, keyed by (guild, id): read once, changed in
    memory (an event older than the row is skipped), written back in one upsert."""

    model: type[Any]
    key: str
    rows: dict[tuple[int, int], Any] = field(default_factory=dict)
    changed: set[tuple[int, int]] = field(default_factory=set)

    def load(self, keys: set[tuple[int, int]]) -> None:
        by_guild: dict[int, list[int]] = {}
        for guild, item in keys - set(self.rows):
            by_guild.setdefault(guild, []).append(item)
        for guild, items in by_guild.items():
            found = self.model.objects.filter(guild_id=guild, **{f"{self.key}__in": items})
            for row in found:
                self.rows[(guild, getattr(row, self.key))] = row

    def write(self, guild: int, item: int, at: datetime, values: dict[str, Any]) -> Any | None:
        """Set ``values`` on the row (made when missing) unless it is newer than ``at``."""
        row = self.rows.get((guild, item))
        if row is None:
            row = self.rows[(guild, item)] = self.model(
                guild_id=guild, updated_at=at, **{self.key: item}
            )
        elif row.updated_at > at:
            return None
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = at
        self.changed.add((guild, item))
        return row

    def flush(self) -> None:
        if not self.changed:
            return
        columns = COLUMNS[self.model]
        names = [c.name for c in columns]
        bulk_insert(
            self.model._meta.db_table,
            columns,
            [[getattr(self.rows[key], name) for name in names] for key in sorted(self.changed)],
            conflict=["guild_id", self.key],
            # the rows were merged in memory (the shard's lock keeps anyone else out meanwhile)
            updates={n: f"excluded.{n}" for n in names if n not in ("guild_id", self.key)},
        )


def apply_directory_events(events: Sequence[StoredEvent]) -> None:
    hidden = opted_out_members({event.guild_id for event in events})
    tables = {
        "channel": Pending(Channel, "channel_id"),
        "role": Pending(Role, "role_id"),
        "emoji": Pending(Emoji, "emoji_id"),
        "member": Pending(Member, "user_id"),
    }
    # each snapshot chunk decoded once (up to 1,000 entries, converted one by one)
    chunks = {
        event.id: msgspec.convert(event.data or {}, DirectoryChunk, strict=True)
        for event in events
        if event.type == "GUILD_DIRECTORY"
    }
    _load(events, tables, chunks)
    roles = RoleChanges()
    for event in events:
        _apply(event, tables, roles, hidden, chunks)
    for table in tables.values():
        table.flush()
    roles.flush()
    for event in events:
        if event.id in chunks:
            record_chunk(event.guild_id, event.timestamp, chunks[event.id])


def _load(
    events: Sequence[StoredEvent], tables: dict[str, Pending], chunks: dict[int, DirectoryChunk]
) -> None:
    """Every row the chunk's events name, in one query per table and guild."""
    keys: dict[str, set[tuple[int, int]]] = {name: set() for name in tables}
    for event in events:
        g = event.guild_id
        if event.type == "GUILD_DIRECTORY":
            chunk = chunks[event.id]
            keys["channel"].update((g, int(c.id)) for c in chunk.channels)
            keys["role"].update((g, int(r.id)) for r in chunk.roles)
            keys["emoji"].update((g, int(e.id)) for e in chunk.emojis)
            keys["member"].update((g, int(m.id)) for m in chunk.members)
        elif event.channel_id is not None and event.type in CHANNEL_TYPES | CHANNEL_DELETES:
            keys["channel"].add((g, event.channel_id))
        elif event.type.startswith("ROLE_") and event.data:
            keys["role"].add((g, int(event.data["id"])))
        elif event.type.startswith("EMOJI_") and event.data:
            keys["emoji"].add((g, int(event.data["id"])))
        elif event.user_id is not None and event.type.startswith("GUILD_MEMBER_"):
            keys["member"].add((g, event.user_id))
    for name, table in tables.items():
        table.load(keys[name])


def _apply(
    event: StoredEvent,
    tables: dict[str, Pending],
    roles: RoleChanges,
    hidden: set[Any],
    chunks: dict[int, DirectoryChunk],
) -> None:
    g, at, kind = event.guild_id, event.timestamp, event.type
    if kind == "GUILD_DIRECTORY":
        chunk = chunks[event.id]
        if chunk.dropped:
            log.warning(
                "directory snapshot %s of guild %s: %s entries did not fit and were left out",
                chunk.snapshot_id,
                g,
                chunk.dropped,
            )
        roles.preload(g, [int(m.id) for m in chunk.members])
        for channel in chunk.channels:
            _channel(tables, g, at, channel, chunk.snapshot_id)
        for role in chunk.roles:
            _role(tables, g, at, role, chunk.snapshot_id)
        for emoji in chunk.emojis:
            _emoji(tables, g, at, emoji, chunk.snapshot_id)
        for member in chunk.members:
            if (g, int(member.id)) not in hidden:
                _member(tables, roles, g, at, member, chunk.snapshot_id)
    elif kind in CHANNEL_TYPES:
        _channel(tables, g, at, msgspec.convert(event.data, DirectoryChannel, strict=True))
    elif kind in CHANNEL_DELETES and event.channel_id is not None:
        tables["channel"].write(g, event.channel_id, at, {"deleted": True})
    elif kind in ("ROLE_CREATE", "ROLE_UPDATE"):
        _role(tables, g, at, msgspec.convert(event.data, DirectoryRole, strict=True))
    elif kind in ("EMOJI_CREATE", "EMOJI_UPDATE"):
        _emoji(tables, g, at, msgspec.convert(event.data, DirectoryEmoji, strict=True))
    elif kind in ("ROLE_DELETE", "EMOJI_DELETE"):
        gone = msgspec.convert(event.data, DirectoryDelete, strict=True)
        table = tables["role" if kind == "ROLE_DELETE" else "emoji"]
        if table.write(g, int(gone.id), at, {"deleted": True}) and kind == "ROLE_DELETE":
            roles.role_deleted(g, int(gone.id), at)
    elif kind == "GUILD_MEMBER_UPDATE":
        member = msgspec.convert(event.data, DirectoryMember, strict=True)
        if int(member.id) == event.user_id:
            _member(tables, roles, g, at, member)
    elif kind == "GUILD_MEMBER_ADD" and event.user_id is not None:
        data = event.data or {}
        avatar = data.get("avatar")
        tables["member"].write(
            g,
            event.user_id,
            at,
            {
                "username": clean_name(str(data.get("username") or ""), USERNAME_MAX),
                "avatar": avatar if _is_hash(avatar) else "",
                "bot": bool(data.get("bot")),
                "joined_at": at,
                "present": True,
            },
        )
    elif kind == "GUILD_MEMBER_REMOVE" and event.user_id is not None:
        left = tables["member"].write(g, event.user_id, at, {"present": False})
        if left is not None:
            roles.member_left(g, event.user_id, at)


def _entry(
    table: Pending, g: int, at: datetime, item: str, values: dict[str, Any], snapshot: str
) -> Any | None:
    """Write a directory entry (listed by ``snapshot``, or a change when empty): it exists."""
    values["deleted"] = False
    if snapshot:
        values["snapshot_id"] = snapshot
    return table.write(g, int(item), at, values)


def _channel(
    tables: dict[str, Pending], g: int, at: datetime, c: DirectoryChannel, snapshot: str = ""
) -> None:
    parent = None if c.parent_id is None else int(c.parent_id)
    values = {"name": c.name, "type": c.type, "parent_id": parent, "position": c.position}
    _entry(tables["channel"], g, at, c.id, values, snapshot)


def _role(
    tables: dict[str, Pending], g: int, at: datetime, r: DirectoryRole, snapshot: str = ""
) -> None:
    values = {"name": r.name, "color": r.color, "position": r.position, "managed": r.managed}
    _entry(tables["role"], g, at, r.id, values, snapshot)


def _emoji(
    tables: dict[str, Pending], g: int, at: datetime, e: DirectoryEmoji, snapshot: str = ""
) -> None:
    _entry(tables["emoji"], g, at, e.id, {"name": e.name, "animated": e.animated}, snapshot)


def _member(
    tables: dict[str, Pending],
    roles: RoleChanges,
    g: int,
    at: datetime,
    m: DirectoryMember,
    snapshot: str = "",
) -> None:
    values: dict[str, Any] = {
        "username": m.username,
        "global_name": m.global_name or "",
        "nick": (m.nick or "")[:NICK_MAX],
        "avatar": m.avatar or "",
        "guild_avatar": m.guild_avatar or "",
        "bot": m.bot,
        "present": True,
    }
    if m.joined_at is not None:
        values["joined_at"] = m.joined_at
    if snapshot:
        values["snapshot_id"] = snapshot
    if tables["member"].write(g, int(m.id), at, values):
        roles.set_roles(g, int(m.id), {int(role) for role in m.roles}, at)


def _is_hash(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= 64
        and value.removeprefix("a_").isalnum()
        and value == value.lower()
    )
