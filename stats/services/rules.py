"""The counting rules, set up in one place: each guild's counting settings (bots counted or not,
excluded channels, time zone), its known bot accounts and, for a chunk, since when its activity
comes from bot snapshots. Built once per processing chunk (``chunk_deltas``, the factory of the
``"counting"`` context every counting handler shares), per range of the Python rollup engine and
per sweep of stale voice sessions (``counting_rules``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from core.events import StoredEvent
from guilds.selectors import counting_settings
from stats.services.bots import known_bots
from stats.services.counting import CounterDeltas
from stats.services.snapshots import load_snapshot_sources

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from guilds.models import Guild

CONTEXT = "counting"
Rows = TypeVar("Rows", bound="QuerySet[Any]")


def counted_rows(rows: Rows, guild: Guild) -> Rows:
    """The readers' side of the bot rule (``CounterDeltas.is_counted`` applies it when counting,
    the SQL rollup engine in its ``settings``/``bots`` CTEs): member rows keep bots, flagged, so
    that changing ``count_bots`` applies to what was counted before; a guild that does not count
    bots reads without them."""
    return rows if guild.count_bots else rows.filter(is_bot=False)


def bots_hidden(guild: Guild) -> bool:
    """Whether readers leave bots out (the guild does not count them)."""
    return not guild.count_bots


def counting_rules(guild_ids: Iterable[int]) -> CounterDeltas:
    """Empty deltas that know these guilds' counting settings and bot accounts."""
    guilds = set(guild_ids)
    return CounterDeltas(counting_settings(guilds), known_bots(guilds))


def chunk_deltas(events: Sequence[StoredEvent]) -> CounterDeltas:
    """The deltas a chunk's counting handlers share (``events``: the chunk's events of their
    types): the rules of their guilds, since when each guild's activity comes from its bot's
    snapshots, and the bot accounts the events themselves reveal."""
    deltas = counting_rules({e.guild_id for e in events})
    load_snapshot_sources({e.guild_id for e in events}, deltas)
    for event in events:
        if event.bot and event.user_id is not None:
            deltas.mark_bot(event.guild_id, event.user_id)
    return deltas
