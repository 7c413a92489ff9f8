from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from guilds.admin import GuildScopedAdmin, ReadOnlyAdmin
from pipeline.drain import replay_quarantined
from pipeline.models import Event, IngestBatch, QuarantinedEvent


@admin.register(IngestBatch)
class IngestBatchAdmin(ReadOnlyAdmin[IngestBatch]):
    list_display = ("id", "frame_id", "shard", "transport", "received_at", "processed_at")
    list_filter = ("transport", "shard")
    search_fields = ("=frame_id",)
    show_full_result_count = False


@admin.register(Event)
class EventAdmin(GuildScopedAdmin[Event], ReadOnlyAdmin[Event]):
    list_display = ("id", "type", "guild_id", "user_id", "channel_id", "timestamp")
    search_fields = ("=guild_id", "=user_id", "=type")
    show_full_result_count = False


@admin.register(QuarantinedEvent)
class QuarantinedEventAdmin(GuildScopedAdmin[QuarantinedEvent], ReadOnlyAdmin[QuarantinedEvent]):
    """Events that processing could not apply: their shard went on without them. Fix the
    cause, then replay them here or with ``manage.py replay_quarantine``."""

    list_display = ("event_id", "type", "guild_id", "timestamp", "attempts", "error")
    list_filter = ("type",)
    search_fields = ("=guild_id", "=event_id", "error")
    date_hierarchy = "quarantined_at"
    actions = ["replay"]

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)  # an operation, not a moderator's task

    @admin.action(description="Replay the selected events", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[QuarantinedEvent]) -> None:
        applied, failing = replay_quarantined(
            event_ids=list(queryset.values_list("event_id", flat=True))
        )
        self.message_user(
            request,
            f"{applied} applied, {failing} still failing",
            messages.SUCCESS if not failing else messages.WARNING,
        )
