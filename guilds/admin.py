from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import User
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from guilds.models import ApiKey, BotToken, CollectionWindow, Guild, GuildAccess
from guilds.services import issue_api_key_secret, revoke_api_keys

ModelT = TypeVar("ModelT", bound=Model)  # the model of an admin built on the bases below


# --- Moderator scoping -----------------------------------------------------------------------
def moderated_guild_ids(request: HttpRequest) -> frozenset[int] | None:
    """The guilds a staff user moderates (their GuildAccess rows: assigned by a superuser in
    the user's admin page, or from "Login with Discord"); None for a superuser (every guild).
    Cached on the request: every changelist row asks."""
    user = request.user
    if user.is_active and user.is_superuser:
        return None
    cached = getattr(request, "_moderated_guild_ids", None)
    if cached is None:
        cached = frozenset()
        if user.is_active and user.is_staff:
            cached = frozenset(
                GuildAccess.objects.filter(user=user).values_list("guild_id", flat=True)
            )
        request._moderated_guild_ids = cached  # type: ignore[attr-defined]
    return cached


class GuildScopedAdmin(admin.ModelAdmin[ModelT]):
    """An admin whose rows belong to a guild (``guild_field``). A moderator (a staff user
    assigned to guilds) sees only those guilds' rows and may view them without any Django
    permission; ``moderator_can_change`` also lets them edit (e.g. an inviter's bonus). A
    superuser sees everything; any other staff user sees nothing of these models."""

    guild_field = "guild_id"
    moderator_can_change = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelT]:
        rows = super().get_queryset(request)
        ids = moderated_guild_ids(request)
        return rows if ids is None else rows.filter(**{f"{self.guild_field}__in": ids})

    def is_moderator(self, request: HttpRequest) -> bool:
        return bool(moderated_guild_ids(request))

    def in_scope(self, request: HttpRequest, obj: ModelT | None) -> bool:
        ids = moderated_guild_ids(request)
        return ids is None or obj is None or getattr(obj, self.guild_field) in ids

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or self.is_moderator(request)

    def has_view_permission(self, request: HttpRequest, obj: ModelT | None = None) -> bool:
        allowed = super().has_view_permission(request, obj) or self.is_moderator(request)
        return allowed and self.in_scope(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: ModelT | None = None) -> bool:
        allowed = super().has_change_permission(request, obj) or (
            self.moderator_can_change and self.is_moderator(request)
        )
        return allowed and self.in_scope(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: ModelT | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self.in_scope(request, obj)


class GuildAccessInline(admin.TabularInline[GuildAccess, User]):
    """Assigns a staff user to the guilds they moderate (the same rows "Login with Discord"
    fills for the API; a Discord login replaces them with the guilds Discord reports)."""

    model = GuildAccess
    extra = 1
    fields = ("guild_id", "updated_at")
    readonly_fields = ("updated_at",)
    verbose_name = "moderated guild"
    verbose_name_plural = "moderated guilds (staff users see only these in the admin)"


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    inlines = [*BaseUserAdmin.inlines, GuildAccessInline]


@admin.register(GuildAccess)
class GuildAccessAdmin(admin.ModelAdmin[GuildAccess]):
    list_display = ("user", "guild_id", "updated_at")
    search_fields = ("user__username", "=guild_id")
    raw_id_fields = ("user",)


@admin.register(Guild)
class GuildAdmin(GuildScopedAdmin[Guild]):
    list_display = ("guild_id", "name", "member_count", "is_active", "timezone", "count_bots")
    list_filter = ("is_active", "count_bots", "timezone")
    search_fields = ("=guild_id", "name")
    readonly_fields = ("created_at", "updated_at", "joined_at", "bot_token", "shard_id")
    fieldsets = (
        (None, {"fields": ("guild_id", "name", "icon", "owner_id", "member_count", "is_active")}),
        ("Counting", {"fields": ("timezone", "excluded_channel_ids", "count_bots")}),
        (
            "Discord",
            {
                "fields": (
                    "features",
                    "premium_tier",
                    "premium_subscription_count",
                    "bot_token",
                    "shard_id",
                )
            },
        ),
        ("Dates", {"fields": ("joined_at", "created_at", "updated_at")}),
    )


@admin.register(CollectionWindow)
class CollectionWindowAdmin(GuildScopedAdmin[CollectionWindow]):
    """When the collectors were collecting each guild (from their heartbeats); read-only."""

    list_display = ("guild_id", "started_at", "ended_at", "open_until")
    search_fields = ("=guild_id",)
    date_hierarchy = "started_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: CollectionWindow | None = None
    ) -> bool:
        return False


@admin.register(BotToken)
class BotTokenAdmin(admin.ModelAdmin[BotToken]):
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


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    """API keys for the REST API: created here (the clear key is shown once, after saving) or
    with `manage.py create_api_key`; scoped to the chosen guilds; revocable."""

    list_display = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    filter_horizontal = ("guilds",)
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("name", "guilds", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if not change:
            key = issue_api_key_secret(obj)
            self.message_user(
                request,
                f"API key for {obj.name}: {key} — copy it now, it will not be shown again.",
                messages.WARNING,
            )
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = revoke_api_keys(queryset)
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin[ModelT]):
    """Rows written by the pipeline and its processors only (counters, ledger, audit)."""

    def has_add_permission(self, request: HttpRequest, obj: ModelT | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ModelT | None = None) -> bool:
        return False
