"""The stats API's answers: what the selectors return and what OpenAPI publishes (core.shapes)."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired, TypedDict

from msgspec import Meta

from core.pagination import Pagination
from core.shapes import Id, Instant
from guilds.shapes import PeriodCoverage

# the query parameters' choices, as the selectors take them and the answers echo them
Period = Literal["today", "week", "month", "all"]
HeatmapPeriod = Literal["week", "month", "all"]
Granularity = Literal["hour", "day", "week"]
Category = Literal["messages", "voice", "reactions", "overall"]
Badge = Literal["gold", "silver", "bronze"]
Change = Annotated[float | None, Meta(description="% against the previous period")]


class Named(TypedDict):
    """A member's names from the guild's directory (null while it has none for them)."""

    displayName: Annotated[
        str | None, Meta(description="the guild nickname, else the global name, else the username")
    ]
    username: str | None
    avatarUrl: Annotated[
        str | None, Meta(description="Discord CDN URL: the guild avatar, else the user's")
    ]


class TopMember(Named):
    userId: Id
    totalMessages: int
    totalVoiceMinutes: int


class Dashboard(TypedDict):
    guildId: Id
    period: Period
    totalMessages: int
    totalVoiceMinutes: int
    totalReactions: int
    uniqueActiveUsers: int
    messagesChange: Change
    voiceMinutesChange: Change
    reactionsChange: Change
    activeUsersChange: Change
    topMembers: list[TopMember]
    periodStart: Instant | None
    periodEnd: Instant
    coverage: Annotated[
        PeriodCoverage, Meta(description="how much of the period the collectors covered")
    ]


class Member(Named):
    userId: Id
    guildId: Id
    totalMessages: int
    totalVoiceMinutes: int
    totalVoiceSeconds: int
    totalReactionsGiven: int
    totalReactionsReceived: int
    lastMessageAt: Instant | None
    lastVoiceAt: Instant | None
    lastSeen: Instant | None
    joinedAt: Instant | None


class MemberPage(TypedDict):
    members: list[Member]
    pagination: Pagination


class LeaderboardEntry(Named):
    rank: int
    userId: Id
    score: int
    totalMessages: int
    totalVoiceMinutes: int
    totalReactions: int
    badge: NotRequired[Badge]


class Leaderboard(TypedDict):
    guildId: Id
    category: Category
    period: Period
    entries: list[LeaderboardEntry]
    updatedAt: Instant


class PeriodTotals(TypedDict):
    totalMessages: int
    totalVoiceMinutes: int
    totalReactions: int
    uniqueActiveUsers: int


class TopChannel(TypedDict):
    channelId: Id
    name: Annotated[str | None, Meta(description="null while the directory has none")]
    type: Annotated[str | None, Meta(description="text, voice, category, forum, …")]
    deleted: bool
    category: Annotated[str | None, Meta(description="the name of its category, if any")]
    messages: int
    voiceMinutes: int


class OverviewMember(Named):
    userId: Id
    messages: int
    voiceMinutes: int
    reactions: int


class Overview(TypedDict):
    guildId: Id
    today: PeriodTotals
    week: PeriodTotals
    month: PeriodTotals
    topChannels: list[TopChannel]
    topMembers: list[OverviewMember]
    periodStart: Instant
    periodEnd: Instant


class ActivityPoint(TypedDict):
    timestamp: Annotated[Instant, Meta(description="start of the point (a local hour/day/week)")]
    totalMessages: int
    totalVoiceMinutes: int
    totalReactions: int
    uniqueActiveUsers: Annotated[
        int | None, Meta(description="null for an hour still made of 5-minute buckets")
    ]
    covered: Annotated[
        bool | None,
        Meta(
            description="false: no collector was collecting during the point (missing, not "
            "zero); null: unknown (no collection window, or before the guild's first)"
        ),
    ]


class Activity(TypedDict):
    guildId: Id
    period: Period
    granularity: Granularity
    timezone: str
    periodStart: Instant
    periodEnd: Instant
    dataPoints: list[ActivityPoint]


class HeatmapCell(TypedDict):
    dayOfWeek: Annotated[int, Meta(ge=1, le=7, description="ISO: 1 = Monday")]
    hour: Annotated[int, Meta(ge=0, le=23, description="local hour")]
    totalMessages: int
    totalVoiceMinutes: int
    totalReactions: int


class Heatmap(TypedDict):
    guildId: Id
    period: HeatmapPeriod
    timezone: str
    periodStart: Instant
    periodEnd: Instant
    cells: Annotated[list[HeatmapCell], Meta(description="168 cells: Monday 0h … Sunday 23h")]
