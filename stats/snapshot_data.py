"""Payloads of seed 001's bot-aggregated events (``MetricsSnapshotData``,
``MemberActivitySnapshotData``): validated at ingest, read back by ``stats.services.snapshots``.

Only the fields we count are declared; the rest of the seed's shape (names, avatars, top lists)
is accepted and kept in the raw event. Counts must be non-negative and a period must not end
before it starts.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct, field

Count = Annotated[int, Meta(ge=0)]
Minutes = Annotated[float, Meta(ge=0)]
Millis = Annotated[int, Meta(ge=0)]


class _Period(Struct, rename="camel"):
    period_start: Millis
    period_end: Millis

    def __post_init__(self) -> None:
        if self.period_end < self.period_start:
            raise ValueError("periodEnd is before periodStart")


class MessageMetrics(Struct, rename="camel"):
    total: Count = 0
    by_channel: dict[str, Count] = {}
    by_member: dict[str, Count] = {}


class VoiceMetrics(Struct, rename="camel"):
    total_minutes: Minutes = 0
    by_channel: dict[str, Minutes] = {}
    by_member: dict[str, Minutes] = {}


class ReactionMetrics(Struct, rename="camel"):
    total: Count = 0
    by_emoji: dict[str, Count] = {}
    by_member: dict[str, Count] = {}


class Metrics(Struct, rename="camel"):
    messages: MessageMetrics = field(default_factory=MessageMetrics)
    voice: VoiceMetrics = field(default_factory=VoiceMetrics)
    reactions: ReactionMetrics = field(default_factory=ReactionMetrics)


class MetricsSnapshotData(_Period, rename="camel"):
    metrics: Metrics = field(default_factory=Metrics)


class MemberMessages(Struct, rename="camel"):
    total: Count = 0
    by_channel: dict[str, Count] = {}


class MemberVoice(Struct, rename="camel"):
    total_minutes: Minutes = 0
    by_channel: dict[str, Minutes] = {}


class MemberReactions(Struct, rename="camel"):
    added: Count = 0
    received: Count = 0


class MemberActivity(Struct, rename="camel"):
    user_id: str
    messages: MemberMessages = field(default_factory=MemberMessages)
    voice: MemberVoice = field(default_factory=MemberVoice)
    reactions: MemberReactions = field(default_factory=MemberReactions)
    last_seen: Millis | None = None


class MemberActivitySnapshotData(_Period, rename="camel"):
    members: list[MemberActivity] = []


SNAPSHOT_SCHEMAS: dict[str, type[Struct]] = {
    "METRICS_SNAPSHOT": MetricsSnapshotData,
    "MEMBER_ACTIVITY_SNAPSHOT": MemberActivitySnapshotData,
}
