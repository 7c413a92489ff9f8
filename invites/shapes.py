"""The invites API's answers: what invites.selectors return and OpenAPI publishes (core.shapes)."""

from __future__ import annotations

from typing import Annotated, TypedDict

from msgspec import Meta

from core.shapes import Day, Id, Instant


class Inviter(TypedDict):
    inviterId: Id
    inviterUsername: str
    inviterName: Annotated[
        str | None, Meta(description="the directory's display name, else inviterUsername")
    ]
    regular: int
    leaves: int
    fakes: int
    bonus: int
    total: Annotated[int, Meta(description="regular + bonus - leaves - fakes")]


class ActiveInvite(TypedDict):
    code: str
    inviterId: Id | None
    inviterUsername: str
    inviterName: str | None
    channelId: Id | None
    uses: int
    maxUses: Annotated[int, Meta(description="0: unlimited")]
    createdAt: Instant | None
    expiresAt: Instant | None


class InviteStats(TypedDict):
    guildId: Id
    topInviters: list[Inviter]
    activeInvites: Annotated[list[ActiveInvite], Meta(description="at most 100, most used first")]
    vanityJoins: Annotated[int, Meta(description="joins through the vanity URL")]
    ambiguousJoins: Annotated[
        int,
        Meta(description="joins the collector could not tell apart between several invites"),
    ]
    unknownJoins: Annotated[int, Meta(description="joins whose invite is unknown")]
    unattributedJoins: Annotated[int, Meta(description="ambiguousJoins + unknownJoins")]
    fakeAccountDays: int


class GrowthDay(TypedDict):
    day: Day
    joins: int
    leaves: int
    net: int


class RetentionShare(TypedDict):
    eligible: Annotated[int, Meta(description="members whose first join is old enough")]
    retained: int
    share: float | None


class Retention(TypedDict):
    day1: RetentionShare
    day7: RetentionShare
    day30: RetentionShare


class GrowthTotals(TypedDict):
    joins: int
    leaves: int
    net: int


class Growth(TypedDict):
    guildId: Id
    days: list[GrowthDay]
    totals: Annotated[GrowthTotals, Meta(description="all time")]
    retention: Retention


class Membership(TypedDict):
    firstJoinedAt: Instant | None
    lastJoinedAt: Instant | None
    leftAt: Instant | None
    joinCount: int
    rejoinCount: int
    leaveCount: int
    isPresent: bool
    invitedBy: Annotated[Id | None, Meta(description="inviter of the last join")]
    inviteCode: str | None
