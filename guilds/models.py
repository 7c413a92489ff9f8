"""Guilds the bot is in, their counting settings, and the tokens bots authenticate with."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not an IANA time zone") from exc


class Guild(models.Model):
    """One Discord server. Rows are never deleted: a guild the bot left is only marked inactive."""

    guild_id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=100, blank=True, default="")
    icon = models.CharField(max_length=255, blank=True, null=True)
    owner_id = models.BigIntegerField(null=True, blank=True)
    member_count = models.IntegerField(default=0)
    # when member_count was last set from Discord's own count (GUILD_SYNC/CREATE/UPDATE/STATE):
    # joins and leaves stamped after it adjust the count, earlier ones are already in it
    member_count_at = models.DateTimeField(null=True, blank=True, editable=False)
    features = models.JSONField(default=list, blank=True)
    premium_tier = models.SmallIntegerField(default=0)
    premium_subscription_count = models.IntegerField(default=0)
    joined_at = models.DateTimeField(null=True, blank=True, help_text="When the bot joined.")
    is_active = models.BooleanField(default=True)
    # Which bot (token) and Discord shard last listed or created the guild: a GUILD_SYNC marks
    # inactive only the unlisted guilds of its own bot and shard (null: from before we kept
    # this, claimed by whichever bot syncs the guild next).
    bot_token = models.ForeignKey(
        "guilds.BotToken",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The bot token whose collector last listed or created this guild.",
    )
    shard_id = models.IntegerField(null=True, blank=True, help_text="Its Discord shard.")

    # Counting settings, editable by the guild's admins.
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="IANA zone that defines this guild's days (daily counters and leaderboards).",
    )
    excluded_channel_ids = models.JSONField(
        default=list,
        blank=True,
        help_text="Channel ids whose activity is stored raw but never counted.",
    )
    count_bots = models.BooleanField(
        default=False, help_text="Count activity of bot accounts (off: stored raw, not counted)."
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["guild_id"]

    def __str__(self) -> str:
        return f"{self.name or 'guild'} ({self.guild_id})"


class BotToken(models.Model):
    """A credential a bot presents as ``Authorization: Bot <token>``.

    Only a SHA-256 of the token is stored: tokens are 256-bit random strings, so a fast hash is as
    safe as a slow one and keeps the per-request check to one indexed lookup.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.name} ({self.prefix}…, {state})"


class ApiKey(models.Model):
    """A credential for the REST API (``Authorization: Bearer <key>``), scoped to guilds.

    Stored as a SHA-256 like bot tokens (256-bit random keys). A key sees only its guilds; any
    other guild answers 404, as if it did not exist.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a key.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    guilds = models.ManyToManyField(Guild, related_name="api_keys", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.name} ({self.prefix}…, {state})"


class GuildAccess(models.Model):
    """A Discord user's right to read a guild's statistics, refreshed at each "Login with
    Discord": the guilds where the user has Manage Server or Administrator.

    Keyed by guild id rather than a foreign key, so access granted before the bot joins a guild
    applies as soon as it does.
    """

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="guild_access")
    guild_id = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "guild_id"], name="guild_access_unique")
        ]
        verbose_name_plural = "guild access"

    def __str__(self) -> str:
        return f"{self.user} -> {self.guild_id}"


class CollectionWindow(models.Model):
    """A stretch of time during which a collector was collecting a guild's events (merged from
    COLLECTOR_HEARTBEAT events, see ``guilds.coverage``). Time outside every window of a guild
    that has any is "not covered": missing, not zero.

    ``ended_at`` is the newest heartbeat's time; ``open_until`` is how far the window reads as
    covered if it is the guild's newest: ``ended_at`` after a ``stop``, else ``ended_at`` plus
    two heartbeat intervals (so the current bucket reads as covered between heartbeats)."""

    # heartbeats' spans that overlap or lie at most this far apart are one window
    MERGE_GAP = timedelta(seconds=5)

    guild_id = models.BigIntegerField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    open_until = models.DateTimeField()

    class Meta:
        db_table = "collection_windows"
        ordering = ["guild_id", "started_at"]
        indexes = [
            models.Index(fields=["guild_id", "ended_at"], name="collection_window_guild"),
            models.Index(fields=["ended_at"], name="collection_window_end"),
        ]

    def __str__(self) -> str:
        return f"{self.guild_id}: {self.started_at:%Y-%m-%d %H:%M:%S} to {self.ended_at:%H:%M:%S}"
