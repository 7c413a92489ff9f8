"""Real-time counters (all time and per day), voice sessions, and what bot snapshots counted."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


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


class ActivitySource(models.Model):
    """Since when a bot-aggregated guild's activity is counted from bot snapshots, so that no
    instant is counted from both raw events and a snapshot.

    The rule (see ``stats.services.snapshots``): a bot snapshot counts only if its period starts
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
