"""Coverage heartbeats per shard: start, alive (chained), stop on disconnect, start on resume;
one GUILD_SYNC per shard listing that shard's guilds only."""

from __future__ import annotations

import pytest

from collector.tests.conftest import ORIGIN_MS
from collector.tests.gateway import GUILD_ID, fixture

pytestmark = pytest.mark.asyncio

# (id >> 22) % 2 == 1: a guild of shard 1 when the bot runs two shards
SECOND_GUILD = (((GUILD_ID >> 22) | 1) + (0 if (GUILD_ID >> 22) % 2 == 0 else 1)) << 22


def heartbeats(events):
    return [
        (
            e["shardId"],
            e["data"]["state"],
            e["data"]["since"],
            e["timestamp"],
            e["data"]["guildIds"],
        )
        for e in events
        if e["type"] == "COLLECTOR_HEARTBEAT"
    ]


async def test_heartbeats_chain_their_windows(gateway, frozen):
    gateway.take()
    frozen.shift(60)
    gateway.cog.coverage.beat()
    frozen.shift(60)
    gateway.cog.coverage.beat()
    frozen.shift(5)
    await gateway.cog.on_disconnect()
    frozen.shift(20)
    await gateway.cog.on_resumed()
    await gateway.settle()
    g = [str(GUILD_ID)]
    t = ORIGIN_MS
    assert heartbeats(gateway.take()) == [
        (0, "alive", t, t + 60_000, g),
        (0, "alive", t + 60_000, t + 120_000, g),
        (0, "stop", t + 120_000, t + 125_000, g),
        (0, "start", t + 145_000, t + 145_000, g),
    ]


async def test_each_shard_syncs_its_own_guilds(gateway):
    assert (SECOND_GUILD >> 22) % 2 == 1 and (GUILD_ID >> 22) % 2 == 0
    gateway.feed(
        "GUILD_CREATE",
        id=str(SECOND_GUILD),
        name="Guild Two",
        members=[],
        roles=[{**fixture("GUILD_CREATE")["roles"][0], "id": str(SECOND_GUILD)}],
    )
    await gateway.settle()
    gateway.take()
    gateway.bot.shard_count = 2
    gateway.bot.shards = {0: None, 1: None}  # as an AutoShardedBot has
    await gateway.cog.on_shard_disconnect(0)  # reconnected as two shards
    await gateway.cog.on_shard_ready(1)  # an AutoShardedBot's shard ready, then its on_ready
    await gateway.cog.on_ready()
    await gateway.cog.on_ready()  # again (a resumed session): nothing synced twice
    await gateway.settle()
    syncs = [
        (e["shardId"], e["data"]["shardCount"], [g["id"] for g in e["data"]["guilds"]])
        for e in gateway.take()
        if e["type"] == "GUILD_SYNC"
    ]
    assert syncs == [(1, 2, [str(SECOND_GUILD)]), (0, 2, [str(GUILD_ID)])]
    del gateway.bot.shards
