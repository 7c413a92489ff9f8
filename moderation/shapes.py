"""The moderation API's answers: what moderation.selectors return and OpenAPI publishes
(core.shapes)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypedDict

from msgspec import Meta

from core.pagination import Pagination
from core.shapes import Id, Instant
from invites.shapes import Membership
from moderation.models import Action

ActionName = Annotated[str, Meta(extra_json_schema={"enum": list(Action.values)})]


class Case(TypedDict):
    caseNumber: int
    guildId: Id
    action: ActionName
    actionLabel: Annotated[str, Meta(description='for people: "Ban", "Message deleted", …')]
    targetUserId: Id | None
    targetUsername: str
    moderatorId: Annotated[Id | None, Meta(description="null: a system action")]
    moderatorUsername: str
    targetName: Annotated[
        str | None,
        Meta(description="the directory's display name, else the username the case recorded"),
    ]
    moderatorName: str | None
    reason: str
    details: dict[str, Any]
    timestamp: Instant
    sources: Annotated[
        list[Literal["event", "audit"]],
        Meta(description="what reported it: its own event, its audit-log entry, or both"),
    ]


class CasePage(TypedDict):
    cases: list[Case]
    pagination: Pagination


class RecentCases(TypedDict):
    cases: list[Case]


class MemberCases(TypedDict):
    cases: list[Case]
    totals: Annotated[dict[str, int], Meta(description="cases by action")]
    casesAsModerator: int


class UserHistory(TypedDict):
    guildId: Id
    userId: Id
    cases: list[Case]
    totals: Annotated[dict[str, int], Meta(description="cases by action")]
    casesAsModerator: int
    membership: Membership | None
