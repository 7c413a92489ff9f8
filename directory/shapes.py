"""The directory API's answer (core.shapes): a guild's channels and roles by name."""

from __future__ import annotations

from typing import Annotated, TypedDict

from msgspec import Meta

from core.shapes import Id


class ChannelEntry(TypedDict):
    channelId: Id
    name: str
    type: Annotated[str, Meta(description="text, voice, category, forum, … (Discord's type)")]
    parentId: Id | None
    position: int
    deleted: bool


class RoleEntry(TypedDict):
    roleId: Id
    name: str
    color: Annotated[str, Meta(pattern="^#[0-9a-f]{6}$")]
    position: int
    managed: bool
    deleted: bool
    members: Annotated[int, Meta(description="members holding it now")]


class Directory(TypedDict):
    guildId: Id
    channels: Annotated[list[ChannelEntry], Meta(description="by category, then position")]
    roles: Annotated[list[RoleEntry], Meta(description="highest first")]
