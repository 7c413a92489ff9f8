"""The moderators' admin: cases, scoped to the guilds a staff user moderates (superusers see
every guild). Cases are written by the processors only, so the admin reads them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from guilds.admin import GuildScopedAdmin
from invites.admin import ReadOnlyScopedAdmin
from invites.models import MemberJoin, MemberLifecycle
from moderation.models import ModerationCase
from privacy.services.erase import erase_members


class ModeratorKindFilter(admin.SimpleListFilter):
    title = "moderator"
    parameter_name = "by"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("human", "a moderator"), ("system", "the system (auto-moderation, Discord)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "human":
            return queryset.filter(moderator_id__isnull=False)
        if self.value() == "system":
            return queryset.filter(moderator_id__isnull=True)
        return queryset


def cases_url(guild_id: int, **filters: Any) -> str:
    query = urlencode({"guild_id": guild_id, **filters})
    return f"{reverse('admin:moderation_moderationcase_changelist')}?{query}"


def pretty_json(value: Any) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False),
    )


@admin.register(ModerationCase)
class ModerationCaseAdmin(GuildScopedAdmin[ModerationCase]):
    list_display = (
        "case_number",
        "guild_id",
        "action",
        "target",
        "moderator",
        "short_reason",
        "timestamp",
        "sources",
    )
    list_display_links = ("case_number",)
    list_filter = ("action", ModeratorKindFilter)
    search_fields = (
        "=target_user_id",
        "=moderator_id",
        "=guild_id",
        "target_username",
        "moderator_username",
        "reason",
    )
    date_hierarchy = "timestamp"
    ordering = ("-timestamp", "-case_number")
    show_full_result_count = False
    fields = (
        "guild_id",
        "case_number",
        "action",
        "target",
        "moderator",
        "reason",
        "timestamp",
        "details_json",
        "raw_json",
        "event_id",
        "audit_event_id",
        "audit_entry_id",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: ModerationCase | None = None
    ) -> bool:
        return False

    @admin.display(description="target", ordering="target_user_id")
    def target(self, case: ModerationCase) -> str:
        if case.target_user_id is None:
            return "—"
        return format_html(
            '<a href="{}" title="this member\'s history">{} {}</a>',
            cases_url(case.guild_id, target_user_id=case.target_user_id),
            case.target_user_id,
            f"({case.target_username})" if case.target_username else "",
        )

    @admin.display(description="moderator", ordering="moderator_id")
    def moderator(self, case: ModerationCase) -> str:
        if case.moderator_id is None:
            return "system"
        return format_html(
            '<a href="{}">{} {}</a>',
            cases_url(case.guild_id, moderator_id=case.moderator_id),
            case.moderator_id,
            f"({case.moderator_username})" if case.moderator_username else "",
        )

    @admin.display(description="reason")
    def short_reason(self, case: ModerationCase) -> str:
        return case.reason if len(case.reason) <= 60 else case.reason[:59] + "…"

    @admin.display(description="reported by")
    def sources(self, case: ModerationCase) -> str:
        return " + ".join(s for s in ("event", "audit") if s in case.raw)

    @admin.display(description="details")
    def details_json(self, case: ModerationCase) -> str:
        return pretty_json(case.details)

    @admin.display(description="raw data (each report's data)")
    def raw_json(self, case: ModerationCase) -> str:
        return pretty_json(case.raw)


def case_table(cases: list[ModerationCase]) -> str:
    """A small HTML table of cases, for a member's page."""
    if not cases:
        return "no cases"
    rows = format_html_join(
        "",
        '<tr><td><a href="{}">#{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                reverse("admin:moderation_moderationcase_change", args=[c.pk]),
                c.case_number,
                c.timestamp.strftime("%Y-%m-%d %H:%M"),
                c.action,
                c.moderator_id or "system",
                c.reason,
            )
            for c in cases
        ),
    )
    return format_html(
        "<table><tr><th>case</th><th>when</th><th>action</th><th>moderator</th>"
        "<th>reason</th></tr>{}</table>",
        rows,
    )


@admin.register(MemberLifecycle)
class MemberLifecycleAdmin(ReadOnlyScopedAdmin[MemberLifecycle]):  # not in invites: shows cases
    """A member's page: joins and leaves, who invited them, and their case history."""

    list_display = (
        "user_id",
        "username",
        "guild_id",
        "first_joined_at",
        "last_joined_at",
        "left_at",
        "rejoin_count",
        "is_present",
        "cases_link",
    )
    list_filter = ("is_present",)
    search_fields = ("=user_id", "username", "=guild_id")
    show_full_result_count = False
    fields = (
        "guild_id",
        "user_id",
        "username",
        "first_joined_at",
        "last_joined_at",
        "left_at",
        "join_count",
        "rejoin_count",
        "leave_count",
        "is_present",
        "joins",
        "case_history",
    )
    readonly_fields = fields
    actions = ["erase"]

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser  # irreversible: not a moderator's task

    @admin.action(
        description="Erase the selected members (events, counters, joins; see Privacy)",
        permissions=["erase"],
    )
    def erase(self, request: HttpRequest, queryset: QuerySet[MemberLifecycle]) -> None:
        members = list(queryset.values_list("guild_id", "user_id"))
        erased = erase_members(members, actor=request.user.get_username())
        self.message_user(request, f"{erased} member(s) erased", messages.SUCCESS)

    @admin.display(description="cases")
    def cases_link(self, member: MemberLifecycle) -> str:
        return format_html(
            '<a href="{}">history</a>', cases_url(member.guild_id, target_user_id=member.user_id)
        )

    @admin.display(description="joins")
    def joins(self, member: MemberLifecycle) -> str:
        rows = MemberJoin.objects.filter(guild_id=member.guild_id, user_id=member.user_id).order_by(
            "joined_at"
        )
        return format_html_join(
            "",
            "<div>{} — {} {} {} {}</div>",
            (
                (
                    f"{j.joined_at:%Y-%m-%d %H:%M}",
                    j.kind,
                    f"({j.fake_reason})" if j.fake_reason else "",
                    f"invited by {j.inviter_id}" if j.inviter_id else "",
                    f"left {j.left_at:%Y-%m-%d %H:%M}" if j.left_at else "",
                )
                for j in rows
            ),
        )

    @admin.display(description="case history")
    def case_history(self, member: MemberLifecycle) -> str:
        cases = ModerationCase.objects.filter(
            guild_id=member.guild_id, target_user_id=member.user_id
        ).order_by("case_number")
        return case_table(list(cases))
