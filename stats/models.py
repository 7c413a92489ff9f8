"""State of the statistics pipeline: raw events, the batch ledger, and real-time member counters.

Counters are exactly-once because a batch's deltas and the mark that it was processed commit in
one transaction (see ``stats.processing.drain``); open voice sessions live in the same database
for the same reason.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from timescale.db.models.fields import TimescaleDateTimeField


class IngestBatch(models.Model):
    """Ledger row: the events of one received frame that belong to one processing shard.

    A frame touching guilds in three shards makes three rows sharing ``frame_id``. A row is
    processed exactly once: its deltas and ``processed_at`` commit together.
    """

    frame_id = models.UUIDField(db_index=True, help_text="The ack's batch id.")
    shard = models.SmallIntegerField()
    bot_token = models.ForeignKey(
        "guilds.BotToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    transport = models.CharField(max_length=10, default="ws")
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "ingest_batches"
        indexes = [
            models.Index(
                fields=["shard", "id"],
                condition=Q(processed_at__isnull=True),
                name="ingest_batch_pending",
            )
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} (shard {self.shard})"


class Event(models.Model):
    """A raw bot event, as received (seed 000 §3 columns plus the batch and a dedupe key).

    ``dedupe_key`` is a hash of the client event id or, without one, of the canonical event; the
    unique (dedupe_key, timestamp) pair catches replays and stays legal on a TimescaleDB hypertable,
    whose unique indexes must include the time column.
    """

    id = models.BigAutoField(primary_key=True)
    batch_id = models.BigIntegerField(db_index=True)
    type = models.CharField(max_length=64)
    guild_id = models.BigIntegerField()
    # a hypertable's time column under django-timescaledb's engine; a plain column elsewhere
    timestamp = TimescaleDateTimeField(interval="1 day")
    user_id = models.BigIntegerField(null=True, blank=True)
    channel_id = models.BigIntegerField(null=True, blank=True)
    message_id = models.BigIntegerField(null=True, blank=True)
    role_id = models.BigIntegerField(null=True, blank=True)
    shard_id = models.IntegerField(null=True, blank=True)
    data = models.JSONField(null=True, blank=True)
    client_event_id = models.CharField(max_length=64, null=True, blank=True)
    dedupe_key = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "events"
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key", "timestamp"], name="events_dedupe")
        ]
        # No index on type (seed 000 had one): reads filter by guild and/or time first. The time
        # index serves the 5-minute rollup's "every event of this bucket"; timestamps arrive
        # nearly in order, so it grows at its right edge and costs ingest little.
        indexes = [
            models.Index(fields=["guild_id", "-timestamp"], name="events_guild_time"),
            models.Index(fields=["timestamp"], name="events_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} in {self.guild_id} at {self.timestamp:%Y-%m-%d %H:%M:%S}"


class MemberStats(models.Model):
    """All-time counters of one member in one guild, kept current by the processors.

    Voice time is kept in seconds so that no session is floored; minutes are derived for display.
    """

    guild_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    is_bot = models.BooleanField(default=False)
    total_messages = models.BigIntegerField(default=0)
    total_voice_seconds = models.BigIntegerField(default=0)
    total_reactions_given = models.BigIntegerField(default=0)
    total_reactions_received = models.BigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_voice_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "member_stats"
        verbose_name_plural = "member stats"
        # Two sort indexes serve the member list's default order and "last seen" (and the
        # messages leaderboard for all time) without sorting a 100k-member guild per request.
        # Every further counter index costs real-time counting about 4 %: an index on a
        # counter is rewritten by each update, which also stops PostgreSQL updating in place.
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "user_id"], name="member_stats_unique")
        ]
        indexes = [
            models.Index(fields=["guild_id"], condition=Q(is_bot=True), name="member_stats_bots"),
            models.Index(
                "guild_id", F("total_messages").desc(), "user_id", name="member_stats_messages"
            ),
            # and (guild_id, last_seen DESC NULLS LAST, user_id), on PostgreSQL: migration 0003
        ]

    def __str__(self) -> str:
        return f"member {self.user_id} in {self.guild_id}"

    @property
    def total_voice_minutes(self) -> float:
        return self.total_voice_seconds / 60


class MemberDailyStats(models.Model):
    """One member's counters for one day of the guild's time zone.

    Kept in real time so that today/week/month leaderboards are sums over exact days rather than
    guesses from all-time totals.
    """

    guild_id = models.BigIntegerField()
    day = models.DateField()
    user_id = models.BigIntegerField()
    messages = models.BigIntegerField(default=0)
    voice_seconds = models.BigIntegerField(default=0)
    reactions_given = models.BigIntegerField(default=0)
    reactions_received = models.BigIntegerField(default=0)

    class Meta:
        db_table = "member_daily_stats"
        verbose_name_plural = "member daily stats"
        constraints = [
            models.UniqueConstraint(
                fields=["guild_id", "day", "user_id"], name="member_daily_stats_unique"
            )
        ]

    def __str__(self) -> str:
        return f"member {self.user_id} in {self.guild_id} on {self.day}"


class GuildDailyStats(models.Model):
    """A guild's totals for one of its days: period totals read a handful of these rows instead
    of summing every member's day."""

    guild_id = models.BigIntegerField()
    day = models.DateField()
    messages = models.BigIntegerField(default=0)
    voice_seconds = models.BigIntegerField(default=0)
    reactions = models.BigIntegerField(default=0)

    class Meta:
        db_table = "guild_daily_stats"
        verbose_name_plural = "guild daily stats"
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "day"], name="guild_daily_stats_unique")
        ]

    def __str__(self) -> str:
        return f"guild {self.guild_id} on {self.day}"


