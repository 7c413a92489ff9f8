"""Who may see a guild's pages: its access level, the owner's opt-in for member-level pages,
revocable share links, and the guilds a Discord user is a member of (for the "members" level).

Keyed by guild id rather than a foreign key (like ``GuildAccess``), so settings made before the
bot reports a guild apply as soon as it does.
"""

from __future__ import annotations

from django.db import models


class AccessLevel(models.TextChoices):
    PRIVATE = "private", "Private: the guild's managers and the staff assigned to it"
    MEMBERS = "members", "Members: any signed-in member of the guild"
    PUBLIC = "public", "Public: anyone"


class GuildPageSettings(models.Model):
    guild_id = models.BigIntegerField(primary_key=True)
    level = models.CharField(max_length=16, choices=AccessLevel.choices, default="private")
    members_pages_opt_in = models.BooleanField(
        default=False,
        help_text="The owner's choice: show the members table, member pages and the "
        "moderation log to everyone who may see the dashboard (off: managers only).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "dashboard access"
        verbose_name_plural = "dashboard access"

    def __str__(self) -> str:
        return f"{self.guild_id}: {self.level}"


class ShareLink(models.Model):
    """A read-only link to a guild's pages. Only a SHA-256 of its 256-bit secret is stored
    (the link is shown once, when created); revoking it ends every session opened with it at
    its next request."""

    guild_id = models.BigIntegerField(db_index=True)
    name = models.CharField(max_length=100, blank=True, default="")
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a link.")
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.name or 'link'} ({self.prefix}…, {state})"


class DiscordMembership(models.Model):
    """A Discord user's membership of a guild, as Discord reported it at their last login."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+")
    guild_id = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "guild_id"], name="dashboard_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.guild_id}"
