"""Names for ids: what the API and the pages show instead of 18-digit numbers.

``display_name``: the guild nickname, else the global name, else the username; ``avatar_url``:
the guild avatar, else the user's, as a Discord CDN URL (the browser loads it, the server never
fetches it; without one, pages draw initials). An id with no known name is shown shortened, the
full id on hover (``short_id``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict

from django.db.models import Count

from directory.models import Channel, Member, Role, RoleSpan
from directory.shapes import ChannelEntry, Directory, RoleEntry

CDN = "https://cdn.discordapp.com"
CHANNEL_TYPES = {
    0: "text",
    2: "voice",
    4: "category",
    5: "announcement",
    10: "announcement thread",
    11: "public thread",
    12: "private thread",
    13: "stage",
    15: "forum",
    16: "media",
}


class MemberName(TypedDict):
    displayName: str | None
    username: str | None
    avatarUrl: str | None


class ChannelName(TypedDict):
    name: str | None
    type: str | None
    deleted: bool
    category: str | None


def short_id(value: int | str) -> str:
    text = str(value)
    return f"…{text[-6:]}" if len(text) > 8 else text


def avatar_url(guild_id: int, member: Member, size: int = 64) -> str | None:
    if member.guild_avatar:
        path = f"guilds/{guild_id}/users/{member.user_id}/avatars/{member.guild_avatar}"
        return _image(path, member.guild_avatar, size)
    if member.avatar:
        return _image(f"avatars/{member.user_id}/{member.avatar}", member.avatar, size)
    return None


def _image(path: str, key: str, size: int) -> str:
    kind = "gif" if key.startswith("a_") else "png"
    return f"{CDN}/{path}.{kind}?size={size}"


def member_names(guild_id: int, user_ids: Iterable[int]) -> dict[int, MemberName]:
    """The known names of these members (one query); members never seen are left out."""
    wanted = {int(u) for u in user_ids}
    if not wanted:
        return {}
    rows = Member.objects.filter(guild_id=guild_id, user_id__in=wanted)
    return {
        row.user_id: {
            "displayName": row.nick or row.global_name or row.username or None,
            "username": row.username or None,
            "avatarUrl": avatar_url(guild_id, row),
        }
        for row in rows
    }


def joined_dates(guild_id: int, user_ids: Iterable[int]) -> dict[int, datetime]:
    """When the directory says these members joined (Discord's ``joined_at``)."""
    rows = Member.objects.filter(
        guild_id=guild_id, user_id__in={int(u) for u in user_ids}, joined_at__isnull=False
    )
    return {user: at for user, at in rows.values_list("user_id", "joined_at") if at is not None}


def unknown_member() -> MemberName:
    return {"displayName": None, "username": None, "avatarUrl": None}


def channel_names(guild_id: int, channel_ids: Iterable[int]) -> dict[int, ChannelName]:
    wanted = {int(c) for c in channel_ids}
    if not wanted:
        return {}
    rows = list(Channel.objects.filter(guild_id=guild_id, channel_id__in=wanted))
    parents = {row.parent_id for row in rows if row.parent_id is not None}
    categories = (
        dict(
            Channel.objects.filter(guild_id=guild_id, channel_id__in=parents).values_list(
                "channel_id", "name"
            )
        )
        if parents
        else {}
    )
    return {
        row.channel_id: {
            "name": row.name or None,
            "type": CHANNEL_TYPES.get(row.type, str(row.type)),
            "deleted": row.deleted,
            "category": categories.get(row.parent_id or 0) or None,
        }
        for row in rows
    }


def unknown_channel() -> ChannelName:
    return {"name": None, "type": None, "deleted": False, "category": None}


def member_ids_matching(guild_id: int, text: str, limit: int = 1000) -> list[int]:
    """Members whose username, global name or nickname contains ``text`` (the members search)."""
    from django.db.models import Q

    rows = Member.objects.filter(guild_id=guild_id).filter(
        Q(username__icontains=text) | Q(global_name__icontains=text) | Q(nick__icontains=text)
    )
    return list(rows.values_list("user_id", flat=True)[:limit])


def directory(guild_id: int) -> Directory:
    """The guild's channels (deleted ones last in their category) and roles, with how many
    members hold each role now."""
    holders = dict(
        RoleSpan.objects.filter(guild_id=guild_id, until=None)
        .values_list("role_id")
        .annotate(n=Count("user_id"))
        .values_list("role_id", "n")
    )
    channels: list[ChannelEntry] = [
        {
            "channelId": str(c.channel_id),
            "name": c.name,
            "type": CHANNEL_TYPES.get(c.type, str(c.type)),
            "parentId": None if c.parent_id is None else str(c.parent_id),
            "position": c.position,
            "deleted": c.deleted,
        }
        for c in Channel.objects.filter(guild_id=guild_id).order_by(
            "deleted", "parent_id", "position", "channel_id"
        )
    ]
    roles: list[RoleEntry] = [
        {
            "roleId": str(r.role_id),
            "name": r.name,
            "color": f"#{r.color:06x}",
            "position": r.position,
            "managed": r.managed,
            "deleted": r.deleted,
            "members": holders.get(r.role_id, 0),
        }
        for r in Role.objects.filter(guild_id=guild_id).order_by("deleted", "-position", "role_id")
    ]
    return {"guildId": str(guild_id), "channels": channels, "roles": roles}
