"""The write-ahead spool: durable across a reopen, deleted only on ack, caps counted."""

from __future__ import annotations

from guildstats_collector.spool import Spool


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def bodies(events):
    return [(e.type, e.body) for e in events]


def test_events_survive_a_reopen_and_leave_only_on_ack(tmp_path):
    path = str(tmp_path / "spool.sqlite3")
    spool = Spool(path)
    spool.append([("MESSAGE_CREATE", b'{"n":1}'), ("GUILD_BAN_ADD", b'{"n":2}')])
    spool.close()  # a crash or a restart

    reopened = Spool(path)
    assert (reopened.count, reopened.bytes) == (2, 14)
    frame = reopened.oldest(10, 10_000)
    assert bodies(frame) == [("MESSAGE_CREATE", b'{"n":1}'), ("GUILD_BAN_ADD", b'{"n":2}')]
    reopened.acknowledge(frame[:1], {})
    assert bodies(reopened.oldest(10, 10_000)) == [("GUILD_BAN_ADD", b'{"n":2}')]
    assert reopened.stats() == {"events": 1, "bytes": 7, "deadLetters": 0, "dropped": 0}


def test_oldest_respects_the_frame_limits(tmp_path):
    spool = Spool(str(tmp_path / "s.sqlite3"))
    spool.append([("T", b"x" * 10) for _ in range(5)])
    assert len(spool.oldest(3, 10_000)) == 3
    assert len(spool.oldest(10, 25)) == 2  # 11 bytes each with the comma
    assert len(spool.oldest(10, 1)) == 1  # always at least one


def test_rejected_events_go_to_the_dead_letters_with_the_reason(tmp_path):
    spool = Spool(str(tmp_path / "s.sqlite3"))
    spool.append([("A", b"1"), ("B", b"2"), ("C", b"3")])
    frame = spool.oldest(10, 10_000)
    spool.acknowledge(frame, {1: "userId is not a valid snowflake"})
    assert spool.count == 0
    assert [(kind, reason, body) for _, kind, reason, body in spool.dead_letters()] == [
        ("B", "userId is not a valid snowflake", b"2")
    ]


def test_acknowledging_a_non_contiguous_set(tmp_path):
    spool = Spool(str(tmp_path / "s.sqlite3"))
    spool.append([("T", str(i).encode()) for i in range(6)])
    frame = spool.oldest(10, 10_000)
    spool.acknowledge([frame[0], frame[2], frame[5]], {})
    assert [e.body for e in spool.oldest(10, 10_000)] == [b"1", b"3", b"4"]
    assert (spool.count, spool.bytes) == (3, 3)


def test_the_event_cap_drops_the_oldest_and_counts_them(tmp_path):
    spool = Spool(str(tmp_path / "s.sqlite3"), max_events=3)
    spool.append([("MESSAGE_CREATE", b"1"), ("MESSAGE_CREATE", b"2"), ("GUILD_BAN_ADD", b"3")])
    spool.append([("MESSAGE_CREATE", b"4"), ("MESSAGE_CREATE", b"5")])
    assert [e.body for e in spool.oldest(10, 10_000)] == [b"3", b"4", b"5"]
    assert spool.drops() == {("max_events", "MESSAGE_CREATE"): 2}
    assert spool.stats()["dropped"] == 2


def test_the_byte_cap(tmp_path):
    spool = Spool(str(tmp_path / "s.sqlite3"), max_bytes=25)
    spool.append([("T", b"x" * 10), ("T", b"y" * 10)])
    spool.append([("U", b"z" * 10)])
    assert [e.body for e in spool.oldest(10, 10_000)] == [b"y" * 10, b"z" * 10]
    assert spool.drops() == {("max_bytes", "T"): 1}
    assert spool.bytes == 20


def test_the_age_cap(tmp_path):
    clock = Clock()
    spool = Spool(str(tmp_path / "s.sqlite3"), max_age=3600, clock=clock)
    spool.append([("OLD", b"1")])
    clock.now += 1800
    spool.append([("NEW", b"2")])
    clock.now += 1801
    assert spool.expire() == 1
    assert [e.type for e in spool.oldest(10, 10_000)] == ["NEW"]
    assert spool.drops() == {("max_age", "OLD"): 1}
    assert spool.expire() == 0


def test_an_unsendable_event_is_dead_lettered_directly(tmp_path):
    spool = Spool(str(tmp_path / "s.sqlite3"))
    spool.dead_letter_unsent("MESSAGE_CREATE", b"{...}", "too large")
    assert spool.count == 0
    assert [(k, r) for _, k, r, _ in spool.dead_letters()] == [("MESSAGE_CREATE", "too large")]
