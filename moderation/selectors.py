"""Reads of the moderation app, for the API and the admin."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db.models import QuerySet

from core.pagination import page_of
from core.times import instant
from directory.selectors import member_names
from moderation.models import Action, ModerationCase
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
    return {"cases": with_names(cases), "pagination": pagination}


def recent_cases(guild_id: int, limit: int = RECENT_LIMIT) -> list[Case]:
    return with_names([case_row(c) for c in case_query(guild_id)[:limit]])


def user_cases(guild_id: int, user_id: int) -> MemberCases:
    """A member's history: the cases where they were the target, oldest first, and how many
    of each action; plus the cases they opened as a moderator (a count)."""
    rows = list(
        ModerationCase.objects.filter(guild_id=guild_id, target_user_id=user_id).order_by(
            "case_number"
        )
    )
    return {
        "cases": with_names([case_row(c) for c in rows]),
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
        "actionLabel": Action(case.action).label.capitalize()
        if case.action in Action.values
        else case.action,
        "targetUserId": _str(case.target_user_id),
        "targetUsername": case.target_username,
        "moderatorId": _str(case.moderator_id),
        "moderatorUsername": case.moderator_username,
        "targetName": case.target_username or None,  # the directory's, by with_names
        "moderatorName": case.moderator_username or None,
        "reason": case.reason,
        "details": case.details,
        "timestamp": instant(case.timestamp),
        "sources": [s for s in ("event", "audit") if s in case.raw],
    }


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)


def with_names(cases: list[Case]) -> list[Case]:
    """The directory's display names of the cases' members and moderators (one query)."""
    if not cases:
        return cases
    guild_id = int(cases[0]["guildId"])
    ids = {int(i) for c in cases for i in (c["targetUserId"], c["moderatorId"]) if i}
    names = member_names(guild_id, ids)
    for case in cases:
        for id_key, name_key in (("targetUserId", "targetName"), ("moderatorId", "moderatorName")):
            known = names.get(int(case[id_key] or 0))  # type: ignore[literal-required]
            if known and known["displayName"]:
                case[name_key] = known["displayName"]  # type: ignore[literal-required]
    return cases
