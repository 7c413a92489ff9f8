"""Privacy: members a guild does not track (opt-outs) and the audit of erasures and opt-outs.

The audit keeps who did what to which member: it is the one table an erasure leaves the member's
id in (with the opt-out list itself, whose purpose is to name them)."""

from __future__ import annotations

from django.db import models


class MemberOptOut(models.Model):
    """A member of a guild who is not tracked: their events are refused at ingest."""

    guild_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "member_opt_outs"
        ordering = ["guild_id", "user_id"]
        verbose_name = "member opt-out"
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "user_id"], name="member_opt_out_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.guild_id}"


class PrivacyAudit(models.Model):
    """One privacy operation: an erasure, or an opt-out added or removed."""

    ERASE = "erase"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    ACTIONS = [(ERASE, "erase"), (OPT_OUT, "opt-out added"), (OPT_IN, "opt-out removed")]

    at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=150, help_text='The admin user, or "command".')
    action = models.CharField(max_length=10, choices=ACTIONS)
    guild_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    details = models.JSONField(default=dict, blank=True, help_text="Rows erased, per table.")

    class Meta:
        db_table = "privacy_audit"
        ordering = ["-at"]
        verbose_name = "privacy audit entry"
        verbose_name_plural = "privacy audit"
        indexes = [models.Index(fields=["guild_id", "user_id"], name="privacy_audit_member")]

    def __str__(self) -> str:
        return f"{self.action} {self.user_id} in {self.guild_id} by {self.actor}"
