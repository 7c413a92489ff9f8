"""State of the statistics pipeline: raw events, the batch ledger, and real-time member counters.

Counters are exactly-once because a batch's deltas and the mark that it was processed commit in
one transaction (see ``stats.processing.drain``); open voice sessions live in the same database
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
from stats.models.ledger import Event, IngestBatch, QuarantinedEvent, WorkerHeartbeat
from stats.models.privacy import MemberOptOut, PrivacyAudit
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
    "Event",
    "FillState",
    "GuildDailyStats",
    "IngestBatch",
    "MemberDailyStats",
    "MemberOptOut",
    "MemberStats",
    "MetricsSnapshot",
    "PeriodSummary",
    "PrivacyAudit",
    "QuarantinedEvent",
    "SnapshotActivity",
    "StaleBucket",
    "VoiceSession",
    "VoiceSessionLog",
    "WorkerHeartbeat",
]
