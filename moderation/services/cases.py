"""Reports -> numbered cases: the writes of the moderation app.

Runs inside the processing transaction of a chunk (``pipeline.drain.apply_events``),
so a chunk's cases, its case numbers and the batches' processed marks commit together: a retried
chunk neither doubles a case nor leaves a gap in the numbering.

One action is often reported twice: by its own event (``GUILD_BAN_ADD``, ``GUILD_MEMBER_REMOVE``
with ``wasKicked``, ``MESSAGE_DELETE`` …) and by its audit-log entry. The two reports are merged
into one case when they have the same guild, action and target and are at most
``MATCH_WINDOW`` apart; the case keeps the first report's data and the other fills what is
missing (typically the moderator and the reason the audit log knows).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from moderation.models import Action, CaseCounter, ModerationCase
from moderation.services.reports import Report, build_report

if TYPE_CHECKING:
    from core.events import StoredEvent

# Two reports of the same action (event + audit-log entry) at most this far apart are one case.
# Discord writes the audit-log entry within a second or two of the action; bots fetch it within
# a few seconds (seed 001 looks 5 s back); 10 s leaves room without merging distinct actions.
MATCH_WINDOW = timedelta(seconds=10)


def apply_moderation_events(events: Sequence[StoredEvent]) -> int:
    """Record the cases that ``events`` (timestamp order) report; returns how many were opened.

    An event that fails (a value the database refuses, a bug) fails the call: processing
    (``pipeline.drain.apply_isolating``) rolls the chunk back to its savepoint,
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
    if report.audit_entry_id is not None:
        seen = ModerationCase.objects.filter(
            guild_id=report.guild_id, audit_entry_id=report.audit_entry_id
        ).first()
        if seen is not None:  # the same audit-log entry again: resent, or grown
            amend(seen, report)
            return False
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


def amend(case: ModerationCase, report: Report) -> None:
    """An audit entry seen again: Discord grows a grouped message-delete entry's ``count`` (the
    same moderator deleting more of one author's messages in one channel) and sends no new
    entry, so a higher count raises the case's; anything else seen again changes nothing."""
    count, known = report.details.get("count"), case.details.get("count")
    if not isinstance(count, int) or (isinstance(known, int) and count <= known):
        return
    case.details = {**case.details, "count": count}
    case.raw = {**case.raw, "audit": report.data}
    case.save(update_fields=["details", "raw"])


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
