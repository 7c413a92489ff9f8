"""Builders for bot events (camelCase dicts, as a bot sends them) and for model rows."""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from typing import Any

import factory

from guilds.models import Guild

_ids = itertools.count(100_000_000_000_000_001)


def snowflake() -> str:
    return str(next(_ids))


def ms(at: datetime | None = None, *, ago: float = 0.0) -> int:
    """Milliseconds since the epoch of ``at`` (default: now), minus ``ago`` seconds."""
    base = at.timestamp() if at is not None else time.time()
    return round((base - ago) * 1000)


def event(
    type_: str,
    guild: str,
    ts: int,
    *,
    user: str | None = None,
    channel: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_, "guildId": guild, "timestamp": ts}
    if user is not None:
        body["userId"] = user
    if channel is not None:
        body["channelId"] = channel
    body.update(extra)
    return body


def message(guild: str, user: str, channel: str, ts: int, **extra: Any) -> dict[str, Any]:
    return event(
        "MESSAGE_CREATE", guild, ts, user=user, channel=channel, messageId=snowflake(), **extra
    )


def reaction(
    guild: str,
    user: str,
    author: str | None,
    ts: int,
    *,
    channel: str | None = None,
    emoji: str = "👍",
    removed: bool = False,
) -> dict[str, Any]:
    data: dict[str, Any] = {"emoji": emoji}
    if author is not None:
        data["messageAuthorId"] = author
    kind = "MESSAGE_REACTION_REMOVE" if removed else "MESSAGE_REACTION_ADD"
    return event(
        kind, guild, ts, user=user, channel=channel or snowflake(), messageId=snowflake(), data=data
    )


def voice_join(guild: str, user: str, channel: str, ts: int) -> dict[str, Any]:
    return event("VOICE_CHANNEL_JOIN", guild, ts, user=user, channel=channel)


def voice_leave(guild: str, user: str, channel: str, ts: int) -> dict[str, Any]:
    return event("VOICE_CHANNEL_LEAVE", guild, ts, user=user, channel=channel)


def voice_move(guild: str, user: str, old: str, new: str, ts: int) -> dict[str, Any]:
    return event(
        "VOICE_CHANNEL_MOVE",
        guild,
        ts,
        user=user,
        channel=new,
        data={"oldChannelId": old, "newChannelId": new},
    )


def voice_state(guild: str, user: str, channel: str | None, ts: int) -> dict[str, Any]:
    body = event("VOICE_STATE_UPDATE", guild, ts, user=user)
    body["channelId"] = channel  # null means "left voice" (seed 000)
    return body


class GuildFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guild

    guild_id = factory.LazyFunction(lambda: int(snowflake()))
    name = factory.Sequence(lambda n: f"Guild {n}")
