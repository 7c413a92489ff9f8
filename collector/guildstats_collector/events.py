"""discord.py objects → guildstats ``BotEventDto`` dicts (camelCase, ids as strings, ``timestamp``
in ms), with the ``data`` payloads exactly as guildstats' README documents them.

Pure functions: no I/O, no state, so each is tested on objects discord.py itself parsed from
gateway payloads. Discord's own time is used where the event has one (a message's or an audit
entry's snowflake), so a replayed event keeps its moment.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import discord


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment is not None else now_ms()


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sid(value: Any) -> str | None:
    return None if value is None else str(int(value))


def event(
    kind: str,
    guild_id: int,
    *,
    timestamp: int | None = None,
    user_id: Any = None,
    channel_id: Any = None,
    message_id: Any = None,
    role_id: Any = None,
    shard_id: int | None = None,
    data: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": kind,
        "guildId": str(int(guild_id)),
        "timestamp": now_ms() if timestamp is None else timestamp,
    }
    for key, value in (
        ("userId", user_id),
        ("channelId", channel_id),
        ("messageId", message_id),
        ("roleId", role_id),
    ):
        if value is not None:
            out[key] = str(int(value))
    if shard_id is not None:
        out["shardId"] = shard_id
    if data is not None:
        out["data"] = data
    if event_id is not None:
        out["id"] = event_id
    return out


# --- messages ---------------------------------------------------------------------------------
def message_create(message: discord.Message, *, send_content: bool) -> dict[str, Any] | None:
    if message.guild is None or message.webhook_id is not None:
        return None
    data: dict[str, Any] = {
        "bot": message.author.bot,
        "attachmentCount": len(message.attachments),
    }
    if isinstance(message.channel, discord.Thread) and message.channel.parent_id:
        data["parentChannelId"] = str(message.channel.parent_id)
    if send_content:
        data["content"] = message.content
    return event(
        "MESSAGE_CREATE",
        message.guild.id,
        timestamp=ms(message.created_at),
        user_id=message.author.id,
        channel_id=message.channel.id,
        message_id=message.id,
        data=data,
        event_id=f"mc-{message.id}",  # a message is created once: a natural id
    )


def message_delete(
    payload: discord.RawMessageDeleteEvent, *, send_content: bool
) -> dict[str, Any] | None:
    if payload.guild_id is None:
        return None
    cached = payload.cached_message
    data: dict[str, Any] = {
        "messageId": str(payload.message_id),
        "channelId": str(payload.channel_id),
    }
    author = None
    if cached is not None:
        author = cached.author
        data.update(
            authorId=str(author.id),
            authorUsername=author.name,
            hasAttachments=bool(cached.attachments),
            attachmentCount=len(cached.attachments),
        )
        if send_content:
            data["content"] = cached.content
    # the deleter is not in the gateway event: the audit entry (MESSAGE_DELETE) reports it and
    # the server merges the two reports into one case
    return event(
        "MESSAGE_DELETE",
        payload.guild_id,
        user_id=author.id if author is not None else None,
        channel_id=payload.channel_id,
        message_id=payload.message_id,
        data=data,
        event_id=f"md-{payload.message_id}",
    )


def message_delete_bulk(
    payload: discord.RawBulkMessageDeleteEvent,
) -> dict[str, Any] | None:
    if payload.guild_id is None:
        return None
    ids = sorted(payload.message_ids)
    authors = sorted({m.author.id for m in payload.cached_messages})
    return event(
        "MESSAGE_DELETE_BULK",
        payload.guild_id,
        channel_id=payload.channel_id,
        data={
            "messageIds": [str(i) for i in ids],
            "count": len(ids),
            "channelId": str(payload.channel_id),
            "authorIds": [str(a) for a in authors],
        },
        event_id=f"mdb-{ids[0]}-{len(ids)}" if ids else None,
    )


# --- reactions --------------------------------------------------------------------------------
def _emoji(emoji: discord.PartialEmoji) -> str | dict[str, Any]:
    if emoji.id is None:
        return emoji.name or ""
    return {"id": str(emoji.id), "name": emoji.name, "animated": emoji.animated}


def reaction(payload: discord.RawReactionActionEvent) -> dict[str, Any] | None:
    if payload.guild_id is None:
        return None
    kind = (
        "MESSAGE_REACTION_ADD"
        if payload.event_type == "REACTION_ADD"
        else "MESSAGE_REACTION_REMOVE"
    )
    data: dict[str, Any] = {"emoji": _emoji(payload.emoji)}
    if payload.message_author_id is not None:
        data["messageAuthorId"] = str(payload.message_author_id)
    if payload.member is not None and payload.member.bot:
        data["bot"] = True
    return event(
        kind,
        payload.guild_id,
        user_id=payload.user_id,
        channel_id=payload.channel_id,
        message_id=payload.message_id,
        data=data,
    )


# --- voice ------------------------------------------------------------------------------------
def voice(
    member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
) -> dict[str, Any] | None:
    """Join, leave or move; a mute, deafen, stream or video change is none of them."""
    old = before.channel.id if before.channel is not None else None
    new = after.channel.id if after.channel is not None else None
    if old == new:
        return None
    data: dict[str, Any] = {"bot": True} if member.bot else {}
    if old is None:
        return event(
            "VOICE_CHANNEL_JOIN",
            member.guild.id,
            user_id=member.id,
            channel_id=new,
            data=data or None,
        )
    if new is None:
        return event(
            "VOICE_CHANNEL_LEAVE",
            member.guild.id,
            user_id=member.id,
            channel_id=old,
            data=data or None,
        )
    data.update(oldChannelId=str(old), newChannelId=str(new))
    return event(
        "VOICE_CHANNEL_MOVE", member.guild.id, user_id=member.id, channel_id=new, data=data
    )


# --- members, bans ----------------------------------------------------------------------------
def _user_fields(user: discord.abc.User) -> dict[str, Any]:
    fields: dict[str, Any] = {"userId": str(user.id), "username": user.name}
    if user.discriminator and user.discriminator != "0":
        fields["discriminator"] = user.discriminator
    if user.avatar is not None:
        fields["avatar"] = user.avatar.key
    return fields


def member_add(member: discord.Member, attribution: dict[str, Any]) -> dict[str, Any]:
    data = _user_fields(member)
    data["bot"] = member.bot
    data["accountCreatedAt"] = iso(member.created_at)
    data.update(attribution)
    return _join("GUILD_MEMBER_ADD", member, data)


def _join(kind: str, member: discord.Member, data: dict[str, Any]) -> dict[str, Any]:
    """A report of a member's join, at Discord's time of the join."""
    joined = ms(member.joined_at) if member.joined_at else None
    return event(kind, member.guild.id, timestamp=joined, user_id=member.id, data=data)


def member_remove(payload: discord.RawMemberRemoveEvent) -> dict[str, Any]:
    user = payload.user
    data = _user_fields(user)
    data["wasKicked"] = False  # a kick is known from its audit entry, merged by the server
    if isinstance(user, discord.Member):
        if user.joined_at is not None:
            data["joinedAt"] = iso(user.joined_at)
        data["roles"] = [str(role.id) for role in user.roles if not role.is_default()]
    if user.bot:
        data["bot"] = True
    return event("GUILD_MEMBER_REMOVE", payload.guild_id, user_id=user.id, data=data)


def ban(kind: str, guild: discord.Guild, user: discord.abc.User) -> dict[str, Any]:
    data: dict[str, Any] = {"targetUserId": str(user.id), "targetUsername": user.name}
    if user.avatar is not None:
        data["targetAvatar"] = user.avatar.key
    return event(kind, guild.id, user_id=user.id, data=data)


# --- audit log, auto-moderation ---------------------------------------------------------------
def audit_entry(entry: discord.AuditLogEntry) -> dict[str, Any]:
    raw_changes = getattr(entry, "_changes", None) or []
    changes = [
        {"key": c.get("key"), "oldValue": c.get("old_value"), "newValue": c.get("new_value")}
        for c in raw_changes
        if isinstance(c, dict) and c.get("key")
    ]
    target_id = getattr(entry, "_target_id", None)
    action = entry.action
    data: dict[str, Any] = {
        "id": str(entry.id),
        # Discord's numeric audit-log type: the server knows 20, 22-25, 72, 73 and MEMBER_UPDATE
        "action": action.value if isinstance(action, discord.AuditLogAction) else int(action),
        "changes": changes,
    }
    if entry.user_id is not None:
        data["executorId"] = str(entry.user_id)
        if entry.user is not None:
            data["executorUsername"] = entry.user.name
    if target_id is not None:
        data["targetId"] = str(target_id)
    if isinstance(action, discord.AuditLogAction) and action.target_type:
        data["targetType"] = action.target_type
    if entry.reason:
        data["reason"] = entry.reason
    extra = entry.extra
    channel = getattr(extra, "channel", None)
    count = getattr(extra, "count", None)
    if channel is not None:
        data["channelId"] = str(channel.id)
    if count is not None:
        data["count"] = int(count)
    return event(
        "GUILD_AUDIT_LOG_ENTRY_CREATE",
        entry.guild.id,
        timestamp=ms(entry.created_at),
        user_id=entry.user_id,
        data=data,
        event_id=f"al-{entry.id}",
    )


def automod(execution: discord.AutoModAction, *, send_content: bool) -> dict[str, Any]:
    action = execution.action
    data: dict[str, Any] = {
        "ruleId": str(execution.rule_id),
        "ruleTriggerType": execution.rule_trigger_type.value,
        "action": {
            "type": action.type.value,
            **({"channelId": str(action.channel_id)} if action.channel_id else {}),
            **(
                {"durationSeconds": int(action.duration.total_seconds())} if action.duration else {}
            ),
        },
        "userId": str(execution.user_id),
    }
    if execution.channel_id is not None:
        data["channelId"] = str(execution.channel_id)
    if execution.message_id is not None:
        data["messageId"] = str(execution.message_id)
    if execution.matched_keyword:
        data["matchedKeyword"] = execution.matched_keyword
    if send_content:
        data["content"] = execution.content
        if execution.matched_content:
            data["matchedContent"] = execution.matched_content
    return event(
        "AUTO_MODERATION_ACTION_EXECUTION",
        execution.guild_id,
        user_id=execution.user_id,
        channel_id=execution.channel_id,
        message_id=execution.message_id,
        data=data,
    )


# --- invites ----------------------------------------------------------------------------------
def invite_fields(invite: discord.Invite) -> dict[str, Any]:
    """An invite as INVITE_CREATE's ``data`` (and a GUILD_STATE's invite list) describe it."""
    data: dict[str, Any] = {
        "code": invite.code,
        "maxUses": invite.max_uses or 0,
        "maxAge": invite.max_age or 0,
        "temporary": bool(invite.temporary),
        "uses": invite.uses or 0,
    }
    if invite.channel is not None:
        data["channelId"] = str(invite.channel.id)
    if invite.inviter is not None:
        data["inviterId"] = str(invite.inviter.id)
        data["inviterUsername"] = invite.inviter.name
    if invite.created_at is not None:
        data["createdAt"] = iso(invite.created_at)
    expires = invite.expires_at
    if expires is None and invite.created_at is not None and invite.max_age:
        expires = invite.created_at + timedelta(seconds=invite.max_age)  # the gateway omits it
    if expires is not None:
        data["expiresAt"] = iso(expires)
    return data


def invite_create(invite: discord.Invite) -> dict[str, Any] | None:
    if invite.guild is None:
        return None
    return event("INVITE_CREATE", invite.guild.id, data=invite_fields(invite))


def invite_delete(invite: discord.Invite) -> dict[str, Any] | None:
    if invite.guild is None:
        return None
    data: dict[str, Any] = {"code": invite.code}
    if invite.channel is not None:
        data["channelId"] = str(invite.channel.id)
    return event("INVITE_DELETE", invite.guild.id, data=data)


def invite_use(member: discord.Member, used: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": used["code"],
        "newMemberId": str(member.id),
        "newMemberUsername": member.name,
        "accountCreatedAt": iso(member.created_at),
    }
    for key in ("inviterId", "inviterUsername", "uses", "maxUses"):
        if used.get(key) is not None:
            data[key] = used[key]
    return _join("INVITE_USE", member, data)
