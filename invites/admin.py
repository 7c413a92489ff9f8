"""The moderators' admin for invites, inviter counts (bonus editable), members (joins, leaves
and case history) and daily growth; scoped to the guilds a staff user moderates."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from guilds.admin import GuildScopedAdmin, ModelT
from invites.models import (
    GuildGrowthDaily,
    Invite,
    InviterStats,
    InviteSettings,
    MemberJoin,
)
from invites.selectors import active_invite_filter


class ReadOnlyScopedAdmin(GuildScopedAdmin[ModelT]):
    """Written by the processors only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ModelT | None = None) -> bool:
        return False


class ActiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "active"), ("deleted", "deleted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invite]) -> QuerySet[Invite]:
        if self.value() == "active":  # the API's rule
            return queryset.filter(active_invite_filter(timezone.now()))
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Invite)
class InviteAdmin(ReadOnlyScopedAdmin[Invite]):
    list_display = (
        "code",
        "guild_id",
        "inviter_id",
        "inviter_username",
        "channel_id",
        "uses",
        "max_uses",
        "expires_at",
        "deleted_at",
    )
    list_filter = (ActiveFilter, "temporary")
    search_fields = ("code", "=guild_id", "=inviter_id", "inviter_username")
    show_full_result_count = False


@admin.register(InviterStats)
class InviterStatsAdmin(GuildScopedAdmin[InviterStats]):
    """Moderators may grant a bonus; the other counts come from the events."""

    moderator_can_change = True
    list_display = (
        "inviter_id",
        "inviter_username",
        "guild_id",
        "regular",
        "leaves",
        "fakes",
        "bonus",
        "total_display",
    )
    list_editable = ("bonus",)
    search_fields = ("=inviter_id", "inviter_username", "=guild_id")
    readonly_fields = (
        "guild_id",
        "inviter_id",
        "inviter_username",
        "regular",
        "leaves",
        "fakes",
        "total_display",
        "updated_at",
    )
    fields = (*readonly_fields[:6], "bonus", "total_display", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[InviterStats]:
        return (
            super()
            .get_queryset(request)
            .annotate(score=F("regular") + F("bonus") - F("leaves") - F("fakes"))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: InviterStats, form: Any, change: bool) -> None:
        """Write the bonus only (change form and list-editable saves both come here): the
        counts on ``obj`` were read before the form was submitted, and processing may have
        changed them since; saving every column would overwrite those live counts."""
        obj.save(update_fields=["bonus", "updated_at"])

    @admin.display(description="total", ordering="score")
    def total_display(self, row: InviterStats) -> int:
        return row.total


@admin.register(MemberJoin)
class MemberJoinAdmin(ReadOnlyScopedAdmin[MemberJoin]):
    list_display = (
        "user_id",
        "username",
        "guild_id",
        "joined_at",
        "inviter_id",
        "invite_code",
        "kind",
        "fake_reason",
        "attribution",
        "attribution_reason",
        "left_at",
    )
    list_filter = ("kind", "fake_reason", "attribution", "attribution_reason")
    search_fields = ("=user_id", "username", "=inviter_id", "invite_code", "=guild_id")
    date_hierarchy = "joined_at"
    show_full_result_count = False


@admin.register(GuildGrowthDaily)
class GuildGrowthDailyAdmin(ReadOnlyScopedAdmin[GuildGrowthDaily]):
    list_display = ("guild_id", "day", "joins", "leaves", "net")
    search_fields = ("=guild_id",)
    date_hierarchy = "day"

    @admin.display(description="net")
    def net(self, row: GuildGrowthDaily) -> int:
        return row.net


@admin.register(InviteSettings)
class InviteSettingsAdmin(GuildScopedAdmin[InviteSettings]):
    """Superusers set a guild's fake-account threshold (moderators can read it)."""

    list_display = ("guild_id", "fake_account_days")
    search_fields = ("=guild_id",)
