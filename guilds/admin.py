from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from guilds.models import BotToken, Guild


@admin.register(Guild)
class GuildAdmin(admin.ModelAdmin):
    list_display = ("guild_id", "name", "member_count", "is_active", "timezone", "count_bots")
    list_filter = ("is_active", "count_bots", "timezone")
    search_fields = ("=guild_id", "name")
    readonly_fields = ("created_at", "updated_at", "joined_at")
    fieldsets = (
        (None, {"fields": ("guild_id", "name", "icon", "owner_id", "member_count", "is_active")}),
        ("Counting", {"fields": ("timezone", "excluded_channel_ids", "count_bots")}),
        ("Discord", {"fields": ("features", "premium_tier", "premium_subscription_count")}),
        ("Dates", {"fields": ("joined_at", "created_at", "updated_at")}),
    )


@admin.register(BotToken)
class BotTokenAdmin(admin.ModelAdmin):
    """Tokens are created with `manage.py create_bot_token` (the clear text is shown once);
    here they can be revoked."""

    list_display = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the clear token must be shown to someone: use create_bot_token

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[BotToken]) -> None:
        count = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)
