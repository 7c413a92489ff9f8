"""GET /api/guilds/ — the caller's guilds; and what every guild-scoped view shares: the query
validator, the guild scope check and ``?format=`` negotiation."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404, QueryDict
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.renderers import CSVRenderer, JSONRenderer
from guilds.api.fields import parse_snowflake
from guilds.api.openapi import GUILD_PATH, responses
from guilds.models import Guild
from guilds.selectors import ApiKeyPrincipal, accessible_guilds, cached_guild


def valid(serializer_class: type[serializers.Serializer[None]], data: object) -> dict[str, Any]:
    """Query parameters validated by a DRF serializer: a bad value answers 400 naming the
    field (``{"field": ["reason"]}``). A query string is read as plain values (the last of a
    repeated name), so an empty parameter (``?period=``) is refused like any bad value rather
    than taken for "not given" as DRF does with form input."""
    if isinstance(data, QueryDict):
        items = tuple(data.items())  # the last value of each name, as ``dict()`` keeps
        if sum(len(k) + len(v) for k, v in items) <= MEMO_QUERY_CHARS:
            return dict(_valid_query(serializer_class, items))
        data = dict(items)
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    validated: dict[str, Any] = serializer.validated_data
    return validated


# A DRF serializer deep-copies its declared fields for every instance: validating a query took
# 0.13 ms (leaderboard) to 0.28 ms (members) of a cached answer's 2-3 ms of CPU. Validating a
# query string is a pure function of it (no context, no clock), and dashboards ask the same few
# again and again, so the answers for short query strings are remembered per process (bounded;
# a refused one is not remembered and raises every time).
MEMO_QUERY_CHARS = 256


@lru_cache(maxsize=1024)
def _valid_query(
    serializer_class: type[serializers.Serializer[None]], items: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    serializer = serializer_class(data=dict(items))
    serializer.is_valid(raise_exception=True)
    validated: dict[str, Any] = serializer.validated_data
    return validated


def guild_in_scope(request: Request, guild_id: str) -> Guild:
    """The guild if the caller may read it; 404 otherwise (no hint that it exists), also for
    anything that is not a Discord id."""
    wanted = parse_snowflake(guild_id)
    if wanted is None:
        raise Http404
    if isinstance(request.user, ApiKeyPrincipal):  # the key's guilds are already known
        guild = cached_guild(wanted) if wanted in request.user.guild_ids else None
    else:
        guild = accessible_guilds(request.user).filter(guild_id=wanted).first()
    if guild is None:
        raise Http404
    return guild


class FormatNegotiation(DefaultContentNegotiation):
    """``?format=`` must name one of the endpoint's renderers: anything else (also an empty
    value) answers 400 naming ``format``, where DRF answers 404."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)  # read twice below
        wanted = request.query_params.get(api_settings.URL_FORMAT_OVERRIDE)
        known = [renderer.format for renderer in renderers]
        if wanted is not None and format_suffix is None and wanted not in known:
            raise ValidationError({"format": [f"must be one of {', '.join(known)}."]})
        return super().select_renderer(request, renderers, format_suffix)


class ApiViewSet(viewsets.ViewSet):
    content_negotiation_class = FormatNegotiation


GuildMethod = Callable[..., Response]


def guild_action(
    *,
    shape: Any,
    query: type[serializers.Serializer[None]] | None = None,
    summary: str | None = None,
    parameters: Sequence[Any] = (),
    csv: bool = False,
    url_path: str | None = None,
) -> Callable[[GuildMethod], GuildMethod]:
    """A GET action under /api/guilds/{guildId}/…, with the preamble every one shares: the
    guild checked in the caller's scope (404 otherwise, also for what is not an id), the query
    validated by ``query`` (400 naming the field), and the documentation (the guild path, the
    query's parameters, ``shape`` on 200 with the error answers; ``csv``: also text/csv). The
    method is called as ``method(self, request, guild, query, **path)``."""

    def decorate(method: GuildMethod) -> GuildMethod:
        @functools.wraps(method)
        def run(self: Any, request: Request, guild_id: str, **path: str) -> Response:
            guild = guild_in_scope(request, guild_id)
            validated = valid(query, request.query_params) if query is not None else {}
            return method(self, request, guild, validated, **path)

        options: dict[str, Any] = {"detail": False, "methods": ["get"]}
        if url_path is not None:
            options["url_path"] = url_path
        if csv:
            options["renderer_classes"] = [JSONRenderer, CSVRenderer]
        documented = extend_schema(
            parameters=[GUILD_PATH, *([query] if query is not None else []), *parameters],
            responses=responses(shape, csv=csv),
            summary=summary,
        )
        return documented(action(**options)(run))

    return decorate


class GuildSerializer(serializers.ModelSerializer[Guild]):
    guildId = serializers.CharField(source="guild_id")
    memberCount = serializers.IntegerField(source="member_count")
    isActive = serializers.BooleanField(source="is_active")

    class Meta:
        model = Guild
        fields = ("guildId", "name", "icon", "memberCount", "isActive", "timezone")


class GuildViewSet(ApiViewSet):
    @extend_schema(
        responses=responses(GuildSerializer(many=True), codes=(400, 401, 429)),
        summary="The caller's guilds",
    )
    def list(self, request: Request) -> Response:
        guilds = accessible_guilds(request.user)
        if settings.API_CACHE_SECONDS <= 0:
            return Response(_guild_list(guilds))
        # Like every other JSON read, the list is served from the cache for API_CACHE_SECONDS,
        # keyed by the set of guilds the caller may read (an API key's ids are cached with its
        # principal; a Discord login's are one indexed query), so a regrant shows at once and a
        # renamed guild within the cache's 30 s.
        ids = (
            sorted(request.user.guild_ids)
            if isinstance(request.user, ApiKeyPrincipal)
            else (sorted(guilds.values_list("guild_id", flat=True)))
        )
        digest = hashlib.blake2b(",".join(map(str, ids)).encode(), digest_size=16).hexdigest()
        return Response(
            cache.get_or_set(
                f"api:guilds:{digest}",
                lambda: _guild_list(guilds),
                timeout=settings.API_CACHE_SECONDS,
            )
        )


def _guild_list(guilds: QuerySet[Guild]) -> list[dict[str, Any]]:
    return list(GuildSerializer(guilds.order_by("guild_id"), many=True).data)


class WhoAmISerializer(serializers.Serializer[dict[str, str]]):
    kind = serializers.ChoiceField(choices=["apiKey", "user"])
    name = serializers.CharField()


class WhoAmIView(APIView):
    """``GET /api/whoami``: what the credentials are (an API key's name, a user's username),
    read from the authentication alone: a key can be checked without naming a guild, and it is
    the floor of every API answer (authentication, throttle, rendering) in bench/api_bench.py."""

    content_negotiation_class = FormatNegotiation

    @extend_schema(
        responses=responses(WhoAmISerializer, codes=(401, 429)),
        summary="The caller's credentials",
    )
    def get(self, request: Request) -> Response:
        if isinstance(request.user, ApiKeyPrincipal):
            return Response({"kind": "apiKey", "name": request.user.key.name})
        return Response({"kind": "user", "name": request.user.get_username()})
