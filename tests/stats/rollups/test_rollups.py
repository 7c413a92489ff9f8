"""Snapshots (5-minute, hourly, daily): pinned time origin, whole-table assertions; run twice,
crash mid-range, 6-hour gap, late events, sessions across buckets, local days with DST."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import OperationalError

from guilds.models import Guild
from stats.models import FillState, MetricsSnapshot, StaleBucket
from stats.rollups import fill as rollups
from stats.tasks import fill_snapshots
from tests.factories import event, message, ms, reaction, voice_join, voice_leave

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]

ORIGIN = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
G, ALICE, BOB, CAROL, BOT, TEXT, VOICE = (str(9_000_000 + i) for i in range(7))


def at(minutes: float) -> int:
    return ms(ORIGIN + timedelta(minutes=minutes))


def moment(minutes: float) -> datetime:
    return ORIGIN + timedelta(minutes=minutes)


def send(ingest, events, minutes_now: float) -> None:
    with time_machine.travel(moment(minutes_now), tick=False):
        _status, ack = ingest(events)
    assert ack["accepted"] == len(events), ack


@pytest.fixture
def activity(ingest):
    send(
        ingest,
        [
            message(G, ALICE, TEXT, at(1)),
            message(G, ALICE, TEXT, at(2)),
            message(G, BOT, TEXT, at(3), data={"bot": True}),
            message(G, BOB, TEXT, at(7)),
            reaction(G, BOB, ALICE, at(8), channel=TEXT, emoji="🎉"),
            voice_join(G, CAROL, VOICE, at(50)),
            voice_leave(G, CAROL, VOICE, at(140)),
        ],
        150,
    )


def table(period_type: str = "5min", guild: str = G) -> dict[str, tuple[int, int, int, int]]:
    """Start of each stored bucket of ``guild`` -> (messages, voice s, reactions, active)."""
    rows = MetricsSnapshot.objects.filter(guild_id=int(guild), period_type=period_type)
    fmt = "%m-%d %H:%M" if period_type == "daily" else "%H:%M"
    return {
        r.period_start.strftime(fmt): (
            r.total_messages,
            r.total_voice_seconds,
            r.total_reactions,
            r.unique_active_users,
        )
        for r in rows.order_by("period_start")
    }


def states() -> dict[str, tuple[datetime, str]]:
    return {s.granularity: (s.end_time, s.state) for s in FillState.objects.all()}


EXPECTED = {
    "10:00": (2, 0, 0, 1),  # alice x2; the bot's message is stored, not counted
    "10:05": (1, 0, 1, 1),  # bob's message and reaction
    **{f"{10 + m // 60}:{m % 60:02d}": (0, 300, 0, 1) for m in range(50, 140, 5)},
    "12:20": (0, 0, 0, 0),  # only the leave event: counts by type, no activity
}
# the session 10:50-12:20 gives 10 min to 10h, 60 to 11h, 20 to 12h
EXPECTED_HOURLY = {"10:00": (3, 600, 1, 3), "11:00": (0, 3600, 0, 1)}


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


def test_a_crash_mid_range_is_redone_not_doubled(activity, guildstats_settings):
    guildstats_settings(ROLLUP_WORKERS=1)  # one range, one transaction (pieces: below)
    calls = {"n": 0}

    def crash_on_second(granularity, after, until, now, guild_ids):
        written = rollups.compute_snapshots(granularity, after, until, now, guild_ids)
        calls["n"] += 1
        if calls["n"] == 2:  # the second 5-minute range, written but not committed
            raise RuntimeError("worker killed")
        return written

    with pytest.raises(RuntimeError):
        rollups.fill_snapshots(moment(150), compute=crash_on_second)
    assert states() == {"5min": (moment(120), FillState.STARTED)}
    assert table() == {k: v for k, v in EXPECTED.items() if k < "11:00"}  # rolled back
    rollups.fill_snapshots(moment(150))
    assert table() == {k: v for k, v in EXPECTED.items() if k < "12:25"}
    assert table("hourly") == EXPECTED_HOURLY


def assert_filled_at_12_30() -> None:
    """The activity's whole fill at 12:30: 5-minute buckets to 12:25, hours to 12:00."""
    assert table() == {k: v for k, v in EXPECTED.items() if k < "12:25"}
    assert table("hourly") == EXPECTED_HOURLY
    assert states() == {
        "5min": (moment(145), FillState.DONE),
        "hourly": (moment(120), FillState.DONE),
        "daily": (moment(135), FillState.DONE),
    }


