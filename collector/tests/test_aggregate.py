"""Aggregated mode: local counts sent as seed-001 snapshots, voice split at period edges."""

from __future__ import annotations

import pytest
from guildstats_collector.aggregate import Aggregator
from guildstats_collector.config import AggregateSettings, BatchPolicy, Settings

from collector.tests.gateway import GUILD_ID, Gateway, fixture

G = 1300000000000000100


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict] = []

    def emit(self, event: dict) -> bool:
        self.events.append(event)
        return True


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_snapshots_with_top_n_and_exact_totals():
    clock = Clock(1_000_000)
    sink = Recorder()
    settings = AggregateSettings(enabled=True, max_top_members=2, max_top_channels=1)
    agg = Aggregator(sink, settings, now_ms=clock)
    for user, channel, n in ((11, 100, 3), (12, 100, 2), (13, 101, 1)):
        for _ in range(n):
            agg.message(G, user, channel)
    agg.reaction(G, 11, "👍", author_id=12)
    agg.voice(G, 11, 200)  # joins at 1,000,000
    clock.now += 90_000  # 1.5 minutes later
    agg.flush("METRICS_SNAPSHOT")
    (snapshot,) = sink.events
    assert snapshot["type"] == "METRICS_SNAPSHOT"
    assert snapshot["data"] == {
        "periodStart": 1_000_000,
        "periodEnd": 1_090_000,
        "metrics": {
            "messages": {"total": 6, "byChannel": {"100": 5}, "byMember": {"11": 3, "12": 2}},
            "voice": {"totalMinutes": 1.5, "byChannel": {"200": 1.5}, "byMember": {"11": 1.5}},
            "reactions": {"total": 1, "byEmoji": {"👍": 1}, "byMember": {"11": 1}},
        },
    }
    # the session goes on: the next period gets only its own part of it
    clock.now += 30_000
    agg.voice(G, 11, None)
    agg.flush("METRICS_SNAPSHOT")
    assert sink.events[1]["data"]["metrics"]["voice"]["totalMinutes"] == 0.5
    assert sink.events[1]["data"]["periodStart"] == 1_090_000


def test_member_activity_snapshot_lists_every_active_member():
    clock = Clock(5_000_000)
    sink = Recorder()
    agg = Aggregator(sink, AggregateSettings(enabled=True, max_top_members=1), now_ms=clock)
    agg.message(G, 11, 100)
    agg.message(G, 12, 100)
    agg.reaction(G, 12, "x", author_id=11)
    clock.now += 1000
    agg.flush("MEMBER_ACTIVITY_SNAPSHOT")
    (snapshot,) = sink.events
    assert snapshot["data"] == {
        "periodStart": 5_000_000,
        "periodEnd": 5_001_000,
        "members": [
            {
                "userId": "11",
                "messages": {"total": 1, "byChannel": {"100": 1}},
                "voice": {"totalMinutes": 0.0, "byChannel": {}},
                "reactions": {"added": 0, "received": 1},
                "lastSeen": 5_000_000,
            },
            {
                "userId": "12",
                "messages": {"total": 1, "byChannel": {"100": 1}},
                "voice": {"totalMinutes": 0.0, "byChannel": {}},
                "reactions": {"added": 1, "received": 0},
                "lastSeen": 5_000_000,
            },
        ],
    }


def test_nothing_happened_nothing_sent():
    sink = Recorder()
    agg = Aggregator(sink, AggregateSettings(enabled=True), now_ms=Clock(1))
    agg.flush_all()
    assert sink.events == []


@pytest.mark.asyncio
async def test_aggregated_mode_through_the_cog_sends_no_raw_activity(tmp_path, frozen):
    settings = Settings(
        default_policy=BatchPolicy(1, 0.0), aggregate=AggregateSettings(enabled=True)
    )
    gateway = await Gateway(settings, tmp_path / "spool.sqlite3").start()
    try:
        gateway.take()
        gateway.feed("MESSAGE_CREATE")
        gateway.feed("MESSAGE_REACTION_ADD")
        gateway.feed("GUILD_BAN_ADD")
        await gateway.settle()
        assert [e["type"] for e in gateway.take()] == ["GUILD_BAN_ADD"]
        gateway.cog.aggregator.flush("METRICS_SNAPSHOT")
        await gateway.settle()
        (snapshot,) = gateway.take()
        assert snapshot["type"] == "METRICS_SNAPSHOT"
        assert snapshot["guildId"] == str(GUILD_ID)
        author = fixture("MESSAGE_CREATE")["author"]["id"]
        assert snapshot["data"]["metrics"]["messages"]["byMember"] == {author: 1}
        assert snapshot["data"]["metrics"]["reactions"]["total"] == 1
    finally:
        await gateway.close()
