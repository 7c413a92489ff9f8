"""Reads of the moderation app, for the API and the admin."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db.models import QuerySet

from core.pagination import page_of
from core.times import instant
from moderation.models import ModerationCase
from moderation.shapes import Case, CasePage, MemberCases

RECENT_LIMIT = 50


def case_query(
    guild_id: int,
    *,
    action: str | None = None,
    target_user_id: int | None = None,
    moderator_id: int | None = None,
    system_only: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[ModerationCase]:
    """A guild's cases matching the filters, newest first (case numbers grow with time of
    processing, so they are the stable order; ``timestamp`` ties do not reorder pages)."""
    rows = ModerationCase.objects.filter(guild_id=guild_id)
    if action:
        rows = rows.filter(action=action)
    if target_user_id is not None:
        rows = rows.filter(target_user_id=target_user_id)
    if system_only:
        rows = rows.filter(moderator_id__isnull=True)
    elif moderator_id is not None:
        rows = rows.filter(moderator_id=moderator_id)
    if since is not None:
        rows = rows.filter(timestamp__gte=since)
    if until is not None:
        rows = rows.filter(timestamp__lt=until)
    return rows.order_by("-case_number")


def case_page(rows: QuerySet[ModerationCase], *, page: int, page_size: int) -> CasePage:
    cases, pagination = page_of(rows, page=page, page_size=page_size, row=case_row)
    return {"cases": cases, "pagination": pagination}


def recent_cases(guild_id: int, limit: int = RECENT_LIMIT) -> list[Case]:
    return [case_row(c) for c in case_query(guild_id)[:limit]]


def user_cases(guild_id: int, user_id: int) -> MemberCases:
    """A member's history: the cases where they were the target, oldest first, and how many
    of each action; plus the cases they opened as a moderator (a count)."""
    rows = list(
        ModerationCase.objects.filter(guild_id=guild_id, target_user_id=user_id).order_by(
            "case_number"
        )
    )
    return {
        "cases": [case_row(c) for c in rows],
        "totals": dict(sorted(Counter(c.action for c in rows).items())),
        "casesAsModerator": ModerationCase.objects.filter(
            guild_id=guild_id, moderator_id=user_id
        ).count(),
    }


def case_row(case: ModerationCase) -> Case:
    return {
        "caseNumber": case.case_number,
        "guildId": str(case.guild_id),
        "action": case.action,
        "targetUserId": _str(case.target_user_id),
        "targetUsername": case.target_username,
        "moderatorId": _str(case.moderator_id),
        "moderatorUsername": case.moderator_username,
        "reason": case.reason,
        "details": case.details,
        "timestamp": instant(case.timestamp),
        "sources": [s for s in ("event", "audit") if s in case.raw],
    }


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)
