"""Writes of the moderation app: turn moderation events into numbered cases.

Runs inside the processing transaction of a chunk (``stats.processing.drain.apply_events``),
so a chunk's cases, its case numbers and the batches' processed marks commit together: a retried
chunk neither doubles a case nor leaves a gap in the numbering.

One action is often reported twice: by its own event (``GUILD_BAN_ADD``, ``GUILD_MEMBER_REMOVE``
with ``wasKicked``, ``MESSAGE_DELETE`` …) and by its audit-log entry. The two reports are merged
into one case when they have the same guild, action and target and are at most
``MATCH_WINDOW`` apart; the case keeps the first report's data and the other fills what is
missing (typically the moderator and the reason the audit log knows).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from core.payloads import (
    AuditLogData,
    AutoModerationData,
    BanData,
    MemberRemoveData,
    MessageDeleteBulkData,
    MessageDeleteData,
)
from moderation.models import Action, CaseCounter, ModerationCase

if TYPE_CHECKING:
    from core.events import StoredEvent

log = logging.getLogger(__name__)

# Two reports of the same action (event + audit-log entry) at most this far apart are one case.
# Discord writes the audit-log entry within a second or two of the action; bots fetch it within
# a few seconds (seed 001 looks 5 s back); 10 s leaves room without merging distinct actions.
MATCH_WINDOW = timedelta(seconds=10)


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


def apply_moderation_events(events: Sequence[StoredEvent]) -> int:
    """Record the cases that ``events`` (timestamp order) report; returns how many were opened.

    An event that fails (a value the database refuses, a bug) fails the call: processing
    (``stats.processing.drain.apply_isolating``) rolls the chunk back to its savepoint,
    finds the failing event and quarantines it, so it can neither wedge the shard nor leave
    half its writes (a case number taken, a case without its counter).
    """
    numbers = _CaseNumbers()
    opened = 0
    for event in events:
        report = build_report(event)
        if report is not None and record(report, numbers):
            opened += 1
    numbers.save()
    return opened


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
        moderator_id=_int(data.moderator_id),
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
    target = event.user_id if event.user_id is not None else _int(data.user_id)
    return Report(
        guild_id=event.guild_id,
        action=Action.KICK,
        target_user_id=target,
        target_username=data.username,
        moderator_id=_int(data.moderator_id),
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
        target_user_id=_int(data.author_id),
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
        moderator_id=_int(moderator_id),
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
        details["channelId"], target = data.target_id, None
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
        target_user_id=_int(target),
        target_username=data.target_username or "" if target else "",
        moderator_id=_int(data.executor_id),
        moderator_username=data.executor_username or "",
        reason=data.reason or "",
        details=details,
        timestamp=event.timestamp,
        source="audit",
        event_id=event.id,
        data=raw,
        audit_entry_id=_int(data.id),
    )


def _automod(event: StoredEvent, raw: dict[str, Any]) -> Report:
    data = msgspec.convert(raw, AutoModerationData, strict=True)
    target = event.user_id if event.user_id is not None else _int(data.user_id)
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


# --- Reports -> cases ------------------------------------------------------------------------
class _CaseNumbers:
    """Hands out case numbers per guild. The guild's counter row is locked (SELECT … FOR
    UPDATE) the first time the chunk needs a number and kept locked until the chunk commits, so
    concurrent transactions take numbers one after the other, never the same one; a rollback
    returns the numbers with the cases."""

    def __init__(self) -> None:
        self.counters: dict[int, CaseCounter] = {}

    def next(self, guild_id: int) -> int:
        counter = self.counters.get(guild_id)
        if counter is None:
            counter, _ = CaseCounter.objects.select_for_update().get_or_create(guild_id=guild_id)
            self.counters[guild_id] = counter
        counter.last_case_number += 1
        return counter.last_case_number

    def save(self) -> None:
        for counter in self.counters.values():
            counter.save(update_fields=["last_case_number"])


def record(report: Report, numbers: _CaseNumbers) -> bool:
    """Merge ``report`` into the case of the same action it describes, or open a new case.
    Returns True when a case was opened."""
    if (
        report.audit_entry_id is not None
        and ModerationCase.objects.filter(
            guild_id=report.guild_id, audit_entry_id=report.audit_entry_id
        ).exists()
    ):
        return False  # the same audit-log entry sent again under another event id
    if _resent_case(report) is not None:
        return False  # the same report sent again under another client id
    existing = _matching_case(report)
    if existing is not None:
        _merge(existing, report)
        return False
    ModerationCase.objects.create(
        guild_id=report.guild_id,
        case_number=numbers.next(report.guild_id),
        action=report.action,
        target_user_id=report.target_user_id,
        target_username=report.target_username,
        moderator_id=report.moderator_id,
        moderator_username=report.moderator_username,
        reason=report.reason,
        details=report.details,
        timestamp=report.timestamp,
        event_id=report.event_id if report.source == "event" else None,
        audit_event_id=report.event_id if report.source == "audit" else None,
        audit_entry_id=report.audit_entry_id,
        raw={report.source: report.data},
    )
    return True


def _matching_case(report: Report) -> ModerationCase | None:
    """The case reported by the other source for the same action: same guild, action and
    target, at most MATCH_WINDOW apart, not yet reported by this source. Nearest in time wins."""
    bulk = report.action == Action.MESSAGE_DELETE_BULK
    if report.target_user_id is None and not bulk:
        return None
    candidates = ModerationCase.objects.filter(
        guild_id=report.guild_id,
        action=report.action,
        timestamp__gte=report.timestamp - MATCH_WINDOW,
        timestamp__lte=report.timestamp + MATCH_WINDOW,
    )
    if not bulk:
        candidates = candidates.filter(target_user_id=report.target_user_id)
    if report.source == "audit":
        candidates = candidates.filter(audit_event_id__isnull=True, event_id__isnull=False)
    else:
        candidates = candidates.filter(event_id__isnull=True, audit_event_id__isnull=False)
    rows = list(candidates[:20])
    if bulk:  # a purge is identified by its channel (the audit log's target)
        channel = report.details.get("channelId")
        rows = [c for c in rows if c.details.get("channelId") == channel]
    if not rows:
        return None
    return min(rows, key=lambda c: (abs(c.timestamp - report.timestamp), c.case_number))


def _resent_case(report: Report) -> ModerationCase | None:
    """The case this same source already reported with the same ``data``: same guild, action
    and target (a bulk delete: channel), at most MATCH_WINDOW apart, identical payload (so the
    same moderator, reason and details; an audit entry's Discord id too). A bot that resends
    after a reconnect under new client ids does exactly that. Auto-moderation is exempt: the
    same rule firing twice on the same words is two actions."""
    if report.action == Action.AUTOMOD:
        return None
    bulk = report.action == Action.MESSAGE_DELETE_BULK
    candidates = ModerationCase.objects.filter(
        guild_id=report.guild_id,
        action=report.action,
        timestamp__gte=report.timestamp - MATCH_WINDOW,
        timestamp__lte=report.timestamp + MATCH_WINDOW,
        **{"event_id__isnull" if report.source == "event" else "audit_event_id__isnull": False},
    )
    if not bulk:
        candidates = candidates.filter(target_user_id=report.target_user_id)
    channel = report.details.get("channelId")
    for case in candidates[:20]:
        if bulk and case.details.get("channelId") != channel:
            continue
        if case.raw.get(report.source) == report.data:
            return case
    return None


def _merge(case: ModerationCase, report: Report) -> None:
    """Fill what the case lacks from the other report; never overwrite what it has."""
    if case.moderator_id is None and report.moderator_id is not None:
        case.moderator_id = report.moderator_id
        case.moderator_username = report.moderator_username
    if not case.moderator_username and report.moderator_id == case.moderator_id:
        case.moderator_username = report.moderator_username
    case.reason = case.reason or report.reason
    case.target_username = case.target_username or report.target_username
    case.details = {**report.details, **case.details}
    case.raw = {**case.raw, report.source: report.data}
    if report.source == "audit":
        case.audit_event_id = report.event_id
        case.audit_entry_id = report.audit_entry_id
    else:
        case.event_id = report.event_id
    case.save()


# --- helpers ---------------------------------------------------------------------------------
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _audit_key(action: str | int) -> str | int:
    """``MemberBanAdd`` (discord.js) and ``MEMBER_BAN_ADD`` (seed) name the same action."""
    if isinstance(action, int):
        return action
    if action.isascii() and action.isdigit():
        return int(action)
    return _CAMEL_BOUNDARY.sub("_", action).upper()


def _int(value: str | None) -> int | None:
    return int(value) if value is not None else None


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
