from django.contrib import admin, messages

from guilds.admin import GuildScopedAdmin
from stats.models import (
    ChannelDailyStats,
    Event,
    IngestBatch,
    MemberDailyStats,
    MemberOptOut,
    MemberStats,
    PrivacyAudit,
    QuarantinedEvent,
    VoiceSession,
)
from stats.privacy.erase import erase_members
from stats.privacy.optouts import add_opt_out, remove_opt_out
from stats.processing.drain import replay_quarantined


class ReadOnlyAdmin(admin.ModelAdmin):
    """Pipeline state is written by the processors only."""

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(MemberStats)
class MemberStatsAdmin(GuildScopedAdmin, ReadOnlyAdmin):
    list_display = (
        "guild_id",
        "user_id",
        "total_messages",
        "total_voice_seconds",
        "total_reactions_given",
        "total_reactions_received",
        "last_seen",
        "is_bot",
    )
    list_filter = ("is_bot",)
    search_fields = ("=guild_id", "=user_id")
    show_full_result_count = False
    actions = ["erase"]

    def has_erase_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return request.user.is_superuser  # irreversible: not a moderator's task

    @admin.action(
        description="Erase the selected members (events, counters, joins; see Privacy)",
        permissions=["erase"],
    )
    def erase(self, request, queryset):  # type: ignore[no-untyped-def]
        members = list(queryset.values_list("guild_id", "user_id"))
        erased = erase_members(members, actor=request.user.get_username())
        self.message_user(request, f"{erased} member(s) erased", messages.SUCCESS)


@admin.register(MemberDailyStats)
class MemberDailyStatsAdmin(GuildScopedAdmin, ReadOnlyAdmin):
    list_display = ("guild_id", "day", "user_id", "messages", "voice_seconds", "reactions_given")
    search_fields = ("=guild_id", "=user_id")
    date_hierarchy = "day"
    show_full_result_count = False


@admin.register(ChannelDailyStats)
class ChannelDailyStatsAdmin(GuildScopedAdmin, ReadOnlyAdmin):
    list_display = ("guild_id", "day", "channel_id", "messages", "voice_seconds")
    search_fields = ("=guild_id", "=channel_id")
    show_full_result_count = False


@admin.register(VoiceSession)
class VoiceSessionAdmin(GuildScopedAdmin, ReadOnlyAdmin):
    list_display = ("guild_id", "user_id", "channel_id", "joined_at")
    search_fields = ("=guild_id", "=user_id")


@admin.register(IngestBatch)
class IngestBatchAdmin(ReadOnlyAdmin):
    list_display = ("id", "frame_id", "shard", "transport", "received_at", "processed_at")
    list_filter = ("transport", "shard")
    search_fields = ("=frame_id",)
    show_full_result_count = False


@admin.register(Event)
class EventAdmin(GuildScopedAdmin, ReadOnlyAdmin):
    list_display = ("id", "type", "guild_id", "user_id", "channel_id", "timestamp")
    search_fields = ("=guild_id", "=user_id", "=type")
    show_full_result_count = False


@admin.register(QuarantinedEvent)
class QuarantinedEventAdmin(GuildScopedAdmin, ReadOnlyAdmin):
    """Events that processing could not apply: their shard went on without them. Fix the
    cause, then replay them here or with ``manage.py replay_quarantine``."""

    list_display = ("event_id", "type", "guild_id", "timestamp", "attempts", "error")
    list_filter = ("type",)
    search_fields = ("=guild_id", "=event_id", "error")
    date_hierarchy = "quarantined_at"
    actions = ["replay"]

    def has_replay_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return request.user.is_superuser  # an operation, not a moderator's task

    @admin.action(description="Replay the selected events", permissions=["replay"])
    def replay(self, request, queryset):  # type: ignore[no-untyped-def]
        applied, failing = replay_quarantined(
            event_ids=list(queryset.values_list("event_id", flat=True))
        )
        self.message_user(
            request,
            f"{applied} applied, {failing} still failing",
            messages.SUCCESS if not failing else messages.WARNING,
        )


@admin.register(MemberOptOut)
class MemberOptOutAdmin(GuildScopedAdmin):
    """Members a guild does not track: their events are refused at ingest ("opted out").
    Adding and deleting go through the privacy services, which write the audit."""

    list_display = ("guild_id", "user_id", "created_at")
    search_fields = ("=guild_id", "=user_id")
    fields = ("guild_id", "user_id")

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        saved = add_opt_out(obj.guild_id, obj.user_id, actor=request.user.get_username())
        obj.pk, obj.created_at = saved.pk, saved.created_at

    def delete_model(self, request, obj) -> None:  # type: ignore[no-untyped-def]
        remove_opt_out(obj.guild_id, obj.user_id, actor=request.user.get_username())

    def delete_queryset(self, request, queryset) -> None:  # type: ignore[no-untyped-def]
        for guild_id, user_id in queryset.values_list("guild_id", "user_id"):
            remove_opt_out(guild_id, user_id, actor=request.user.get_username())


@admin.register(PrivacyAudit)
class PrivacyAuditAdmin(GuildScopedAdmin, ReadOnlyAdmin):
    """Erasures and opt-out changes: who, when, which member, what (read-only)."""

    list_display = ("at", "actor", "action", "guild_id", "user_id")
    list_filter = ("action",)
    search_fields = ("=guild_id", "=user_id", "actor")
    date_hierarchy = "at"

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
