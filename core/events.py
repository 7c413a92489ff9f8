"""The stored event that processing hands to every event handler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class StoredEvent:
    id: int
    type: str
    guild_id: int
    user_id: int | None
    channel_id: int | None
    timestamp: datetime
    data: dict[str, Any] | None
    # The author is a bot account (``data.bot`` is true); read separately so that events whose
    # processors need no ``data`` do not have to load it.
    bot: bool = False
    batch_id: int = 0
    # The Discord shard the bot named (``shardId``) and the bot token its batch came with
    # (``ingest_batches.bot_token_id``): GUILD_SYNC deactivates only that shard's and bot's
    # guilds. None when unknown (a quarantined event replayed, a token since deleted).
    shard_id: int | None = None
    bot_token_id: int | None = None