class ChannelDailyStats(models.Model):
    """Messages and voice time in one channel on one day of the guild's time zone.

    Per channel and day rather than per member and channel: it answers "top channels" for any
    period, and a chunk of events touches a handful of these rows instead of one per member.
    """

    guild_id = models.BigIntegerField()
    day = models.DateField()
    channel_id = models.BigIntegerField()
    messages = models.BigIntegerField(default=0)
    voice_seconds = models.BigIntegerField(default=0)

    class Meta:
        db_table = "channel_daily_stats"
        verbose_name_plural = "channel daily stats"
        constraints = [
            models.UniqueConstraint(
                fields=["guild_id", "day", "channel_id"], name="channel_daily_stats_unique"
            )
        ]

    def __str__(self) -> str:
        return f"channel {self.channel_id} on {self.day}"


class VoiceSession(models.Model):
    """An open voice session. It is deleted when counted, in the same transaction as its counts."""

    guild_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    channel_id = models.BigIntegerField()
    joined_at = models.DateTimeField()

    class Meta:
        db_table = "voice_sessions"
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "user_id"], name="voice_session_unique")
        ]
        indexes = [models.Index(fields=["joined_at"], name="voice_session_joined")]

    def __str__(self) -> str:
        return f"member {self.user_id} in voice {self.channel_id} since {self.joined_at}"


class WorkerHeartbeat(models.Model):
    """Last time a Celery worker ran the heartbeat task; /health reads it."""

    name = models.CharField(max_length=100, primary_key=True)
    seen_at = models.DateTimeField()

    class Meta:
        db_table = "worker_heartbeats"

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at}"


class VoiceSessionLog(models.Model):
    """A counted voice session once closed, written with its counts: the rollups split these
    across their buckets (open sessions are read from ``voice_sessions``)."""

    guild_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    channel_id = models.BigIntegerField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()

    class Meta:
        db_table = "voice_session_log"
        indexes = [models.Index(fields=["ended_at"], name="voice_log_ended")]

    def __str__(self) -> str:
        return f"member {self.user_id} in voice {self.channel_id}"


