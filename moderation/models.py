"""Moderation cases: one row per moderation action, numbered per guild (seed 001
``moderation_logs``, plus the case number moderators quote)."""

from __future__ import annotations

from django.db import models


class Action(models.TextChoices):
    BAN = "BAN", "ban"
    UNBAN = "UNBAN", "unban"
    KICK = "KICK", "kick"
    TIMEOUT = "TIMEOUT", "timeout"
    TIMEOUT_REMOVE = "TIMEOUT_REMOVE", "timeout removed"
    ROLE_UPDATE = "ROLE_UPDATE", "role update"
    MESSAGE_DELETE = "MESSAGE_DELETE", "message deleted"
    MESSAGE_DELETE_BULK = "MESSAGE_DELETE_BULK", "messages bulk-deleted"
    AUTOMOD = "AUTOMOD", "auto-moderation"


class CaseCounter(models.Model):
    """The last case number handed out in a guild. Incremented under a row lock inside the
    processing transaction, so a rolled-back chunk gives its numbers back (no gaps) and two
    transactions can never take the same number (no duplicates)."""

    guild_id = models.BigIntegerField(primary_key=True)
    last_case_number = models.IntegerField(default=0)

    class Meta:
        db_table = "moderation_case_counters"

    def __str__(self) -> str:
        return f"guild {self.guild_id}: case #{self.last_case_number}"


class ModerationCase(models.Model):
    """One moderation action. ``event_id`` / ``audit_event_id`` are the raw events that reported
    it (the action's own event and its audit-log entry): a case has at most one of each, which is
    how the two reports of one action are merged into one case."""

    guild_id = models.BigIntegerField()
    case_number = models.IntegerField()
    action = models.CharField(max_length=32, choices=Action.choices)
    target_user_id = models.BigIntegerField(null=True, blank=True)
    target_username = models.CharField(max_length=255, blank=True, default="")
    moderator_id = models.BigIntegerField(
        null=True, blank=True, help_text="Empty: a system action (auto-moderation, Discord)."
    )
    moderator_username = models.CharField(max_length=255, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField()
    event_id = models.BigIntegerField(
        null=True, blank=True, help_text="The raw event (ban, member remove, …) reporting it."
    )
    audit_event_id = models.BigIntegerField(
        null=True, blank=True, help_text="The raw GUILD_AUDIT_LOG_ENTRY_CREATE reporting it."
    )
    audit_entry_id = models.BigIntegerField(
        null=True, blank=True, help_text="Discord's audit-log entry id, when the bot sent it."
    )
    raw = models.JSONField(
        default=dict, blank=True, help_text="The data of every event that reported this case."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "moderation_cases"
        ordering = ["guild_id", "-case_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["guild_id", "case_number"], name="moderation_case_number_unique"
            ),
            models.UniqueConstraint(
                fields=["guild_id", "audit_entry_id"], name="moderation_case_audit_entry_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(case_number__gt=0), name="moderation_case_number_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["guild_id", "timestamp"], name="moderation_case_guild_time"),
            models.Index(
                fields=["guild_id", "target_user_id", "timestamp"], name="moderation_case_target"
            ),
            models.Index(fields=["guild_id", "moderator_id"], name="moderation_case_moderator"),
        ]

    def __str__(self) -> str:
        return f"case #{self.case_number} {self.action} of {self.target_user_id}"
