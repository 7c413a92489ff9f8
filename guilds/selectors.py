"""Reads of guild settings for the processors, and of the guilds' collection windows."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Max, Min, QuerySet
from guildstats_contract.ids import EPOCH

from core.times import instant
from guilds.models import ApiKey, CollectionWindow, Guild, GuildAccess
from guilds.shapes import PeriodCoverage


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


def accessible_guilds(
    user: AbstractBaseUser | AnonymousUser | ApiKeyPrincipal,
) -> QuerySet[Guild]:
    """The guilds a caller may read: an API key's guilds; for a Discord login, the guilds it
    manages; every guild for a superuser session."""
    if isinstance(user, ApiKeyPrincipal):
        return Guild.objects.filter(guild_id__in=user.guild_ids)
    if getattr(user, "is_superuser", False):
        return Guild.objects.all()
    if isinstance(user, User):  # "Login with Discord" (an AnonymousUser reads none)
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

    guild: Guild | None = cache.get(guild_cache_key(guild_id))
    if guild is None:
        guild = Guild.objects.filter(guild_id=guild_id).first()
        if guild is not None:
            cache.set(guild_cache_key(guild_id), guild, GUILD_CACHE_SECONDS)
    return guild


# --- Collection windows (written by guilds.coverage) -----------------------------------------
GAPS_LIMIT = 50  # the latest gaps a period's coverage lists


@dataclass(frozen=True)
class Coverage:
    """When a guild's events were being collected, as far as its windows tell.

    ``tracked_since`` is the start of the guild's first window: before it nothing is known
    (time the guild had no heartbeating collector yet is "unknown", not "not covered").
    ``spans`` are the covered stretches overlapping the range asked for, merged and in order:
    each window up to its newest heartbeat, the guild's newest window up to ``open_until``."""

    tracked_since: datetime
    spans: tuple[tuple[datetime, datetime], ...]

    def covers(self, start: datetime, end: datetime) -> bool | None:
        """Whether ``[start, end)`` overlaps a covered stretch; None when it ends before the
        guild's first window."""
        if end <= self.tracked_since:
            return None
        return any(s < end and (e > start or (s == e and s >= start)) for s, e in self.spans)

    def gaps(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The stretches of ``[start, end)`` that no window covers, in order."""
        out, at = [], start
        for s, e in self.spans:
            if s > at:
                out.append((at, min(s, end)))
            at = max(at, e)
            if at >= end:
                break
        if at < end:
            out.append((at, end))
        return [(s, e) for s, e in out if s < e]


def coverage(guild_id: int, since: datetime, until: datetime) -> Coverage | None:
    """The guild's collection windows overlapping ``[since, until)``; None when the guild has
    never had one (its bot sends no heartbeats: coverage unknown). Two queries."""
    bounds = CollectionWindow.objects.filter(guild_id=guild_id).aggregate(
        first=Min("started_at"), newest=Max("ended_at")
    )
    if bounds["first"] is None:
        return None
    rows = (
        CollectionWindow.objects.filter(
            guild_id=guild_id, started_at__lt=until, open_until__gte=since
        )
        .order_by("started_at")
        .values_list("started_at", "ended_at", "open_until")
    )
    spans: list[tuple[datetime, datetime]] = []
    for started, ended, open_until in rows:
        end = open_until if ended >= bounds["newest"] else ended
        if spans and started <= spans[-1][1] + CollectionWindow.MERGE_GAP:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((started, end))
    return Coverage(bounds["first"], tuple(spans))


def period_coverage(
    guild_id: int, start: datetime | None, end: datetime, now: datetime
) -> PeriodCoverage:
    """The ``coverage`` of a period ``[start, end)`` (``start`` None: all time), measured from
    the later of its start and the guild's first window to the earlier of its end and now:
    ``covered`` (null: no window ever; true: no gap), the seconds covered and measured,
    ``trackedSince`` and the latest ``GAPS_LIMIT`` gaps."""
    found = coverage(guild_id, start or EPOCH, min(end, now))
    if found is None:
        return {
            "covered": None,
            "coveredSeconds": None,
            "periodSeconds": None,
            "trackedSince": None,
            "gaps": [],
        }
    begin = max(start or found.tracked_since, found.tracked_since)
    stop = max(min(end, now), begin)
    gaps = found.gaps(begin, stop)
    measured = (stop - begin).total_seconds()
    missing = sum((e - s).total_seconds() for s, e in gaps)
    return {
        "covered": not gaps,
        "coveredSeconds": round(measured - missing),
        "periodSeconds": round(measured),
        "trackedSince": instant(found.tracked_since),
        "gaps": [{"start": instant(s), "end": instant(e)} for s, e in gaps[-GAPS_LIMIT:]],
    }
