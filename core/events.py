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
