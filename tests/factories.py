"""Builders for bot events (camelCase dicts, as a bot sends them) and for model rows."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
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


# --- Moderation and invite events (issue 5) --------------------------------------------------
def ban(
    guild: str,
    target: str,
    ts: int,
    *,
    moderator: str | None = None,
    reason: str | None = None,
    removed: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "targetUserId": target,
        "targetUsername": f"user{target[-4:]}",
        "moderatorId": moderator,
    }
    if moderator is not None:
        data["moderatorUsername"] = f"mod{moderator[-4:]}"
    if reason is not None:
        data["reason"] = reason
    kind = "GUILD_BAN_REMOVE" if removed else "GUILD_BAN_ADD"
    return event(kind, guild, ts, user=target, data=data, **extra)


def audit_entry(
    guild: str,
    action: str | int,
    ts: int,
    *,
    target: str | None = None,
    executor: str | None = None,
    reason: str | None = None,
    changes: list[dict[str, Any]] | None = None,
    **data_extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {"action": action}
    if executor is not None:
        data.update(executorId=executor, executorUsername=f"mod{executor[-4:]}")
    if target is not None:
        data.update(targetId=target, targetUsername=f"user{target[-4:]}", targetType="user")
    if reason is not None:
        data["reason"] = reason
    if changes is not None:
        data["changes"] = changes
    data.update(data_extra)
    return event("GUILD_AUDIT_LOG_ENTRY_CREATE", guild, ts, data=data)


def member_remove(
    guild: str,
    user: str,
    ts: int,
    *,
    kicked_by: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "userId": user,
        "username": f"user{user[-4:]}",
        "wasKicked": kicked_by is not None,
        "joinedAt": "2026-01-01T00:00:00.000Z",
        "roles": [],
    }
    if kicked_by is not None:
        data["moderatorId"] = kicked_by
    if reason is not None:
        data["reason"] = reason
    return event("GUILD_MEMBER_REMOVE", guild, ts, user=user, data=data)


def member_add(
    guild: str,
    user: str,
    ts: int,
    *,
    inviter: str | None = None,
    code: str | None = None,
    **data_extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {"userId": user, "username": f"user{user[-4:]}", "bot": False}
    if inviter is not None:
        data.update(inviterId=inviter, inviterUsername=f"inv{inviter[-4:]}")
    if code is not None:
        data["inviteCode"] = code
    data.update(data_extra)
    return event("GUILD_MEMBER_ADD", guild, ts, user=user, data=data)


def invite_create(
    guild: str, code: str, inviter: str | None, ts: int, **data_extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": code,
        "channelId": "300000000000000001",
        "maxUses": 0,
        "maxAge": 0,
        "temporary": False,
    }
    if inviter is not None:
        data.update(inviterId=inviter, inviterUsername=f"inv{inviter[-4:]}")
    data.update(data_extra)
    return event("INVITE_CREATE", guild, ts, data=data)


def invite_use(
    guild: str, code: str, inviter: str | None, member: str, ts: int, **data_extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": code,
        "newMemberId": member,
        "newMemberUsername": f"user{member[-4:]}",
    }
    if inviter is not None:
        data.update(inviterId=inviter, inviterUsername=f"inv{inviter[-4:]}")
    data.update(data_extra)
    return event("INVITE_USE", guild, ts, user=member, data=data)


def old_account() -> str:
    """A snowflake created in 2016: an account far older than any fake-account threshold."""
    return str((int(snowflake()) % 1_000_000) | (30_000_000_000 << 22))


class SnapshotFactory(factory.django.DjangoModelFactory):
    """A metrics_snapshots row; give ``period_start`` and, for daily rows, ``period_end``
    (hourly and 5-minute rows end one bucket later by default)."""

    class Meta:
        model = "stats.MetricsSnapshot"

    period_type = "hourly"
    period_end = factory.LazyAttribute(
        lambda row: (
            row.period_start
            + (timedelta(minutes=5) if row.period_type == "5min" else timedelta(hours=1))
        )
    )
    total_messages = 0
    total_voice_seconds = 0
    total_reactions = 0
    unique_active_users = 0
    data = factory.LazyFunction(dict)
