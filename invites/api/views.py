"""/api/guilds/{guildId}/invites/…: inviter counts and active invites, and member growth.
Same auth and guild scoping as the stats API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from guilds.api.views import ApiViewSet, guild_action
from guilds.models import Guild
from guilds.selectors import zone_of
from invites import selectors, shapes
from invites.api import serializers as s


class InvitesViewSet(ApiViewSet):
    lookup_field = "guild_id"

    @guild_action(
        shape=shapes.InviteStats,
        query=s.InviteStatsQuery,
        summary="Top inviters and active invites",
    )
    def stats(self, request: Request, guild: Guild, q: dict[str, Any]) -> Response:
        return Response(
            selectors.invite_stats(guild.guild_id, limit=q["limit"], now=timezone.now())
        )

    @guild_action(
        shape=shapes.Growth,
        query=s.GrowthQuery,
        summary="Joins, leaves and net per day; retention of new members after 1, 7, 30 days",
    )
    def growth(self, request: Request, guild: Guild, q: dict[str, Any]) -> Response:
        now = timezone.now()
        today = now.astimezone(zone_of(guild.timezone or "UTC")).date()
        since = today - timedelta(days=q["days"] - 1)
        body: shapes.Growth = {
            "guildId": str(guild.guild_id),
            "days": selectors.growth(guild.guild_id, since, today),
            "totals": selectors.totals(guild.guild_id),
            "retention": selectors.retention(guild.guild_id, now),
        }
        return Response(body)
