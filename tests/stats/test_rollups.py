"""5-minute snapshots: pinned time origin, whole-table assertions, run twice, crash, gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from stats.models import FillState, MetricsSnapshot
from stats.services import rollups
from stats.tasks import fill_snapshots
from tests.factories import message, ms, reaction, voice_join, voice_leave

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
G, ALICE, BOB, CAROL, BOT, TEXT, VOICE = (str(9_000_000 + i) for i in range(7))


def at(minutes: float) -> int:
    return ms(ORIGIN + timedelta(minutes=minutes))


def moment(minutes: float) -> datetime:
    return ORIGIN + timedelta(minutes=minutes)


@pytest.fixture
def activity(ingest):
    with time_machine.travel(moment(150), tick=False):
        _status, ack = ingest(
            [
                message(G, ALICE, TEXT, at(1)),
                message(G, ALICE, TEXT, at(2)),
                message(G, BOT, TEXT, at(3), data={"bot": True}),
                message(G, BOB, TEXT, at(7)),
                reaction(G, BOB, ALICE, at(8), channel=TEXT, emoji="🎉"),
                voice_join(G, CAROL, VOICE, at(50)),
                voice_leave(G, CAROL, VOICE, at(140)),
            ]
        )
        assert ack["accepted"] == 7


def table() -> dict[str, tuple[int, int, int, int]]:
    """HH:MM of each stored 5-minute bucket of G -> (messages, voice s, reactions, active)."""
    rows = MetricsSnapshot.objects.filter(guild_id=int(G), period_type="5min").order_by(
        "period_start"
    )
    return {
        r.period_start.strftime("%H:%M"): (
            r.total_messages,
            r.total_voice_seconds,
            r.total_reactions,
            r.unique_active_users,
        )
        for r in rows
    }


EXPECTED = {
    "10:00": (2, 0, 0, 1),  # alice x2; the bot's message is stored, not counted
    "10:05": (1, 0, 1, 1),  # bob's message and reaction
    **{f"{10 + m // 60}:{m % 60:02d}": (0, 300, 0, 1) for m in range(50, 140, 5)},
    "12:20": (0, 0, 0, 0),  # only the leave event: counts by type, no activity
}


def test_fill_covers_every_finished_bucket_once(activity):
    # at 12:30 with a 2-minute grace, buckets up to the one ending 12:25 are due: 29 of them
    assert rollups.fill_snapshots(moment(150)) == 29
    assert table() == {k: v for k, v in EXPECTED.items() if k < "12:25"}
    first = MetricsSnapshot.objects.get(guild_id=int(G), period_start=ORIGIN)
    assert first.data == {
        "countsByType": {"MESSAGE_CREATE": 3},
        "topChannels": [{"channelId": TEXT, "messages": 2, "voiceSeconds": 0}],
        "topMembers": [{"userId": ALICE, "messages": 2, "reactions": 0, "voiceSeconds": 0}],
        "voiceSecondsByChannel": {},
        "reactionsByEmoji": {},
    }
    second = MetricsSnapshot.objects.get(guild_id=int(G), period_start=moment(5))
    assert second.data["reactionsByEmoji"] == {"🎉": 1}
    # a session across buckets: 10:50-12:20 gives each 5-minute bucket its 300 s
    assert sum(v[1] for v in table().values()) == 90 * 60
    state = FillState.objects.get()
    assert (state.end_time, state.state) == (moment(145), FillState.DONE)


def test_running_twice_changes_nothing(activity):
    rollups.fill_snapshots(moment(150))
    before = table()
    assert rollups.fill_snapshots(moment(150)) == 0
    with time_machine.travel(moment(151), tick=False):  # the Beat task, a minute later
        assert fill_snapshots.delay().get() == 0  # 12:31 minus the grace: still 12:25
    assert table() == before


def test_a_crash_mid_bucket_is_redone_not_doubled(activity):
    calls = {"n": 0}

    def crash_on_third(start, end, now):
        calls["n"] += 1
        if calls["n"] == 3:
            MetricsSnapshot.objects.bulk_create(rollups.compute_bucket(start, end, now))
            raise RuntimeError("worker killed")
        return rollups.compute_bucket(start, end, now)

    with pytest.raises(RuntimeError):
        rollups.fill_snapshots(moment(150), compute=crash_on_third)
    state = FillState.objects.get()
    assert (state.end_time, state.state) == (moment(15), FillState.STARTED)
    assert rollups.fill_snapshots(moment(150)) == 27  # the crashed bucket again, then the rest
    assert table() == {k: v for k, v in EXPECTED.items() if k < "12:25"}


def test_a_six_hour_gap_is_caught_up(activity, ingest):
    assert rollups.fill_snapshots(moment(150)) == 29
    with time_machine.travel(moment(510), tick=False):
        ingest([message(G, ALICE, TEXT, at(300))])  # 15:00, while the scheduler was down
    assert rollups.fill_snapshots(moment(510)) == 72  # 12:25 .. 18:25
    assert table()["15:00"] == (1, 0, 0, 1)
    assert table()["12:20"] == (0, 0, 0, 0)


def test_an_open_session_counts_up_to_the_bucket_end(ingest):
    with time_machine.travel(moment(20), tick=False):
        ingest([voice_join(G, CAROL, VOICE, at(2))])
    assert rollups.fill_snapshots(moment(20)) == 3  # 10:00, 10:05, 10:10
    assert table() == {"10:00": (0, 180, 0, 1), "10:05": (0, 300, 0, 1), "10:10": (0, 300, 0, 1)}
