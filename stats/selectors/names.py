"""Names for the ids in an answer (directory.selectors): added to rows already built, in one
query per thousand ids, so that every list the API and the pages show names its people and
channels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.times import iso
from directory.selectors import (
    channel_names,
    joined_dates,
    member_names,
    unknown_channel,
    unknown_member,
)

BATCH = 1_000


def with_member_names(guild_id: int, rows: Sequence[Any]) -> None:
    """Add ``displayName``, ``username``, ``avatarUrl`` to each row (by its ``userId``); a row
    with ``joinedAt`` null gets the directory's (Discord's join date) when it knows one."""
    for start in range(0, len(rows), BATCH):
        part = rows[start : start + BATCH]
        names = member_names(guild_id, (int(row["userId"]) for row in part))
        for row in part:
            row.update(names.get(int(row["userId"])) or unknown_member())
        unknown = [row for row in part if "joinedAt" in row and row["joinedAt"] is None]
        if unknown:
            joined = joined_dates(guild_id, (int(row["userId"]) for row in unknown))
            for row in unknown:
                row["joinedAt"] = iso(joined.get(int(row["userId"])))


def with_channel_names(guild_id: int, rows: Sequence[Any]) -> None:
    """Add ``name``, ``type``, ``deleted`` to each row (by its ``channelId``)."""
    names = channel_names(guild_id, (int(row["channelId"]) for row in rows))
    for row in rows:
        row.update(names.get(int(row["channelId"])) or unknown_channel())
