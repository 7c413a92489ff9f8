"""A guild's directory: the current names of its channels, roles, custom emojis and members, and
who held which role when. Kept by the directory's events (``guildstats_contract.directory``),
applied in timestamp order: every row remembers the time of the event that last wrote it
(``updated_at``) and an older event never overwrites it; a deleted channel, role or emoji keeps
its last name with ``deleted`` set, and a member no longer in the guild ``present`` unset.

``snapshot_id``: the last ``GUILD_DIRECTORY`` snapshot that listed the row; once every chunk of a
snapshot has arrived, the rows of its sections that it did not list (and that no later event
wrote) are marked deleted or gone. Every key includes ``guild_id`` (one shard per guild)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class DirectoryRow(models.Model):
    guild_id = models.BigIntegerField()
    name = models.CharField(max_length=100, blank=True, default="")
    deleted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(help_text="Time of the event that last wrote the row.")
    snapshot_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        abstract = True


class Channel(DirectoryRow):
    channel_id = models.BigIntegerField()
    type = models.SmallIntegerField(default=0, help_text="Discord's channel type.")
    parent_id = models.BigIntegerField(null=True, blank=True)
    position = models.IntegerField(default=0)

    class Meta:
        db_table = "directory_channels"
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "channel_id"], name="directory_channel")
        ]

    def __str__(self) -> str:
        return f"#{self.name or self.channel_id}"


class Role(DirectoryRow):
    role_id = models.BigIntegerField()
    color = models.IntegerField(default=0)
    position = models.IntegerField(default=0)
    managed = models.BooleanField(default=False)

    class Meta:
        db_table = "directory_roles"
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "role_id"], name="directory_role")
        ]

    def __str__(self) -> str:
        return f"@{self.name or self.role_id}"


class Emoji(DirectoryRow):
    emoji_id = models.BigIntegerField()
    animated = models.BooleanField(default=False)

    class Meta:
        db_table = "directory_emojis"
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "emoji_id"], name="directory_emoji")
        ]

    def __str__(self) -> str:
        return f":{self.name or self.emoji_id}:"


class Member(models.Model):
    """A member's names and avatar (``name``-less: see the fields)."""

    guild_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    username = models.CharField(max_length=32, blank=True, default="")
    global_name = models.CharField(max_length=32, blank=True, default="")
    nick = models.CharField(max_length=32, blank=True, default="")
    avatar = models.CharField(max_length=64, blank=True, default="")
    guild_avatar = models.CharField(max_length=64, blank=True, default="")
    bot = models.BooleanField(default=False)
    joined_at = models.DateTimeField(null=True, blank=True)
    present = models.BooleanField(default=True)
    updated_at = models.DateTimeField()
    snapshot_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        db_table = "directory_members"
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "user_id"], name="directory_member")
        ]
        indexes = [models.Index(fields=["guild_id", "username"], name="directory_member_name")]

    def __str__(self) -> str:
        return self.nick or self.global_name or self.username or str(self.user_id)


class RoleSpan(models.Model):
    """A member held a role from ``since`` until ``until`` (open: holds it now). History starts
    at the guild's first directory: before it, unknown."""

    guild_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    role_id = models.BigIntegerField()
    since = models.DateTimeField()
    until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "directory_role_spans"
        constraints = [
            models.UniqueConstraint(
                fields=["guild_id", "user_id", "role_id", "since"], name="directory_role_span"
            ),
        ]
        indexes = [
            models.Index(
                fields=["guild_id", "user_id"],
                condition=Q(until__isnull=True),
                name="directory_role_open",
            ),
            models.Index(fields=["guild_id", "role_id", "since"], name="directory_role_members"),
        ]


class Snapshot(models.Model):
    """The chunks of a ``GUILD_DIRECTORY`` snapshot received so far."""

    guild_id = models.BigIntegerField()
    snapshot_id = models.CharField(max_length=64)
    parts = models.IntegerField()
    received = models.JSONField(default=list, help_text="Indexes of the chunks received.")
    sections = models.JSONField(default=list)
    taken_at = models.DateTimeField(help_text="The earliest chunk's time.")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "directory_snapshots"
        constraints = [
            models.UniqueConstraint(fields=["guild_id", "snapshot_id"], name="directory_snapshot")
        ]