@pytest.mark.postgres
def test_postgresql_spreads_a_range_over_two_connections_and_redoes_it_whole_after_a_failure(
    activity,
):
    from django.db import connection

    pieces: list[tuple[str, datetime, datetime, int]] = []
    together = threading.Barrier(2, timeout=30)

    def fail_in_one_piece(granularity, after, until, now, guild_ids):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pieces.append((granularity.name, after, until, cursor.fetchone()[0]))
        if len(pieces) <= 2:
            together.wait()  # only if the first two pieces run at once
        if granularity.name == "5min" and after == moment(90):
            raise RuntimeError("worker killed")
        return rollups.compute_snapshots(granularity, after, until, now, guild_ids)

    with pytest.raises(RuntimeError, match="worker killed"):
        rollups.fill_snapshots(moment(150), compute=fail_in_one_piece)
    # each hour in quarters that two connections of their own take in turn (the failed piece
    # is tried again on the run's own connection, once the helpers are done)
    assert sorted({p[1:3] for p in pieces}) == [
        (moment(m), moment(m + 15)) for m in range(0, 120, 15)
    ]
    assert [p[1] for p in pieces].count(moment(90)) == 2
    assert len({p[3] for p in pieces[:2]}) == 2
    assert states() == {"5min": (moment(120), FillState.STARTED)}
    # the pieces that committed show early; the failed one has nothing
    failed = {"11:30", "11:35", "11:40"}
    assert table() == {k: v for k, v in EXPECTED.items() if k < "12:00" and k not in failed}
    rollups.fill_snapshots(moment(150))
    assert_filled_at_12_30()


@pytest.mark.postgres
def test_a_piece_a_helper_connection_fails_is_done_by_the_run_itself(activity):
    main = threading.current_thread()
    failed_on_helper: list[datetime] = []

    def helper_without_database(granularity, after, until, now, guild_ids):
        if threading.current_thread() is not main and not failed_on_helper:
            failed_on_helper.append(after)
            raise OperationalError("connection pool exhausted")
        return rollups.compute_snapshots(granularity, after, until, now, guild_ids)

    rollups.fill_snapshots(moment(150), compute=helper_without_database)
    assert len(failed_on_helper) == 1
    assert_filled_at_12_30()


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


@pytest.mark.postgres
def test_a_concurrent_run_is_excluded_by_the_lock(activity):
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [rollups.ROLLUP_LOCK])
        assert rollups.fill_snapshots(moment(150)) == {
            "5min": 0,
            "hourly": 0,
            "daily": 0,
            "stale": 0,
        }
        assert MetricsSnapshot.objects.count() == 0
    finally:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [rollups.ROLLUP_LOCK])
        other.close()
    assert rollups.fill_snapshots(moment(150))["5min"] == 29


def test_fill_stats_catches_up_then_refills_a_guild_after_a_time_zone_change(activity):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    with time_machine.travel(moment(60 * 24 + 150), tick=False):  # the next day, 12:30
        call_command("fill_stats", stdout=out, stderr=io.StringIO())
    assert "5min: " in out.getvalue() and "daily: " in out.getvalue()
    assert table("daily") == {"06-01 00:00": (3, 5400, 1, 3)}
    assert table() == EXPECTED

    Guild.objects.update_or_create(guild_id=int(G), defaults={"timezone": "Asia/Tokyo"})
    with time_machine.travel(moment(60 * 24 + 150), tick=False):
        call_command(
            "fill_stats",
            "--guild",
            G,
            "--granularity",
            "daily",
            "--since",
            "2026-05-31",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    # Tokyo's June 1st runs from 15:00 UTC on May 31st: the whole activity, in one new row
    assert table("daily") == {"05-31 15:00": (3, 5400, 1, 3)}
    assert table() == EXPECTED  # other granularities untouched


def test_without_postgresql_a_concurrent_run_is_excluded_by_a_redis_or_file_lock():
    from django.db import connection

    from core.sql import session_lock

    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL uses an advisory lock (test_a_concurrent_run_is_excluded…)")
    with session_lock(rollups.ROLLUP_LOCK) as first, session_lock(rollups.ROLLUP_LOCK) as second:
        assert (first, second) == (True, False)
        assert rollups.fill_snapshots(moment(150)) == {
            "5min": 0,
            "hourly": 0,
            "daily": 0,
            "stale": 0,
        }
    with session_lock(rollups.ROLLUP_LOCK) as again:
        assert again


def test_health_reports_the_aggregation_lag(activity):
    from django.test import Client

    from ops.tasks import record_worker_heartbeat

    with time_machine.travel(moment(150), tick=False):
        record_worker_heartbeat.delay()
        rollups.fill_snapshots()
        body = Client().get("/health").json()
    assert body["checks"]["aggregation"] == {
        "status": "ok",
        "lagSeconds": {"5min": 0.0, "hourly": 0.0, "daily": 0.0},
        "staleBuckets": 0,
    }
    # the scheduler stops: 20 minutes later the 5-minute buckets are 15 minutes behind
    with time_machine.travel(moment(170), tick=False):
        record_worker_heartbeat.delay()
        response = Client().get("/health")
    assert response.status_code == 200
    assert response.json()["checks"]["aggregation"] == {
        "status": "warning",
        "lagSeconds": {"5min": 900.0, "hourly": 0.0, "daily": 900.0},
        "staleBuckets": 0,
    }
    # two hours later: critical, and /health answers 503
    with time_machine.travel(moment(290), tick=False):
        record_worker_heartbeat.delay()
        response = Client().get("/health")
    assert response.status_code == 503
    lag = response.json()["checks"]["aggregation"]
    assert (lag["status"], lag["lagSeconds"]["5min"]) == ("critical", 8100.0)
