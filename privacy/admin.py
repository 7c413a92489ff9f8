from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from guilds.admin import GuildScopedAdmin, ReadOnlyAdmin
from privacy.models import MemberOptOut, PrivacyAudit
from privacy.services.optouts import add_opt_out, remove_opt_out


@admin.register(MemberOptOut)
class MemberOptOutAdmin(GuildScopedAdmin[MemberOptOut]):
    """Members a guild does not track: their events are refused at ingest ("opted out").
    Adding and deleting go through the privacy services, which write the audit."""

    list_display = ("guild_id", "user_id", "created_at")
    search_fields = ("=guild_id", "=user_id")
    fields = ("guild_id", "user_id")

    def has_change_permission(self, request: HttpRequest, obj: MemberOptOut | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: MemberOptOut, form: Any, change: bool) -> None:
        saved = add_opt_out(obj.guild_id, obj.user_id, actor=request.user.get_username())
        obj.pk, obj.created_at = saved.pk, saved.created_at

    def delete_model(self, request: HttpRequest, obj: MemberOptOut) -> None:
        remove_opt_out(obj.guild_id, obj.user_id, actor=request.user.get_username())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MemberOptOut]) -> None:
        for guild_id, user_id in queryset.values_list("guild_id", "user_id"):
            remove_opt_out(guild_id, user_id, actor=request.user.get_username())


@admin.register(PrivacyAudit)
class PrivacyAuditAdmin(GuildScopedAdmin[PrivacyAudit], ReadOnlyAdmin[PrivacyAudit]):
    """Erasures and opt-out changes: who, when, which member, what (read-only)."""

    list_display = ("at", "actor", "action", "guild_id", "user_id")
    list_filter = ("action",)
    search_fields = ("=guild_id", "=user_id", "actor")
    date_hierarchy = "at"

    def has_delete_permission(self, request: HttpRequest, obj: PrivacyAudit | None = None) -> bool:
        return False
