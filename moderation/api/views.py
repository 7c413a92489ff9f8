"""/api/guilds/{guildId}/moderation/…: cases, the latest cases, one member's history. Same auth
and guild scoping as the stats API (out-of-scope guilds answer 404)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from guilds.api.fields import SNOWFLAKE_HELP, SNOWFLAKE_PATTERN
from guilds.api.openapi import GUILD_PATH, responses
from guilds.api.views import ApiViewSet, guild_in_scope, valid
from invites import selectors as invite_selectors
from moderation import selectors
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

    @extend_schema(
        parameters=[GUILD_PATH, s.CasesQuery],
        responses=responses(s.CasePage),
        summary="Moderation cases, newest first",
    )
    @action(detail=False, methods=["get"])
    def cases(self, request: Request, guild_id: str) -> Response:
        guild = guild_in_scope(request, guild_id)
        q = valid(s.CasesQuery, request.query_params)
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

    @extend_schema(
        parameters=[GUILD_PATH], responses=responses(s.RecentCases), summary="The latest 50 cases"
    )
    @action(detail=False, methods=["get"])
    def recent(self, request: Request, guild_id: str) -> Response:
        guild = guild_in_scope(request, guild_id)
        return Response({"cases": selectors.recent_cases(guild.guild_id)})

    @extend_schema(
        parameters=[GUILD_PATH, USER_PATH],
        responses=responses(s.UserHistory),
        summary="One member's case history and membership",
    )
    @action(detail=False, methods=["get"], url_path=r"users/(?P<user_id>[^/]+)")
    def user(self, request: Request, guild_id: str, user_id: str) -> Response:
        guild = guild_in_scope(request, guild_id)
        user = valid(s.UserPath, {"userId": user_id})["userId"]
        return Response(
            {
                "guildId": str(guild.guild_id),
                "userId": str(user),
                **selectors.user_cases(guild.guild_id, user),
                "membership": invite_selectors.membership(guild.guild_id, user),
            }
        )
