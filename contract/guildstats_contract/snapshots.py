"""Payloads of seed 001's bot-aggregated events (``MetricsSnapshotData``,
``MemberActivitySnapshotData``): validated at ingest, read back by ``stats.services.snapshots``.

Only the fields we count are declared; the rest of the seed's shape (names, avatars, top lists)
is accepted and kept in the raw event. Every value we store is bounded, so that nothing ingest
accepts can fail when it is counted: counts 0 … 10⁶ and minutes 0 … 10⁶ per entry (the
counters they add to are 64-bit), member and channel keys are snowflakes, emoji keys at most 100
characters; a period must not end before it starts, and ingest checks that it lies in the
window of accepted timestamps (``guildstats_contract.events.parse_event``).
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct, field

from guildstats_contract.ids import is_snowflake

Count = Annotated[int, Meta(ge=0, le=1_000_000)]
Minutes = Annotated[float, Meta(ge=0, le=1_000_000)]
Millis = Annotated[int, Meta(ge=0, le=253_402_300_799_999)]
EmojiKey = Annotated[str, Meta(min_length=1, max_length=100)]


def _check_keys(name: str, mapping: dict[str, object]) -> None:
    for key in mapping:
        if not is_snowflake(key):
            raise ValueError(f"{name} keys must be snowflakes, not {key[:40]!r}")


class SnapshotPeriod(Struct, rename="camel"):
    period_start: Millis
    period_end: Millis

    def __post_init__(self) -> None:
        if self.period_end < self.period_start:
            raise ValueError("periodEnd is before periodStart")


class _Keyed(Struct, rename="camel"):
    def __post_init__(self) -> None:
        for name in ("by_channel", "by_member"):
            mapping = getattr(self, name, None)
            if mapping:
                _check_keys(name, mapping)


class MessageMetrics(_Keyed, rename="camel"):
    total: Count = 0
    by_channel: dict[str, Count] = {}
    by_member: dict[str, Count] = {}


class VoiceMetrics(_Keyed, rename="camel"):
    total_minutes: Minutes = 0
    by_channel: dict[str, Minutes] = {}
    by_member: dict[str, Minutes] = {}


class ReactionMetrics(_Keyed, rename="camel"):
    total: Count = 0
    by_emoji: dict[EmojiKey, Count] = {}
    by_member: dict[str, Count] = {}


class Metrics(Struct, rename="camel"):
    messages: MessageMetrics = field(default_factory=MessageMetrics)
    voice: VoiceMetrics = field(default_factory=VoiceMetrics)
    reactions: ReactionMetrics = field(default_factory=ReactionMetrics)


class MetricsSnapshotData(SnapshotPeriod, rename="camel"):
    metrics: Metrics = field(default_factory=Metrics)


class MemberMessages(_Keyed, rename="camel"):
    total: Count = 0
    by_channel: dict[str, Count] = {}


class MemberVoice(_Keyed, rename="camel"):
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

    def __post_init__(self) -> None:
        if not is_snowflake(self.user_id):
            raise ValueError("members[].userId is not a valid snowflake")


class MemberActivitySnapshotData(SnapshotPeriod, rename="camel"):
    members: list[MemberActivity] = []


SNAPSHOT_SCHEMAS: dict[str, type[MetricsSnapshotData | MemberActivitySnapshotData]] = {
    "METRICS_SNAPSHOT": MetricsSnapshotData,
    "MEMBER_ACTIVITY_SNAPSHOT": MemberActivitySnapshotData,
}
