"""/api/guilds/{guildId}/invites/…: inviter counts and active invites, and member growth.
Same auth and guild scoping as the stats API."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from guilds.api.openapi import GUILD_PATH, responses
from guilds.api.views import ApiViewSet, guild_in_scope, valid
from guilds.selectors import zone_of
from invites import selectors
from invites.api import serializers as s


class InvitesViewSet(ApiViewSet):
    lookup_field = "guild_id"

    @extend_schema(
        parameters=[GUILD_PATH, s.InviteStatsQuery],
        responses=responses(s.InviteStats),
        summary="Top inviters and active invites",
    )
    @action(detail=False, methods=["get"])
    def stats(self, request: Request, guild_id: str) -> Response:
        guild = guild_in_scope(request, guild_id)
        q = valid(s.InviteStatsQuery, request.query_params)
        return Response(
            selectors.invite_stats(guild.guild_id, limit=q["limit"], now=timezone.now())
        )

    @extend_schema(
        parameters=[GUILD_PATH, s.GrowthQuery],
        responses=responses(s.Growth),
        summary="Joins, leaves and net per day; retention of new members after 1, 7, 30 days",
    )
    @action(detail=False, methods=["get"])
    def growth(self, request: Request, guild_id: str) -> Response:
        guild = guild_in_scope(request, guild_id)
        q = valid(s.GrowthQuery, request.query_params)
        now = timezone.now()
        today = now.astimezone(zone_of(guild.timezone or "UTC")).date()
        since = today - timedelta(days=q["days"] - 1)
        return Response(
            {
                "guildId": str(guild.guild_id),
                "days": selectors.growth(guild.guild_id, since, today),
                "totals": selectors.totals(guild.guild_id),
                "retention": selectors.retention(guild.guild_id, now),
            }
        )