class MetricsSnapshot(models.Model):
    """A guild's activity in one bucket (seed 000 §3.1's metrics_snapshots)."""

    FIVE_MINUTES = "5min"
    HOURLY = "hourly"
    DAILY = "daily"
    PERIOD_TYPES = [(FIVE_MINUTES, "5 minutes"), (HOURLY, "hourly"), (DAILY, "daily")]

    guild_id = models.BigIntegerField()
    period_type = models.CharField(max_length=10, choices=PERIOD_TYPES)
    period_start = TimescaleDateTimeField(interval="7 days")
    period_end = models.DateTimeField()
    total_messages = models.IntegerField(default=0)
    total_voice_seconds = models.IntegerField(default=0)
    total_reactions = models.IntegerField(default=0)
    unique_active_users = models.IntegerField(default=0)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "metrics_snapshots"
        constraints = [
            models.UniqueConstraint(
                fields=["guild_id", "period_type", "period_start"], name="metrics_snapshot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.period_type} of {self.guild_id} at {self.period_start}"


class FillState(models.Model):
    """How far one granularity's snapshots are filled (Zulip's analytics FillState).

    ``end_time`` is the end of the last bucket worked on; STARTED means that bucket's work may be
    partial (a crash), so the next run deletes and redoes it; DONE means it is complete.
    """

    STARTED = "started"
    DONE = "done"

    granularity = models.CharField(max_length=10, primary_key=True)
    end_time = models.DateTimeField()
    state = models.CharField(max_length=10, choices=[(STARTED, STARTED), (DONE, DONE)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "fill_state"

    def __str__(self) -> str:
        return f"{self.granularity}: {self.state} at {self.end_time}"


class StaleBucket(models.Model):
    """A guild's bucket that changed after it was filled: an event arrived late for it (a bot
    replaying its spool). The next fill run recomputes it for that guild, then deletes this row.

    ``period_start`` is the 5-minute bucket's start; the hourly and daily buckets containing it
    are recomputed with it.
    """

    guild_id = models.BigIntegerField()
    period_start = models.DateTimeField()
    marked_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "stale_buckets"
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "period_start"], name="stale_bucket_unique")
        ]

    def __str__(self) -> str:
        return f"{self.guild_id} at {self.period_start}"


class ActivitySource(models.Model):
    """Since when a bot-aggregated guild's activity is counted from bot snapshots, so that no
    instant is counted from both raw events and a snapshot.

    The rule (see ``stats.processing.snapshots``): a bot snapshot counts only if its period starts
    after the latest raw activity event (message, reaction, voice) already processed for the
    guild; a raw activity event counts only if it is older than ``snapshots_since``, the earliest
    ``periodStart`` of a counted snapshot. Every counted raw event is thus older than every
    counted snapshot's period. Rows exist only for guilds that sent a counted snapshot.
    """

    guild_id = models.BigIntegerField(primary_key=True)
    snapshots_since = models.DateTimeField()
    snapshot_type = models.CharField(
        max_length=32, help_text="The snapshot kind counted for this guild (its first counted)."
    )

    class Meta:
        db_table = "activity_sources"

    def __str__(self) -> str:
        return f"{self.guild_id}: snapshots since {self.snapshots_since}"


class SnapshotActivity(models.Model):
    """What a counted bot snapshot contributed, normalised for the rollups: one row per member
    (``user_id``), per channel (``channel_id``), per emoji (``emoji``) and one guild-total row
    (none of the three). Written with the counters, in the same transaction."""

    guild_id = models.BigIntegerField()
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    user_id = models.BigIntegerField(null=True, blank=True)
    channel_id = models.BigIntegerField(null=True, blank=True)
    emoji = models.CharField(max_length=100, blank=True, default="")
    messages = models.BigIntegerField(default=0)
    voice_seconds = models.BigIntegerField(default=0)
    reactions = models.BigIntegerField(default=0)

    class Meta:
        db_table = "snapshot_activity"
        indexes = [models.Index(fields=["period_start"], name="snapshot_activity_start")]

    def __str__(self) -> str:
        return f"{self.guild_id} from {self.period_start}"


class PeriodSummary(models.Model):
    """A big guild's per-member figures of one period, precomputed for the stats API.

    Ranking 100k members over a month means summing every member's 30 days per request (a
    second or more); a Beat task recomputes, every 30 s, the few rows the API answers from
    (top members by each leaderboard category, active-member counts) and the API uses a row
    only while it is under 60 s old and for the same days, so answers are exact as of at most
    a minute ago. Small guilds have no row: their live queries are fast.
    """

    guild_id = models.BigIntegerField()
    period = models.CharField(max_length=10)
    first_day = models.DateField(null=True, blank=True)  # None: all time
    last_day = models.DateField()
    computed_at = models.DateTimeField()
    data = models.JSONField(default=dict)

    class Meta:
        db_table = "period_summaries"
        verbose_name_plural = "period summaries"
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "period"], name="period_summary_unique")
        ]

    def __str__(self) -> str:
        return f"{self.period} of {self.guild_id} at {self.computed_at}"


