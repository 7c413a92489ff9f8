"""Snapshots (5-minute, hourly, daily): pinned time origin, whole-table assertions; every
finished bucket once, run twice, 6-hour gap, late events, sessions across buckets, bot
snapshots, local days with DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from guilds.models import Guild
from stats.models import FillState, MetricsSnapshot, StaleBucket
from stats.rollups import fill as rollups
from stats.tasks import fill_snapshots
from tests.factories import event, message, ms, voice_join, voice_leave
from tests.stats.rollups.helpers import (
    ALICE,
    BOB,
    CAROL,
    EXPECTED,
    EXPECTED_HOURLY,
    ORIGIN,
    TEXT,
    VOICE,
    G,
    at,
    moment,
    send,
    states,
    table,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


def test_fill_covers_every_finished_bucket_once(activity):
    # at 12:30 with a 2-minute grace: 5-minute buckets up to 12:25, hours up to 12:00, and no
    # day yet (the first ends at midnight)
    assert rollups.fill_snapshots(moment(150)) == {
        "5min": 29,
        "hourly": 2,
        "daily": 1,  # one quarter-hour range step, which held no day end
        "stale": 0,
    }
    assert table() == {k: v for k, v in EXPECTED.items() if k < "12:25"}
    assert table("hourly") == EXPECTED_HOURLY
    assert table("daily") == {}
    first = MetricsSnapshot.objects.get(guild_id=int(G), period_type="5min", period_start=ORIGIN)
    assert first.data == {
        "countsByType": {"MESSAGE_CREATE": 3},
        "topChannels": [{"channelId": TEXT, "messages": 2, "voiceSeconds": 0}],
        "topMembers": [{"userId": ALICE, "messages": 2, "reactions": 0, "voiceSeconds": 0}],
        "voiceSecondsByChannel": {},
        "reactionsByEmoji": {},
    }
    hour = MetricsSnapshot.objects.get(guild_id=int(G), period_type="hourly", period_start=ORIGIN)
    assert hour.data == {
        "countsByType": {"MESSAGE_CREATE": 4, "MESSAGE_REACTION_ADD": 1, "VOICE_CHANNEL_JOIN": 1},
        "topChannels": [
            {"channelId": TEXT, "messages": 3, "voiceSeconds": 0},
            {"channelId": VOICE, "messages": 0, "voiceSeconds": 600},
        ],
        "topMembers": [
            {"userId": ALICE, "messages": 2, "reactions": 0, "voiceSeconds": 0},
            {"userId": BOB, "messages": 1, "reactions": 1, "voiceSeconds": 0},
            {"userId": CAROL, "messages": 0, "reactions": 0, "voiceSeconds": 600},
        ],
        "voiceSecondsByChannel": {VOICE: 600},
        "reactionsByEmoji": {"🎉": 1},
    }
    assert states() == {
        "5min": (moment(145), FillState.DONE),
        "hourly": (moment(120), FillState.DONE),
        "daily": (moment(135), FillState.DONE),
    }


def test_running_twice_changes_nothing(activity):
    rollups.fill_snapshots(moment(150))
    before = (table(), table("hourly"), states())
    assert rollups.fill_snapshots(moment(150)) == {"5min": 0, "hourly": 0, "daily": 0, "stale": 0}
    with time_machine.travel(moment(151), tick=False):  # the Beat task, a minute later
        assert fill_snapshots.delay().get()["5min"] == 0  # 12:31 minus the grace: still 12:25
    assert (table(), table("hourly"), states()) == before


def test_a_six_hour_gap_is_caught_up(activity, ingest):
    rollups.fill_snapshots(moment(150))
    send(ingest, [message(G, ALICE, TEXT, at(300))], 510)  # 15:00, while the scheduler was down
    report = rollups.fill_snapshots(moment(510))  # 18:30
    assert (report["5min"], report["hourly"]) == (72, 6)  # 12:25 .. 18:25; 12h .. 17h
    assert table()["15:00"] == (1, 0, 0, 1)
    assert table()["12:20"] == (0, 0, 0, 0)
    assert table("hourly") == {**EXPECTED_HOURLY, "12:00": (0, 1200, 0, 1), "15:00": (1, 0, 0, 1)}


def test_an_open_session_counts_up_to_the_bucket_end(ingest):
    send(ingest, [voice_join(G, CAROL, VOICE, at(2))], 20)
    assert rollups.fill_snapshots(moment(20))["5min"] == 3  # 10:00, 10:05, 10:10
    assert table() == {"10:00": (0, 180, 0, 1), "10:05": (0, 300, 0, 1), "10:10": (0, 300, 0, 1)}


def test_a_late_event_marks_its_buckets_stale_and_the_next_run_recomputes_them(activity, ingest):
    rollups.fill_snapshots(moment(150))
    # a bot replays its spool at 12:40: a message from 10:03 and a voice session 10:20-10:30
    send(
        ingest,
        [
            message(G, CAROL, TEXT, at(3)),
            voice_join(G, BOB, VOICE, at(20)),
            voice_leave(G, BOB, VOICE, at(30)),
        ],
        160,
    )
    stale = sorted(
        s.strftime("%H:%M") for s in StaleBucket.objects.values_list("period_start", flat=True)
    )
    # the message's bucket, and every bucket from the voice events on (open-session estimates)
    assert stale == ["10:00"] + [f"{10 + m // 60}:{m % 60:02d}" for m in range(20, 145, 5)]
    report = rollups.fill_snapshots(moment(160))
    assert report["stale"] == len(stale) + 2  # and the two filled hours containing them
    assert StaleBucket.objects.count() == 0
    assert table()["10:00"] == (3, 0, 0, 2)
    assert table()["10:20"] == (0, 300, 0, 1)
    assert table()["10:25"] == (0, 300, 0, 1)
    assert table("hourly")["10:00"] == (4, 1200, 1, 3)  # alice, bob, carol


def test_daily_buckets_follow_the_guild_zone_across_a_dst_change(ingest):
    """Europe/Paris moves to summer time on 2026-03-29: that local day lasts 23 hours."""
    Guild.objects.create(guild_id=int(G), name="paris", timezone="Europe/Paris")
    sat = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 00:30 on Sunday in Paris
    events = [
        message(G, ALICE, TEXT, ms(sat - timedelta(hours=1))),  # 23:30 Saturday in Paris
        message(G, ALICE, TEXT, ms(sat)),
        message(G, BOB, TEXT, ms(datetime(2026, 3, 29, 21, 59, tzinfo=UTC))),  # 23:59 Sunday
        message(G, BOB, TEXT, ms(datetime(2026, 3, 29, 22, 0, tzinfo=UTC))),  # 00:00 Monday
        voice_join(G, CAROL, VOICE, ms(datetime(2026, 3, 29, 21, 0, tzinfo=UTC))),  # 23:00 Sun
        voice_leave(G, CAROL, VOICE, ms(datetime(2026, 3, 29, 23, 0, tzinfo=UTC))),  # 01:00 Mon
    ]
    with time_machine.travel(datetime(2026, 3, 31, tzinfo=UTC), tick=False):
        _status, ack = ingest(events)
        assert ack["accepted"] == 6
        rollups.fill_snapshots()
    days = MetricsSnapshot.objects.filter(guild_id=int(G), period_type="daily").order_by(
        "period_start"
    )
    assert [
        (d.period_start, d.period_end - d.period_start, d.total_messages, d.total_voice_seconds)
        for d in days
    ] == [
        (datetime(2026, 3, 27, 23, tzinfo=UTC), timedelta(hours=24), 1, 0),
        (datetime(2026, 3, 28, 23, tzinfo=UTC), timedelta(hours=23), 2, 3600),
        (datetime(2026, 3, 29, 22, tzinfo=UTC), timedelta(hours=24), 1, 3600),
    ]


def test_bot_snapshots_fill_the_buckets_of_their_period(ingest):
    snapshot = event(
        "METRICS_SNAPSHOT",
        G,
        at(11),
        data={
            "periodStart": at(10),
            "periodEnd": at(11),
            "metrics": {
                "messages": {"total": 5, "byMember": {ALICE: 3, BOB: 2}, "byChannel": {TEXT: 5}},
                "voice": {"totalMinutes": 2, "byMember": {CAROL: 2}, "byChannel": {VOICE: 2}},
                "reactions": {"total": 1, "byMember": {BOB: 1}, "byEmoji": {"👍": 1}},
            },
        },
    )
    send(ingest, [message(G, ALICE, TEXT, at(1)), snapshot], 30)
    rollups.fill_snapshots(moment(30))
    assert table() == {"10:00": (1, 0, 0, 1), "10:10": (5, 120, 1, 3)}
    bucket = MetricsSnapshot.objects.get(period_type="5min", period_start=moment(10))
    assert bucket.data["reactionsByEmoji"] == {"👍": 1}
    assert bucket.data["topMembers"][0] == {
        "userId": ALICE,
        "messages": 3,
        "reactions": 0,
        "voiceSeconds": 0,
    }
