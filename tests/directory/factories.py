"""Directory events as a collector sends them (guildstats_contract.directory)."""

from __future__ import annotations

from typing import Any

from tests.factories import event


def channel(id_: str, name: str, *, type_: int = 0, parent: str | None = None, position: int = 0):
    return {"id": id_, "name": name, "type": type_, "parentId": parent, "position": position}


def role(id_: str, name: str, *, color: int = 0, position: int = 0) -> dict[str, Any]:
    return {"id": id_, "name": name, "color": color, "position": position, "managed": False}


def person(
    id_: str,
    username: str,
    *,
    global_name: str | None = None,
    nick: str | None = None,
    avatar: str | None = None,
    roles: list[str] | None = None,
    joined: str | None = "2026-01-02T03:04:05.000Z",
) -> dict[str, Any]:
    return {
        "id": id_,
        "username": username,
        "globalName": global_name,
        "nick": nick,
        "avatar": avatar,
        "bot": False,
        "joinedAt": joined,
        "roles": roles or [],
    }


def directory(
    guild: str,
    ts: int,
    *,
    snapshot: str = "s1",
    part: int = 0,
    parts: int = 1,
    sections: tuple[str, ...] = ("channels", "roles", "emojis", "members"),
    **lists: list[dict[str, Any]],
) -> dict[str, Any]:
    data = {"snapshotId": snapshot, "part": part, "parts": parts, "sections": list(sections)}
    data.update(lists)
    return event("GUILD_DIRECTORY", guild, ts, data=data, id=f"dir-{snapshot}-{part}")


def channel_event(kind: str, guild: str, ts: int, entry: dict[str, Any]) -> dict[str, Any]:
    return event(kind, guild, ts, channel=entry["id"], data=entry)


def channel_delete(guild: str, ts: int, id_: str) -> dict[str, Any]:
    return event("CHANNEL_DELETE", guild, ts, channel=id_)


def role_event(kind: str, guild: str, ts: int, entry: dict[str, Any]) -> dict[str, Any]:
    return event(kind, guild, ts, roleId=entry["id"], data=entry)


def member_update(guild: str, ts: int, entry: dict[str, Any]) -> dict[str, Any]:
    return event("GUILD_MEMBER_UPDATE", guild, ts, user=entry["id"], data=entry)
