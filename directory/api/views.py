"""GET /api/guilds/{guildId}/directory: the guild's channels and roles by name (members' names
come with every answer that lists members)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from directory import selectors, shapes
from guilds.api.views import ApiViewSet, guild_action
from guilds.models import Guild


class DirectoryViewSet(ApiViewSet):
    lookup_field = "guild_id"

    @guild_action(shape=shapes.Directory, summary="Channels and roles by name")
    def directory(self, request: Request, guild: Guild, q: dict[str, Any]) -> Response:
        return Response(selectors.directory(guild.guild_id))
