"""Shared names of the listener tests (``test_listener_*.py``): the recorded guild's ids,
Discord times of snowflakes and ISO strings in ms, and client ids made comparable."""

from __future__ import annotations

import json
import re
import zlib
from datetime import datetime
from typing import Any

import discord
from guildstats_collector.directory import ID_PREFIXES

from collector.tests.gateway import GUILD_ID, fixture

G = str(GUILD_ID)
OWNER, ALICE, BOB = "1300000000000000201", "1300000000000000202", "1300000000000000203"
GENERAL, VOICE_A, VOICE_B = "1300000000000000300", "1300000000000000301", "1300000000000000302"
MSG = fixture("MESSAGE_CREATE")["id"]
UUID = re.compile(r"[0-9a-f]{32}")


def at(snowflake: str) -> int:
    return int(discord.utils.snowflake_time(int(snowflake)).timestamp() * 1000)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def norm(events: list[dict]) -> list[dict]:
    """Random client ids become "<uuid>" (checked to be one); natural ids stay."""
    for event in events:
        if not event["id"].startswith(("mc-", "md-", "mdb-", "al-", *ID_PREFIXES)):
            assert UUID.fullmatch(event["id"]), event["id"]
            event["id"] = "<uuid>"
    return events


def change_id(prefix: str, entity: str, timestamp: int, data: dict[str, Any]) -> str:
    """A directory change's client id: the entity, the moment, a checksum of the data."""
    digest = zlib.crc32(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
    return f"{prefix}-{entity}-{timestamp}-{digest:08x}"
