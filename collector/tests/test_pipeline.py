"""listener → spool → frame → ack, against scripted server answers: retries with capped,
jittered backoff, 413 splits, dead letters, a refused token, replay after a restart."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from guildstats_collector.config import BatchPolicy, Settings
from guildstats_collector.pipeline import BotTokenRefused, Collector
from guildstats_collector.spool import Spool
from guildstats_collector.transport import Response, TransientError

from collector.tests.gateway import AckingTransport

pytestmark = pytest.mark.asyncio

NOW = BatchPolicy(1, 0.0)


def message(n: int, guild: str = "1300000000000000100") -> dict:
    return {
        "type": "MESSAGE_CREATE",
        "guildId": guild,
        "timestamp": 1796128200000 + n,
        "userId": "1300000000000000202",
        "channelId": "1300000000000000300",
        "id": f"ev-{n}",
    }


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


class Down:
    """guildstats unreachable, for as long as it takes."""

    async def post(self, body: bytes) -> Response:
        raise TransientError("refused")

    async def close(self) -> None:
        pass


def collector(tmp_path, transport, *, settings=None, sleeps=None) -> Collector:
    return Collector(
        settings or Settings(default_policy=NOW),
        transport=transport,
        spool=Spool(str(tmp_path / "spool.sqlite3")),
        sleep=sleeps or Sleeps(),
        rng=random.Random(7),
    )


async def test_everything_acked_leaves_the_spool(tmp_path):
    transport = AckingTransport()
    c = collector(tmp_path, transport)
    await c.start()
    for n in range(5):
        c.emit(message(n))
    assert await c.wait_drained(5)
    assert [e["id"] for e in transport.events] == [f"ev-{n}" for n in range(5)]
    assert (c.counters.accepted, c.spool.count) == (5, 0)
    await c.stop()


async def test_outage_retries_with_capped_jittered_backoff(tmp_path):
    transport = AckingTransport()
    transport.answers = [TransientError("refused")] * 3 + [Response(503, text="down")] * 8
    sleeps = Sleeps()
    settings = Settings(default_policy=NOW, backoff_base=0.5, backoff_cap=8.0)
    c = collector(tmp_path, transport, settings=settings, sleeps=sleeps)
    await c.start()
    c.emit(message(1))
    assert await c.wait_drained(5)
    assert [e["id"] for e in transport.events] == ["ev-1"]
    ceilings = [min(8.0, 0.5 * 2**i) for i in range(11)]
    assert len(sleeps.delays) == 11
    for delay, ceiling in zip(sleeps.delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(sleeps.delays)) == 11  # jittered, not in lockstep
    assert c.counters.retries == 11
    await c.stop()


async def test_429_waits_retry_after(tmp_path):
    transport = AckingTransport()
    transport.answers = [Response(429, retry_after=2.5)]
    sleeps = Sleeps()
    c = collector(tmp_path, transport, sleeps=sleeps)
    await c.start()
    c.emit(message(1))
    assert await c.wait_drained(5)
    assert sleeps.delays == [2.5]
    await c.stop()


async def test_413_splits_the_frame(tmp_path):
    transport = AckingTransport()
    transport.answers = [Response(413, text="too large"), Response(413, text="too large")]
    settings = Settings(default_policy=BatchPolicy(4, 10.0))
    c = collector(tmp_path, transport, settings=settings)
    for n in range(4):
        c.emit(message(n))
    c.flush()
    await c.start()
    assert await c.wait_drained(5)
    # 4 → 413; 2 → 413; 1, 1, then the other half of 2
    assert [[e["id"] for e in f] for f in transport.frames] == [
        ["ev-0"],
        ["ev-1"],
        ["ev-2", "ev-3"],
    ]
    await c.stop()


async def test_a_lone_event_refused_is_dead_lettered(tmp_path):
    transport = AckingTransport()
    transport.answers = [Response(413, text="frame of 9 bytes exceeds the limit")]
    c = collector(tmp_path, transport)
    await c.start()
    c.emit(message(1))
    assert await c.wait_drained(5)
    assert transport.frames == []
    ((_, kind, reason, body),) = c.spool.dead_letters()
    assert (kind, reason) == ("MESSAGE_CREATE", "413: frame of 9 bytes exceeds the limit")
    assert json.loads(body)["id"] == "ev-1"
    await c.stop()


async def test_rejected_events_are_dead_lettered_the_rest_deleted(tmp_path):
    transport = AckingTransport()
    ack = {
        "type": "ack",
        "accepted": 1,
        "duplicates": 1,
        "rejected": [{"index": 2, "error": "userId is not a valid snowflake"}],
    }
    transport.answers = [Response(200, ack=ack)]
    c = collector(tmp_path, transport, settings=Settings(default_policy=BatchPolicy(3, 10.0)))
    for n in range(3):
        c.emit(message(n))
    c.flush()
    await c.start()
    assert await c.wait_drained(5)
    assert c.spool.count == 0
    assert [(k, r) for _, k, r, _ in c.spool.dead_letters()] == [
        ("MESSAGE_CREATE", "userId is not a valid snowflake")
    ]
    assert (c.counters.accepted, c.counters.duplicates, c.counters.rejected) == (1, 1, 1)
    await c.stop()


async def test_a_refused_bot_token_stops_the_sender_and_keeps_the_events(tmp_path):
    transport = AckingTransport()
    transport.answers = [Response(401, text="bad token")]
    c = collector(tmp_path, transport)
    await c.start()
    c.emit(message(1))
    assert not await c.wait_drained(2)
    assert isinstance(c.fatal, BotTokenRefused)
    assert "GUILDSTATS_BOT_TOKEN" in str(c.fatal)
    assert c.spool.count == 1
    await c.stop(drain_timeout=0)


async def test_a_restart_replays_the_spool_oldest_first(tmp_path):
    # the first run spools while the server is down and is stopped (or killed) before an ack
    first = collector(tmp_path, Down())
    await first.start()
    for n in range(7):
        first.emit(message(n))
    await first.stop(drain_timeout=0.05)
    assert first.spool.count == 7
    first.spool.close()

    up = AckingTransport()
    up.seen.add(("1300000000000000100", "ev-0"))  # one had arrived before the ack was lost
    second = collector(tmp_path, up, settings=Settings(default_policy=BatchPolicy(50, 10.0)))
    await second.start()  # a backlog is due at once, whatever the batching
    assert await second.wait_drained(5)
    assert [e["id"] for e in up.events] == [f"ev-{n}" for n in range(7)]
    assert (second.counters.accepted, second.counters.duplicates) == (6, 1)
    await second.stop()


async def test_batching_holds_activity_until_due(tmp_path):
    transport = AckingTransport()
    c = collector(tmp_path, transport, settings=Settings())  # seed defaults: 50 or 10 s
    await c.start()
    for n in range(49):
        c.emit(message(n))
    await asyncio.sleep(0.1)
    assert transport.frames == []  # 49 messages wait
    c.emit(message(49))
    assert await c.wait_drained(5)
    assert [len(f) for f in transport.frames] == [50]  # one frame
    await c.stop()


async def test_an_oversized_event_is_dead_lettered_not_sent(tmp_path):
    transport = AckingTransport()
    c = collector(tmp_path, transport, settings=Settings(default_policy=NOW, frame_max_bytes=200))
    await c.start()
    event = message(1)
    event["data"] = {"content": "x" * 500}
    c.emit(event)
    c.emit(message(2))
    assert await c.wait_drained(5)
    assert [e["id"] for e in transport.events] == ["ev-2"]
    assert "exceeds the frame limit" in c.spool.dead_letters()[0][2]
    await c.stop()
