"""Recorded gateway dispatches through discord.py's own parsers into the cog: the start (guild
sync, state and coverage), guild updates, disabled types and the coverage stop at unload, as
guildstats receives them (through the spool, a frame and an ack)."""

from __future__ import annotations

import re

import pytest
from guildstats_collector.config import BatchPolicy, Settings

from collector.tests.conftest import ORIGIN_MS
from collector.tests.gateway import Gateway
from collector.tests.listeners import OWNER, G, norm

pytestmark = pytest.mark.asyncio


async def test_ready_syncs_the_shard_its_state_and_starts_coverage(gateway):
    events = norm(gateway.take())
    # and the guild's directory, as soon as it is built (its content: test_listener_directory)
    assert [e["type"] for e in events].count("GUILD_DIRECTORY") == 1
    events = [e for e in events if e["type"] != "GUILD_DIRECTORY"]
    snapshot = events[1]["data"]["snapshotId"]
    assert re.fullmatch(r"[0-9a-f]{32}", snapshot)
    assert events == [
        {
            "type": "GUILD_SYNC",
            "guildId": G,
            "timestamp": ORIGIN_MS,
            "shardId": 0,
            "data": {
                "guilds": [
                    {
                        "id": G,
                        "name": "Guild One",
                        "icon": "a1b2c3",
                        "ownerId": OWNER,
                        "memberCount": 3,
                        "features": ["COMMUNITY", "VANITY_URL"],
                        "premiumTier": 1,
                        "premiumSubscriptionCount": 4,
                    }
                ],
                "shardCount": 1,
            },
            "id": "<uuid>",
        },
        {  # first start: no gap known (no earlier heartbeat in the spool)
            "type": "GUILD_STATE",
            "guildId": G,
            "timestamp": ORIGIN_MS,
            "shardId": 0,
            "data": {"snapshotId": snapshot, "reason": "ready", "memberCount": 3, "voice": []},
            "id": "<uuid>",
        },
        {
            "type": "COLLECTOR_HEARTBEAT",
            "guildId": G,
            "timestamp": ORIGIN_MS,
            "shardId": 0,
            "data": {
                "state": "start",
                "since": ORIGIN_MS,
                "intervalSeconds": 60,
                "shardCount": 1,
                "guildIds": [G],
            },
            "id": "<uuid>",
        },
        {  # the invite part of the same snapshot, once fetched (the guild has none)
            "type": "GUILD_STATE",
            "guildId": G,
            "timestamp": ORIGIN_MS,
            "shardId": 0,
            "data": {"snapshotId": snapshot, "reason": "ready", "invites": []},
            "id": "<uuid>",
        },
    ]
    # the invite cache was filled at start (one fetch for the one guild)
    assert gateway.invites.calls == 1


async def test_guild_update_and_delete(gateway):
    gateway.take()
    gateway.feed("GUILD_UPDATE")
    gateway.feed("GUILD_DELETE")
    await gateway.settle()
    base = {"guildId": G, "timestamp": ORIGIN_MS, "id": "<uuid>"}
    assert norm(gateway.take()) == [
        {
            **base,
            "type": "GUILD_UPDATE",
            "data": {
                "id": G,
                "changes": {
                    "name": {"old": "Guild One", "new": "Guild One Renamed"},
                    "premiumTier": {"old": 1, "new": 2},
                    "premiumSubscriptionCount": {"old": 4, "new": 7},
                },
            },
        },
        {**base, "type": "GUILD_DELETE", "data": {"id": G}},
    ]


async def test_disabled_types_are_not_sent(tmp_path, frozen):
    settings = Settings(
        default_policy=BatchPolicy(1, 0.0),
        disabled_types=frozenset({"MESSAGE_CREATE", "GUILD_SYNC"}),
        directory=False,  # GUILDSTATS_DIRECTORY=false: no snapshot, no member seen first
    )
    gateway = await Gateway(settings, tmp_path / "spool.sqlite3").start()
    try:
        gateway.feed("MESSAGE_CREATE")
        gateway.feed("GUILD_BAN_ADD")
        await gateway.settle()
        assert [e["type"] for e in gateway.take()] == [
            "GUILD_STATE",  # the voice roster and member count at ready
            "COLLECTOR_HEARTBEAT",
            "GUILD_STATE",  # the invite list, once fetched
            "GUILD_BAN_ADD",
        ]
    finally:
        await gateway.close()


async def test_unload_sends_the_coverage_stop(gateway):
    gateway.take()
    await gateway.bot.remove_cog(gateway.cog.qualified_name)
    (stop,) = norm(gateway.transport.events)
    assert stop["type"] == "COLLECTOR_HEARTBEAT"
    assert stop["data"] == {
        "state": "stop",
        "since": ORIGIN_MS,
        "intervalSeconds": 60,
        "shardCount": 1,
        "guildIds": [G],
    }
    await gateway.bot.add_cog(gateway.cog)  # so that the fixture's close finds it
