"""Message and reaction processors: pure functions of the events into ``CounterDeltas``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from stats.services.counting import CounterDeltas

if TYPE_CHECKING:
    from core.events import StoredEvent


def apply_message_events(events: Sequence[StoredEvent], deltas: CounterDeltas) -> None:
    """MESSAGE_CREATE → total/daily/per-channel messages, lastMessageAt, lastSeen."""
    for event in events:
        if event.user_id is None or event.channel_id is None:
            continue
        if deltas.is_counted(event.guild_id, event.user_id, event.channel_id) and deltas.counts_raw(
            event.guild_id, event.timestamp
        ):
            deltas.add_message(event.guild_id, event.user_id, event.channel_id, event.timestamp)


def apply_reaction_events(events: Sequence[StoredEvent], deltas: CounterDeltas) -> None:
    """MESSAGE_REACTION_ADD → given (the reactor) and received (the message's author).

    A self-reaction is given but not received; a bot's reaction counts for nobody; a reaction to
    a bot's message is given but not received. Removals are stored raw and not subtracted.
    """
    for event in events:
        if event.user_id is None:
            continue
        guild_id, user_id = event.guild_id, event.user_id
        if not deltas.is_counted(guild_id, user_id, event.channel_id):
            continue
        if not deltas.counts_raw(guild_id, event.timestamp):
            continue
        deltas.add_reaction_given(guild_id, user_id, event.timestamp)
        data = event.data if isinstance(event.data, dict) else {}
        try:
            author = int(data["messageAuthorId"]) if data.get("messageAuthorId") else None
        except (TypeError, ValueError):
            author = None
        if author is not None and author != user_id and deltas.is_counted(guild_id, author, None):
            deltas.add_reaction_received(guild_id, author, event.timestamp)
