"""Snapshots (5-minute, hourly, daily), their fill state and stale marks, the 5-minute parts
hours and days are summed from, and the API's period summaries."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from timescale.db.models.fields import TimescaleDateTimeField


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
        # what a fill run replaces and retention expires: a granularity's buckets in a time range,
        # all guilds (without it, each run scanned the whole table)
        indexes = [
            models.Index(fields=["period_type", "period_start"], name="metrics_snapshots_time")
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


class BucketParts(models.Model):
    """One guild's 5-minute bucket as hourly and daily snapshots are summed from it on
    PostgreSQL: every member's, channel's, event type's and emoji's counted sums, as parallel
    arrays (one row per bucket, written by the statement that fills the 5-minute snapshots), and
    the bucket's totals. A day of raw events is thus read once, not once per granularity, and the
    parts cost one row per bucket to write (5-minute sums telescope exactly: voice seconds are
    differences of rounded instants)."""

    id = models.BigAutoField(primary_key=True)
    guild_id = models.BigIntegerField()
    bucket_start = models.DateTimeField()
    total_messages = models.BigIntegerField()
    total_voice_seconds = models.BigIntegerField()
    total_reactions = models.BigIntegerField()
    member_ids = ArrayField(models.BigIntegerField())
    member_messages = ArrayField(models.BigIntegerField())
    member_reactions = ArrayField(models.BigIntegerField())
    member_voice = ArrayField(models.BigIntegerField())
    channel_ids = ArrayField(models.BigIntegerField())
    channel_messages = ArrayField(models.BigIntegerField())
    channel_voice = ArrayField(models.BigIntegerField())
    type_keys = ArrayField(models.TextField())
    type_counts = ArrayField(models.BigIntegerField())
    emoji_keys = ArrayField(models.TextField())
    emoji_counts = ArrayField(models.BigIntegerField())

    class Meta:
        db_table = "rollup_parts"
        constraints = [
            # also the index days and per-guild refreshes read by
            models.UniqueConstraint(fields=["guild_id", "bucket_start"], name="rollup_parts_unique")
        ]
        indexes = [models.Index(fields=["bucket_start"], name="rollup_parts_time")]

    def __str__(self) -> str:
        return f"parts of {self.guild_id} at {self.bucket_start}"


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
