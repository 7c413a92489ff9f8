"""The pipeline's ledger: the batches of received frames, the raw events, and the events processing
could not apply (quarantine). Their tables keep the names they had in the ``stats`` app."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
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
    unique (timestamp, dedupe_key) pair catches replays and stays legal on a TimescaleDB hypertable,
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
        # The dedupe index leads with the time: timestamps arrive nearly in order, so it grows at
        # its right edge (led by the random hash, every frame's 1,000 keys landed on 1,000 random
        # pages of it), and it also serves the 5-minute rollup's "every event of this bucket", so
        # there is no separate time index to maintain (issue 13: ingest's cost is the inserts into
        # these indexes). No index on type (seed 000 had one): reads filter by guild and/or time.
        constraints = [
            models.UniqueConstraint(fields=["timestamp", "dedupe_key"], name="events_dedupe")
        ]
        indexes = [
            models.Index(fields=["guild_id", "-timestamp"], name="events_guild_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} in {self.guild_id} at {self.timestamp:%Y-%m-%d %H:%M:%S}"


class QuarantinedEvent(models.Model):
    """An accepted event that processing could not apply (defence in depth: ingest bounds every
    value it stores, so this should stay empty). Its shard went on without it; the copy here
    (raw events expire) is re-applied by ``manage.py replay_quarantine`` or the admin action,
    once the cause is fixed. See ``pipeline.quarantine``."""

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