class BucketMember(models.Model):
    """A member's counted activity in one 5-minute bucket: what hourly and daily snapshots are
    summed from on PostgreSQL, so a day of raw events is read once, not once per granularity
    (5-minute sums telescope exactly: voice seconds are differences of rounded instants)."""

    id = models.BigAutoField(primary_key=True)
    guild_id = models.BigIntegerField()
    bucket_start = models.DateTimeField()
    user_id = models.BigIntegerField()
    messages = models.BigIntegerField()
    reactions = models.BigIntegerField()
    voice_seconds = models.BigIntegerField()

    class Meta:
        db_table = "rollup_members"
        indexes = [
            models.Index(fields=["bucket_start"], name="rollup_members_time"),
            models.Index(fields=["guild_id", "bucket_start"], name="rollup_members_guild"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.guild_id} at {self.bucket_start}"


class BucketChannel(models.Model):
    """A channel's counted activity in one 5-minute bucket (see ``BucketMember``)."""

    id = models.BigAutoField(primary_key=True)
    guild_id = models.BigIntegerField()
    bucket_start = models.DateTimeField()
    channel_id = models.BigIntegerField()
    messages = models.BigIntegerField()
    voice_seconds = models.BigIntegerField()

    class Meta:
        db_table = "rollup_channels"
        indexes = [
            models.Index(fields=["bucket_start"], name="rollup_channels_time"),
            models.Index(fields=["guild_id", "bucket_start"], name="rollup_channels_guild"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} in {self.guild_id} at {self.bucket_start}"


class BucketCount(models.Model):
    """Events by type (``kind`` "type") and counted reactions by emoji (``kind`` "emoji") in
    one 5-minute bucket (see ``BucketMember``)."""

    id = models.BigAutoField(primary_key=True)
    guild_id = models.BigIntegerField()
    bucket_start = models.DateTimeField()
    kind = models.CharField(max_length=5)
    key = models.CharField(max_length=100)
    n = models.BigIntegerField()

    class Meta:
        db_table = "rollup_counts"
        indexes = [
            models.Index(fields=["bucket_start"], name="rollup_counts_time"),
            models.Index(fields=["guild_id", "bucket_start"], name="rollup_counts_guild"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} in {self.guild_id} at {self.bucket_start}"


class QuarantinedEvent(models.Model):
    """An accepted event that processing could not apply (defence in depth: ingest bounds every
    value it stores, so this should stay empty). Its shard went on without it; the copy here
    (raw events expire) is re-applied by ``manage.py replay_quarantine`` or the admin action,
    once the cause is fixed. See ``stats.processing.quarantine``."""

    event_id = models.BigIntegerField(unique=True, help_text="The raw event's id.")
    batch_id = models.BigIntegerField()
    shard = models.SmallIntegerField()
    type = models.CharField(max_length=64)
    guild_id = models.BigIntegerField()
    user_id = models.BigIntegerField(null=True, blank=True)
    channel_id = models.BigIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField()
    data = models.JSONField(null=True, blank=True)
    bot = models.BooleanField(default=False)
    error = models.TextField()
    attempts = models.IntegerField(default=1)
    quarantined_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField()

    class Meta:
        db_table = "quarantined_events"
        ordering = ["-quarantined_at", "-id"]
        indexes = [models.Index(fields=["guild_id", "timestamp"], name="quarantine_guild_time")]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id} in {self.guild_id}: {self.error[:60]}"
