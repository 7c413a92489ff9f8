"""/api/guilds/{guildId}/moderation/…: cases, the latest cases, one member's history. Same auth
and guild scoping as the stats API (out-of-scope guilds answer 404)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from guilds.api.fields import SNOWFLAKE_HELP, SNOWFLAKE_PATTERN
from guilds.api.views import ApiViewSet, guild_action, valid
from guilds.models import Guild
from invites import selectors as invite_selectors
from moderation import selectors, shapes
from moderation.api import serializers as s

USER_PATH = OpenApiParameter(
    "user_id",
    str,
    OpenApiParameter.PATH,
    pattern=SNOWFLAKE_PATTERN,
    description=f"{SNOWFLAKE_HELP}; anything else answers 400 (userId)",
)


class ModerationViewSet(ApiViewSet):
    lookup_field = "guild_id"

    @guild_action(
        shape=shapes.CasePage, query=s.CasesQuery, summary="Moderation cases, newest first"
    )
    def cases(self, request: Request, guild: Guild, q: dict[str, Any]) -> Response:
        moderator = q.get("moderatorId")
        rows = selectors.case_query(
            guild.guild_id,
            action=q.get("action"),
            target_user_id=q.get("targetUserId"),
            moderator_id=moderator if isinstance(moderator, int) else None,
            system_only=moderator == "system",
            since=q.get("since"),
            until=q.get("until"),
        )
        return Response(selectors.case_page(rows, page=q["page"], page_size=q["pageSize"]))

    @guild_action(shape=shapes.RecentCases, summary="The latest 50 cases")
    def recent(self, request: Request, guild: Guild, q: dict[str, Any]) -> Response:
        body: shapes.RecentCases = {"cases": selectors.recent_cases(guild.guild_id)}
        return Response(body)

    @guild_action(
        shape=shapes.UserHistory,
        summary="One member's case history and membership",
        parameters=[USER_PATH],
        url_path=r"users/(?P<user_id>[^/]+)",
    )
    def user(self, request: Request, guild: Guild, q: dict[str, Any], user_id: str) -> Response:
        user = valid(s.UserPath, {"userId": user_id})["userId"]
        cases = selectors.user_cases(guild.guild_id, user)
        body: shapes.UserHistory = {
            "guildId": str(guild.guild_id),
            "userId": str(user),
            "cases": cases["cases"],
            "totals": cases["totals"],
            "casesAsModerator": cases["casesAsModerator"],
            "membership": invite_selectors.membership(guild.guild_id, user),
        }
        return Response(body)
