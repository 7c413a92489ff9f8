"""Invites, who invited whom, inviter counts, and the member lifecycle (joins and leaves).

The lifecycle lives here because invite accounting is built on it: a leave is charged to the
inviter of the join it ends, and a rejoin is recognised from the member's join history.
"""

from __future__ import annotations

from django.db import models


class InviteSettings(models.Model):
    """Per-guild invite accounting settings (a guild without a row uses the defaults)."""

    guild_id = models.BigIntegerField(primary_key=True)
    fake_account_days = models.PositiveIntegerField(
        default=7,
        help_text="A join by an account younger than this many days counts as fake.",
    )

    class Meta:
        db_table = "invite_settings"
        verbose_name_plural = "invite settings"

    def __str__(self) -> str:
        return f"guild {self.guild_id}: fake under {self.fake_account_days} days"


class Invite(models.Model):
    """One invite code of a guild, as INVITE_CREATE / INVITE_USE / INVITE_DELETE describe it."""

    guild_id = models.BigIntegerField()
    code = models.CharField(max_length=100)
    inviter_id = models.BigIntegerField(null=True, blank=True)
    inviter_username = models.CharField(max_length=255, blank=True, default="")
    channel_id = models.BigIntegerField(null=True, blank=True)
    uses = models.IntegerField(default=0)
    max_uses = models.IntegerField(default=0, help_text="0: unlimited.")
    max_age = models.IntegerField(default=0, help_text="Seconds; 0: never expires.")
    temporary = models.BooleanField(default=False)
    invite_created_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "invites"
        ordering = ["guild_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "code"], name="invite_code_unique")
        ]
        indexes = [models.Index(fields=["guild_id", "inviter_id"], name="invite_inviter")]

    def __str__(self) -> str:
        return f"{self.code} ({self.uses} uses)"


class JoinKind(models.TextChoices):
    REGULAR = "regular", "regular"
    FAKE = "fake", "fake"
    VANITY = "vanity", "vanity URL"
    AMBIGUOUS = "ambiguous", "ambiguous (several invites possible)"
    UNKNOWN = "unknown", "inviter unknown"
    BOT = "bot", "bot account"


class FakeReason(models.TextChoices):
    NONE = "", "—"
    SELF_INVITE = "self_invite", "self-invite"
    YOUNG_ACCOUNT = "young_account", "account too young"
    REJOIN = "rejoin", "rejoin of a member already counted"


class MemberJoin(models.Model):
    """One join of a member, and who invited them (the seed's ``invite_tracking``). The bot may
    report a join twice (GUILD_MEMBER_ADD and INVITE_USE); both land on this one row."""

    guild_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    username = models.CharField(max_length=255, blank=True, default="")
    joined_at = models.DateTimeField()
    inviter_id = models.BigIntegerField(null=True, blank=True)
    inviter_username = models.CharField(max_length=255, blank=True, default="")
    invite_code = models.CharField(max_length=100, blank=True, default="")
    kind = models.CharField(max_length=16, choices=JoinKind.choices, default=JoinKind.UNKNOWN)
    fake_reason = models.CharField(
        max_length=16, choices=FakeReason.choices, blank=True, default=""
    )
    is_bot = models.BooleanField(default=False)
    account_created_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    leave_counted = models.BooleanField(
        default=False, help_text="The leave was charged to the inviter."
    )
    # How the collector attributed the join (GUILD_MEMBER_ADD ``inviteAttribution``: invite,
    # vanity, ambiguous, unknown; empty when the bot did not say), and its details.
    attribution = models.CharField(max_length=16, blank=True, default="")
    attribution_reason = models.CharField(
        max_length=32, blank=True, default="", help_text="Why the invite is unknown."
    )
    invite_candidates = models.JSONField(
        default=list, blank=True, help_text="The invite codes an ambiguous join may have used."
    )
    member_add_event_id = models.BigIntegerField(null=True, blank=True)
    invite_use_event_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "member_joins"
        ordering = ["guild_id", "-joined_at"]
        indexes = [
            models.Index(fields=["guild_id", "user_id", "joined_at"], name="member_join_user"),
            models.Index(fields=["guild_id", "inviter_id"], name="member_join_inviter"),
            models.Index(fields=["guild_id", "joined_at"], name="member_join_time"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} joined {self.joined_at:%Y-%m-%d %H:%M} ({self.kind})"

    @property
    def credited(self) -> bool:
        """Counted in the inviter's ``regular`` (fakes are counted there and in ``fakes``)."""
        return self.inviter_id is not None and self.kind in (JoinKind.REGULAR, JoinKind.FAKE)


class InviterStats(models.Model):
    """An inviter's counts, as invite bots show them: total = regular + bonus - leaves - fakes.
    ``bonus`` is set by admins; the other counters only by the processors."""

    guild_id = models.BigIntegerField()
    inviter_id = models.BigIntegerField()
    inviter_username = models.CharField(max_length=255, blank=True, default="")
    regular = models.IntegerField(default=0)
    leaves = models.IntegerField(default=0)
    fakes = models.IntegerField(default=0)
    bonus = models.IntegerField(default=0, help_text="Granted (or taken) by admins.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "inviter_stats"
        ordering = ["guild_id", "inviter_id"]
        verbose_name_plural = "inviter stats"
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "inviter_id"], name="inviter_stats_unique")
        ]

    def __str__(self) -> str:
        return f"{self.inviter_username or self.inviter_id}: {self.total}"

    @property
    def total(self) -> int:
        return self.regular + self.bonus - self.leaves - self.fakes


class MemberLifecycle(models.Model):
    """A member's joins and leaves in a guild."""

    guild_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    username = models.CharField(max_length=255, blank=True, default="")
    first_joined_at = models.DateTimeField(null=True, blank=True)
    last_joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True, help_text="The last leave.")
    join_count = models.IntegerField(default=0)
    rejoin_count = models.IntegerField(default=0)
    leave_count = models.IntegerField(default=0)
    is_present = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "member_lifecycle"
        ordering = ["guild_id", "user_id"]
        verbose_name = "member lifecycle"
        verbose_name_plural = "member lifecycles"
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "user_id"], name="member_lifecycle_unique")
        ]
        indexes = [
            models.Index(fields=["guild_id", "first_joined_at"], name="member_lifecycle_first")
        ]

    def __str__(self) -> str:
        return f"{self.username or self.user_id} in {self.guild_id}"


class GuildGrowthDaily(models.Model):
    """Joins and leaves of a guild per day of its time zone (net = joins - leaves)."""

    guild_id = models.BigIntegerField()
    day = models.DateField()
    joins = models.IntegerField(default=0)
    leaves = models.IntegerField(default=0)

    class Meta:
        db_table = "guild_growth_daily"
        ordering = ["guild_id", "-day"]
        verbose_name_plural = "guild growth (daily)"
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "day"], name="guild_growth_daily_unique")
        ]

    def __str__(self) -> str:
        return f"{self.guild_id} {self.day}: +{self.joins} -{self.leaves}"

    @property
    def net(self) -> int:
        return self.joins - self.leaves
