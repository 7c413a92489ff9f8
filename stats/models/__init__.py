"""Member activity: real-time counters, voice sessions, bot snapshots and the rollups.

Counters are exactly-once because a batch's deltas and the mark that it was processed commit in
one transaction (see ``pipeline.drain``); open voice sessions live in the same database
for the same reason.
"""

from stats.models.counters import (
    ActivitySource,
    ChannelDailyStats,
    GuildDailyStats,
    MemberDailyStats,
    MemberStats,
    SnapshotActivity,
    VoiceSession,
    VoiceSessionLog,
)
from stats.models.rollups import (
    BucketParts,
    FillState,
    MetricsSnapshot,
    PeriodSummary,
    StaleBucket,
)

__all__ = [
    "ActivitySource",
    "BucketParts",
    "ChannelDailyStats",
    "FillState",
    "GuildDailyStats",
    "MemberDailyStats",
    "MemberStats",
    "MetricsSnapshot",
    "PeriodSummary",
    "SnapshotActivity",
    "StaleBucket",
    "VoiceSession",
    "VoiceSessionLog",
]
