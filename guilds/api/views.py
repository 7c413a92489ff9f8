"""GET /api/guilds/ — the caller's guilds."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from guilds.api.authentication import ApiKeyPrincipal
from guilds.models import Guild
from guilds.selectors import accessible_guilds, cached_guild

SNOWFLAKE_MAX = 2**63 - 1
# The {guild_id} of every guild-scoped API path, for the OpenAPI schema.
GUILD_PATH = OpenApiParameter("guild_id", str, OpenApiParameter.PATH, description="guild id")


def valid(serializer_class: type, data: object) -> dict:
    """Query parameters validated by a DRF serializer: a bad value answers 400 naming the
    field (``{"field": ["reason"]}``)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def guild_in_scope(request: Request, guild_id: str) -> Guild:
    """The guild if the caller may read it; 404 otherwise (no hint that it exists)."""
    if not guild_id.isdigit() or not 0 < int(guild_id) <= SNOWFLAKE_MAX:
        raise Http404
    wanted = int(guild_id)
    if isinstance(request.user, ApiKeyPrincipal):  # the key's guilds are already known
        guild = cached_guild(wanted) if wanted in request.user.guild_ids else None
    else:
        guild = accessible_guilds(request.user).filter(guild_id=wanted).first()
    if guild is None:
        raise Http404
    return guild


class GuildSerializer(serializers.ModelSerializer):
    guildId = serializers.CharField(source="guild_id")
    memberCount = serializers.IntegerField(source="member_count")
    isActive = serializers.BooleanField(source="is_active")

    class Meta:
        model = Guild
        fields = ("guildId", "name", "icon", "memberCount", "isActive", "timezone")


class GuildViewSet(viewsets.ViewSet):
    @extend_schema(responses=GuildSerializer(many=True), summary="The caller's guilds")
    def list(self, request: Request) -> Response:
        guilds = accessible_guilds(request.user).order_by("guild_id")
        return Response(GuildSerializer(guilds, many=True).data)
