from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from guilds.admin import GuildScopedAdmin, ReadOnlyAdmin
from privacy.services.erase import erase_members
from stats.models import ChannelDailyStats, MemberDailyStats, MemberStats, VoiceSession


@admin.register(MemberStats)
class MemberStatsAdmin(GuildScopedAdmin[MemberStats], ReadOnlyAdmin[MemberStats]):
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

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser  # irreversible: not a moderator's task

    @admin.action(
        description="Erase the selected members (events, counters, joins; see Privacy)",
        permissions=["erase"],
    )
    def erase(self, request: HttpRequest, queryset: QuerySet[MemberStats]) -> None:
        members = list(queryset.values_list("guild_id", "user_id"))
        erased = erase_members(members, actor=request.user.get_username())
        self.message_user(request, f"{erased} member(s) erased", messages.SUCCESS)


@admin.register(MemberDailyStats)
class MemberDailyStatsAdmin(GuildScopedAdmin[MemberDailyStats], ReadOnlyAdmin[MemberDailyStats]):
    list_display = ("guild_id", "day", "user_id", "messages", "voice_seconds", "reactions_given")
    search_fields = ("=guild_id", "=user_id")
    date_hierarchy = "day"
    show_full_result_count = False


@admin.register(ChannelDailyStats)
class ChannelDailyStatsAdmin(GuildScopedAdmin[ChannelDailyStats], ReadOnlyAdmin[ChannelDailyStats]):
    list_display = ("guild_id", "day", "channel_id", "messages", "voice_seconds")
    search_fields = ("=guild_id", "=channel_id")
    show_full_result_count = False


@admin.register(VoiceSession)
class VoiceSessionAdmin(GuildScopedAdmin[VoiceSession], ReadOnlyAdmin[VoiceSession]):
    list_display = ("guild_id", "user_id", "channel_id", "joined_at")
    search_fields = ("=guild_id", "=user_id")
