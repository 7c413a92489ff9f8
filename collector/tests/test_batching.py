"""Seed 001's priorities with a controlled clock."""

from __future__ import annotations

from guildstats_collector.batching import Batcher
from guildstats_collector.config import BatchPolicy, Settings, parse_batch_spec


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_immediate_types_are_due_at_once():
    clock = Clock()
    batcher = Batcher(Settings(), clock)
    assert batcher.delay() is None
    for kind in ("GUILD_BAN_ADD", "INVITE_USE", "GUILD_UPDATE", "COLLECTOR_HEARTBEAT"):
        batcher.drained()
        batcher.added(kind)
        assert batcher.delay() == 0


def test_other_types_wait_for_50_events_or_10_seconds():
    clock = Clock()
    batcher = Batcher(Settings(), clock)
    for _ in range(49):
        batcher.added("MESSAGE_CREATE")
    assert batcher.delay() == 10.0
    clock.now += 4
    assert batcher.delay() == 6.0
    batcher.added("MESSAGE_CREATE")  # the 50th
    assert batcher.delay() == 0

    batcher.drained()
    batcher.added("VOICE_CHANNEL_JOIN")
    clock.now += 9.5
    assert batcher.delay() == 0.5
    clock.now += 0.5
    assert batcher.delay() == 0


def test_counts_are_per_type():
    clock = Clock()
    batcher = Batcher(Settings(), clock)
    for _ in range(30):
        batcher.added("MESSAGE_CREATE")
        batcher.added("MESSAGE_REACTION_ADD")
    assert batcher.delay() == 10.0  # 30 + 30, but no type reached 50


def test_an_immediate_event_makes_the_waiting_ones_due():
    clock = Clock()
    batcher = Batcher(Settings(), clock)
    batcher.added("MESSAGE_CREATE")
    clock.now += 1
    batcher.added("GUILD_MEMBER_ADD")
    assert batcher.delay() == 0


def test_per_type_configuration():
    policies = parse_batch_spec("MESSAGE_CREATE=5/2000, guild_ban_add=10/30000")
    assert policies == {
        "MESSAGE_CREATE": BatchPolicy(5, 2.0),
        "GUILD_BAN_ADD": BatchPolicy(10, 30.0),
    }
    clock = Clock()
    batcher = Batcher(Settings(policies=policies), clock)
    batcher.added("GUILD_BAN_ADD")
    assert batcher.delay() == 30.0
    for _ in range(5):
        batcher.added("MESSAGE_CREATE")
    assert batcher.delay() == 0


def test_a_backlog_is_due_now():
    clock = Clock()
    batcher = Batcher(Settings(), clock)
    batcher.backlog()
    assert batcher.delay() == 0
