"""The PostgreSQL rollup engine (set-based SQL) and the Python reference engine fill identical
tables from the same feed: simulated guilds (one in a DST-changing zone, one with an excluded
channel, bots, one that counts its bots), late voice sessions, still-open sessions and a
bot-aggregated guild."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from devtools.simulation import FeedGenerator
from guilds.models import Guild
from stats.models import MetricsSnapshot
from stats.rollups import engine_python as rollup_compute
from stats.rollups import fill as rollups
from tests.factories import event, message, ms, voice_join

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

NOW = datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # Paris switched to summer time 4 hours ago


def whole_table() -> list[tuple]:
    return sorted(
        MetricsSnapshot.objects.values_list(
            "guild_id",
            "period_type",
            "period_start",
            "period_end",
            "total_messages",
            "total_voice_seconds",
            "total_reactions",
            "unique_active_users",
            "data",
        ),
        key=lambda row: row[:4],
    )


def test_sql_and_python_engines_fill_identical_tables(ingest, guildstats_settings, monkeypatch):
    guildstats_settings(RAW_RETENTION_DAYS=100_000)
    feed = FeedGenerator(guilds=4, members=12, hours=28, seed=7).events(now_ms=ms(NOW))
    feed = [e for e in feed if isinstance(e.get("timestamp"), int) and e.get("guildId")]
    guilds = sorted({e["guildId"] for e in feed if str(e["guildId"]).isdigit()})
    paris, excluding, plain, aggregated = guilds[:4]
    Guild.objects.create(guild_id=int(paris), name="paris", timezone="Europe/Paris")
    # this guild counts its bots (its bot's message below counts in both engines)
    Guild.objects.create(
        guild_id=int(plain), name="kolkata", timezone="Asia/Kolkata", count_bots=True
    )
    busiest = max(
        (e.get("channelId") for e in feed if e["guildId"] == excluding and e.get("channelId")),
        key=lambda c: sum(1 for e in feed if e.get("channelId") == c),
    )
    a_voice_channel = next(
        e["channelId"] for e in feed if e["guildId"] == excluding and e["type"].startswith("VOICE")
    )
    Guild.objects.create(
        guild_id=int(excluding), name="ex", excluded_channel_ids=[busiest, a_voice_channel]
    )
    someone = next(e["userId"] for e in feed if e["guildId"] == plain and e.get("userId"))
    extra = [
        message(
            plain, "7000000000000001", busiest, ms(NOW - timedelta(hours=3)), data={"bot": True}
        ),
        voice_join(plain, someone, "7000000000000004", ms(NOW - timedelta(minutes=50))),
        event(
            "METRICS_SNAPSHOT",
            aggregated,
            ms(NOW - timedelta(minutes=9)),
            data={
                "periodStart": ms(NOW - timedelta(minutes=10)),
                "periodEnd": ms(NOW - timedelta(minutes=9)),
                "metrics": {
                    "messages": {"total": 3, "byMember": {someone: 3}, "byChannel": {busiest: 3}},
                    "voice": {"totalMinutes": 1, "byMember": {someone: 1}},
                    "reactions": {"total": 2, "byMember": {someone: 2}, "byEmoji": {"🔥": 2}},
                },
            },
        ),
    ]
    with time_machine.travel(NOW, tick=False):
        for start in range(0, len(feed), 1000):
            ingest(feed[start : start + 1000])
        _status, ack = ingest(extra)
        assert ack["accepted"] == len(extra)
    later = NOW + timedelta(days=1, hours=2)

    rollups.fill_snapshots(later)
    by_sql = whole_table()
    assert {row[1] for row in by_sql} == {"5min", "hourly", "daily"}
    assert any(row[0] == int(paris) and row[3] - row[2] == timedelta(hours=23) for row in by_sql)

    MetricsSnapshot.objects.all().delete()
    rollups.FillState.objects.all().delete()
    monkeypatch.setattr(rollup_compute, "ENGINE", "python")
    rollups.fill_snapshots(later)
    by_python = whole_table()

    assert len(by_sql) == len(by_python) > 500
    for sql_row, python_row in zip(by_sql, by_python, strict=True):
        assert sql_row == python_row


def test_sql_and_python_previews_agree(ingest, guildstats_settings, monkeypatch):
    """The live chart's stretch (``engine_python.preview``, read only) is the same from the SQL
    statement and from the reference, with open voice sessions counted up to now."""
    guildstats_settings(RAW_RETENTION_DAYS=100_000)
    feed = FeedGenerator(guilds=3, members=10, hours=3, seed=11).events(now_ms=ms(NOW))
    feed = [e for e in feed if isinstance(e.get("timestamp"), int) and e.get("guildId")]
    guilds = sorted({int(e["guildId"]) for e in feed if str(e["guildId"]).isdigit()})
    with time_machine.travel(NOW, tick=False):
        for start in range(0, len(feed), 1000):
            ingest(feed[start : start + 1000])
    after, until = NOW - timedelta(hours=2, minutes=3), NOW  # an unaligned start
    by_sql = rollup_compute.preview(after, until, NOW, guilds)
    monkeypatch.setattr(rollup_compute, "ENGINE", "python")
    by_python = rollup_compute.preview(after, until, NOW, guilds)
    assert len(by_sql) > 20
    assert sorted(by_sql) == sorted(by_python)


def test_the_statement_settings_stay_inside_its_transaction(ingest):
    """The engine turns JIT and merge joins off and raises work_mem for its statement only: the
    connection (pooled, shared with every other query) keeps its own settings."""
    from django.db import connection

    GUILD = "710000000000000009"

    def settings_now() -> tuple:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('jit'), current_setting('enable_mergejoin'), "
                "current_setting('work_mem')"
            )
            return cursor.fetchone()

    before = settings_now()
    assert before[1] == "on" and before[2] != "256MB"
    with time_machine.travel(NOW, tick=False):
        ingest([message(GUILD, "720000000000000001", "730000000000000001", ms(NOW) - 420_000)])
    rows = rollup_compute.preview(NOW - timedelta(minutes=10), NOW, NOW, [int(GUILD)])
    assert [row[3] for row in rows] == [1]  # the message, counted by the tuned statement
    assert settings_now() == before


def test_a_logged_session_ending_before_it_starts_is_filled_alike(ingest, monkeypatch):
    """Whatever the log holds, the span index (migration 0019) must take it and both engines
    must fill the same table: a row whose end precedes its start counts nothing."""
    from stats.models import VoiceSessionLog

    guild, user, channel = "710000000000000011", "720000000000000011", "730000000000000011"
    with time_machine.travel(NOW, tick=False):
        ingest([message(guild, user, channel, ms(NOW - timedelta(minutes=25)))])
    VoiceSessionLog.objects.create(
        guild_id=int(guild),
        user_id=int(user),
        channel_id=int(channel),
        started_at=NOW - timedelta(minutes=20),
        ended_at=NOW - timedelta(minutes=30),
    )
    later = NOW + timedelta(hours=1)
    rollups.fill_snapshots(later)
    by_sql = whole_table()
    MetricsSnapshot.objects.all().delete()
    rollups.FillState.objects.all().delete()
    monkeypatch.setattr(rollup_compute, "ENGINE", "python")
    rollups.fill_snapshots(later)
    assert whole_table() == by_sql
    assert sorted(row[4:7] for row in by_sql if row[1] == "5min") == [(1, 0, 0)]
