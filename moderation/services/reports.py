"""Moderation events -> reports of actions (who did what to whom), before they meet a case.

A report says what one event or audit-log entry tells of an action; ``cases`` decides whether
it opens a case or completes one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from guildstats_contract.actions import (
    AuditLogData,
    AutoModerationData,
    BanData,
    MemberRemoveData,
    MessageDeleteBulkData,
    MessageDeleteData,
)

from core.ids import int_or_none
from moderation.models import Action

if TYPE_CHECKING:
    from core.events import StoredEvent


# Audit-log action (the seed's names, discord.js's PascalCase names normalised, or Discord's
# numeric types) -> case action. MEMBER_UPDATE (24) is a timeout only when it changes
# ``communication_disabled_until``; other audit actions are stored raw and make no case.
AUDIT_ACTIONS: dict[str | int, Action] = {
    "MEMBER_KICK": Action.KICK,
    20: Action.KICK,
    "MEMBER_BAN_ADD": Action.BAN,
    22: Action.BAN,
    "MEMBER_BAN_REMOVE": Action.UNBAN,
    23: Action.UNBAN,
    "MEMBER_TIMEOUT_ADD": Action.TIMEOUT,
    "MEMBER_TIMEOUT_REMOVE": Action.TIMEOUT_REMOVE,
    "MEMBER_ROLE_UPDATE": Action.ROLE_UPDATE,
    25: Action.ROLE_UPDATE,
    "MESSAGE_DELETE": Action.MESSAGE_DELETE,
    72: Action.MESSAGE_DELETE,
    "MESSAGE_BULK_DELETE": Action.MESSAGE_DELETE_BULK,
    73: Action.MESSAGE_DELETE_BULK,
}
MEMBER_UPDATE = ("MEMBER_UPDATE", 24)
TIMEOUT_KEYS = ("communication_disabled_until", "communicationDisabledUntil")

Source = Literal["event", "audit"]


@dataclass
class Report:
    """One report of a moderation action, before it is matched to a case."""

    guild_id: int
    action: Action
    target_user_id: int | None
    timestamp: datetime
    source: Source
    event_id: int
    data: dict[str, Any]
    target_username: str = ""
    moderator_id: int | None = None
    moderator_username: str = ""
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    audit_entry_id: int | None = None


# --- Events -> reports -----------------------------------------------------------------------
def build_report(event: StoredEvent) -> Report | None:
    """What ``event`` says happened, or None when it is no moderation action (a member who
    left by themselves, a message deleted by its author, an audit entry we do not track)."""
    builder = _BUILDERS.get(event.type)
    return None if builder is None else builder(event, event.data or {})


def _ban(event: StoredEvent, raw: dict[str, Any]) -> Report:
    data = msgspec.convert(raw, BanData, strict=True)
    action = Action.BAN if event.type == "GUILD_BAN_ADD" else Action.UNBAN
    return Report(
        guild_id=event.guild_id,
        action=action,
        target_user_id=int(data.target_user_id),
        target_username=data.target_username,
        moderator_id=int_or_none(data.moderator_id),
        moderator_username=data.moderator_username or "",
        reason=data.reason or "",
        details=_compact({"targetDiscriminator": data.target_discriminator}),
        timestamp=event.timestamp,
        source="event",
        event_id=event.id,
        data=raw,
    )


def _member_remove(event: StoredEvent, raw: dict[str, Any]) -> Report | None:
    data = msgspec.convert(raw, MemberRemoveData, strict=True)
    if not data.was_kicked:
        return None  # a member who left: the invites app records it
    target = event.user_id if event.user_id is not None else int_or_none(data.user_id)
    return Report(
        guild_id=event.guild_id,
        action=Action.KICK,
        target_user_id=target,
        target_username=data.username,
        moderator_id=int_or_none(data.moderator_id),
        moderator_username=data.moderator_username or "",
        reason=data.reason or "",
        details=_compact(
            {
                "roles": data.roles or None,
                "joinedAt": data.joined_at.isoformat() if data.joined_at else None,
            }
        ),
        timestamp=event.timestamp,
        source="event",
        event_id=event.id,
        data=raw,
    )


def _message_delete(event: StoredEvent, raw: dict[str, Any]) -> Report | None:
    data = msgspec.convert(raw, MessageDeleteData, strict=True)
    deleter = data.deleted_by
    if deleter is None or deleter.user_id == data.author_id:
        return None  # deleted by its author: not a moderation action
    channel = data.channel_id or (str(event.channel_id) if event.channel_id else None)
    return Report(
        guild_id=event.guild_id,
        action=Action.MESSAGE_DELETE,
        target_user_id=int_or_none(data.author_id),
        target_username=data.author_username or "",
        moderator_id=int(deleter.user_id),
        moderator_username=deleter.username,
        details=_compact(
            {
                "messageId": data.message_id,
                "channelId": channel,
                "content": data.content,
                "hasAttachments": data.has_attachments or None,
                "attachmentCount": data.attachment_count or None,
            }
        ),
        timestamp=event.timestamp,
        source="event",
        event_id=event.id,
        data=raw,
    )


def _message_delete_bulk(event: StoredEvent, raw: dict[str, Any]) -> Report:
    data = msgspec.convert(raw, MessageDeleteBulkData, strict=True)
    authors = sorted(set(data.author_ids))
    moderator_id = data.moderator_id or (data.deleted_by.user_id if data.deleted_by else None)
    moderator_name = data.moderator_username or (
        data.deleted_by.username if data.deleted_by else ""
    )
    channel = data.channel_id or (str(event.channel_id) if event.channel_id else None)
    return Report(
        guild_id=event.guild_id,
        action=Action.MESSAGE_DELETE_BULK,
        # one author: that member is the target; several or unknown: the channel was purged
        target_user_id=int(authors[0]) if len(authors) == 1 else None,
        moderator_id=int_or_none(moderator_id),
        moderator_username=moderator_name or "",
        reason=data.reason or "",
        details=_compact(
            {
                "channelId": channel,
                "count": data.count if data.count is not None else len(data.message_ids),
                "messageIds": data.message_ids or None,
                "authorIds": authors or None,
            }
        ),
        timestamp=event.timestamp,
        source="event",
        event_id=event.id,
        data=raw,
    )


def _audit_log(event: StoredEvent, raw: dict[str, Any]) -> Report | None:
    data = msgspec.convert(raw, AuditLogData, strict=True)
    key = _audit_key(data.action)
    action = AUDIT_ACTIONS.get(key)
    details: dict[str, Any] = {"auditAction": data.action}
    if key in MEMBER_UPDATE or action in (Action.TIMEOUT, Action.TIMEOUT_REMOVE):
        change = next((c for c in data.changes if c.key in TIMEOUT_KEYS), None)
        if change is not None:
            action = Action.TIMEOUT if change.new_value else Action.TIMEOUT_REMOVE
            details["until"] = change.new_value
    if action is None:
        return None
    target = data.target_id
    if action == Action.MESSAGE_DELETE_BULK:
        # Discord's target of a bulk delete is always the channel, whatever targetType says
        details["channelId"], target = data.channel_id or data.target_id, None
        if data.count is not None:
            details["count"] = data.count
    elif action == Action.MESSAGE_DELETE:
        # a moderator deleted another member's messages: the target is their author (discord.py
        # says targetType "message"); Discord groups a moderator's deletes of one author in one
        # channel into one entry whose count grows (``amend`` in cases)
        details.update(_compact({"channelId": data.channel_id, "count": data.count or 1}))
    elif data.target_type not in (None, "user", "member"):
        return None  # a role, a channel…: not an action on a member
    if data.changes:
        details["changes"] = [
            _compact({"key": c.key, "oldValue": c.old_value, "newValue": c.new_value})
            for c in data.changes
        ]
    return Report(
        guild_id=event.guild_id,
        action=action,
        target_user_id=int_or_none(target),
        target_username=data.target_username or "" if target else "",
        moderator_id=int_or_none(data.executor_id),
        moderator_username=data.executor_username or "",
        reason=data.reason or "",
        details=details,
        timestamp=event.timestamp,
        source="audit",
        event_id=event.id,
        data=raw,
        audit_entry_id=int_or_none(data.id),
    )


def _automod(event: StoredEvent, raw: dict[str, Any]) -> Report:
    data = msgspec.convert(raw, AutoModerationData, strict=True)
    target = event.user_id if event.user_id is not None else int_or_none(data.user_id)
    rule = data.rule_name or data.rule_id
    return Report(
        guild_id=event.guild_id,
        action=Action.AUTOMOD,
        target_user_id=target,
        target_username=data.username or "",
        moderator_id=None,  # the system
        reason=f"auto-moderation rule {rule}" if rule else "auto-moderation",
        details=_compact(
            {
                "ruleId": data.rule_id,
                "ruleName": data.rule_name,
                "ruleTriggerType": data.rule_trigger_type,
                "action": data.action,
                "channelId": data.channel_id
                or (str(event.channel_id) if event.channel_id else None),
                "messageId": data.message_id,
                "content": data.content,
                "matchedKeyword": data.matched_keyword,
                "matchedContent": data.matched_content,
            }
        ),
        timestamp=event.timestamp,
        source="event",
        event_id=event.id,
        data=raw,
    )


_BUILDERS = {
    "GUILD_BAN_ADD": _ban,
    "GUILD_BAN_REMOVE": _ban,
    "GUILD_MEMBER_REMOVE": _member_remove,
    "MESSAGE_DELETE": _message_delete,
    "MESSAGE_DELETE_BULK": _message_delete_bulk,
    "GUILD_AUDIT_LOG_ENTRY_CREATE": _audit_log,
    "AUTO_MODERATION_ACTION_EXECUTION": _automod,
}


# --- helpers ---------------------------------------------------------------------------------
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _audit_key(action: str | int) -> str | int:
    """``MemberBanAdd`` (discord.js) and ``MEMBER_BAN_ADD`` (seed) name the same action."""
    if isinstance(action, int):
        return action
    if action.isascii() and action.isdigit():
        return int(action)
    return _CAMEL_BOUNDARY.sub("_", action).upper()


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
