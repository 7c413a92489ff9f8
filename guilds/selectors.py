"""Reads of guild settings for the processors."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from guilds.models import ApiKey, Guild, GuildAccess


@dataclass(frozen=True)
class CountingSettings:
    """What decides whether and on which day an event of a guild is counted."""

    tz: zoneinfo.ZoneInfo
    is_utc: bool
    excluded_channel_ids: frozenset[int]
    count_bots: bool


DEFAULT_COUNTING = CountingSettings(
    tz=zoneinfo.ZoneInfo("UTC"), is_utc=True, excluded_channel_ids=frozenset(), count_bots=False
)


@lru_cache(maxsize=512)
def zone_of(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def counting_settings(guild_ids: Iterable[int]) -> dict[int, CountingSettings]:
    """Counting settings of the guilds that have a row (callers default the others)."""
    found: dict[int, CountingSettings] = {}
    rows = Guild.objects.filter(guild_id__in=list(guild_ids)).values_list(
        "guild_id", "timezone", "excluded_channel_ids", "count_bots"
    )
    for guild_id, tz_name, excluded, count_bots in rows:
        zone = zone_of(tz_name or "UTC")
        found[guild_id] = CountingSettings(
            tz=zone,
            is_utc=zone.key == "UTC",
            excluded_channel_ids=frozenset(_ints(excluded)),
            count_bots=count_bots,
        )
    return found


def _ints(values: object) -> list[int]:
    if not isinstance(values, list):
        return []
    out = []
    for value in values:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return out


@dataclass
class ApiKeyPrincipal:
    """The caller behind an API key; DRF wants a user-like object."""

    key: ApiKey
    guild_ids: frozenset[int] = field(default_factory=frozenset)
    is_authenticated: bool = True
    is_superuser: bool = False
    is_staff: bool = False

    @property
    def pk(self) -> str:  # used by DRF throttling to tell callers apart
        return f"apikey:{self.key.pk}"


def accessible_guilds(user: object):  # -> QuerySet[Guild]
    """The guilds a caller may read: an API key's guilds; for a Discord login, the guilds it
    manages; every guild for a superuser session."""
    if isinstance(user, ApiKeyPrincipal):
        return Guild.objects.filter(guild_id__in=user.guild_ids)
    if getattr(user, "is_superuser", False):
        return Guild.objects.all()
    if getattr(user, "is_authenticated", False):  # "Login with Discord"
        return Guild.objects.filter(
            guild_id__in=GuildAccess.objects.filter(user=user).values("guild_id")
        )
    return Guild.objects.none()


GUILD_CACHE_SECONDS = 30


def guild_cache_key(guild_id: int) -> str:
    return f"guild:{guild_id}"


def cached_guild(guild_id: int) -> Guild | None:
    """A guild's row from the cache (Redis when configured) for up to 30 s: API calls read its
    time zone and settings on every request. Saving a guild drops the entry (guilds.signals);
    changes made by the bot's guild events (bulk updates) show within 30 s."""
    from django.core.cache import cache

    guild = cache.get(guild_cache_key(guild_id))
    if guild is None:
        guild = Guild.objects.filter(guild_id=guild_id).first()
        if guild is not None:
            cache.set(guild_cache_key(guild_id), guild, GUILD_CACHE_SECONDS)
    return guild
