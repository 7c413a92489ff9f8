from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from dashboard.models import DiscordMembership, GuildPageSettings, ShareLink


@admin.register(GuildPageSettings)
class GuildPageSettingsAdmin(admin.ModelAdmin[GuildPageSettings]):
    list_display = ("guild_id", "level", "members_pages_opt_in", "updated_at")
    list_filter = ("level", "members_pages_opt_in")
    search_fields = ("guild_id",)


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin[ShareLink]):
    list_display = ("guild_id", "name", "prefix", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("guild_id", "name", "prefix")
    readonly_fields = ("prefix", "secret_hash", "created_by", "created_at")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created on the guild's settings page, where the link is shown once

    @admin.action(description="Revoke the selected links")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ShareLink]) -> None:
        from django.utils import timezone

        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(DiscordMembership)
class DiscordMembershipAdmin(admin.ModelAdmin[DiscordMembership]):
    list_display = ("user", "guild_id", "updated_at")
    search_fields = ("guild_id", "user__username")
