"""Real-time processors through the ingest endpoint: messages, reactions, voice, days, exclusions.

Times are pinned to a fixed origin (retention widened so historical timestamps are accepted) and
whole tables are asserted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from guilds.models import Guild
from stats.models import MemberStats
from tests.factories import (
    GuildFactory,
    event,
    message,
    ms,
    reaction,
    snowflake,
    voice_join,
    voice_leave,
    voice_move,
    voice_state,
)
from tests.stats import tables

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]

ORIGIN = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)  # a Friday, two days before the EU DST change
DAY = "2026-03-27"


def at(**delta: float) -> int:
    return ms(ORIGIN + timedelta(**delta))


def test_messages_count_per_member_channel_and_day(ingest):
    g, alice, bob, general, random = (snowflake() for _ in range(5))
    ingest(
        [
            message(g, alice, general, at(minutes=0)),
            message(g, alice, general, at(minutes=1)),
            message(g, alice, random, at(hours=15)),  # next UTC day
            message(g, bob, general, at(minutes=2)),
        ]
    )
    A, B, GEN, RND = int(alice), int(bob), int(general), int(random)
    assert tables.members(g) == {A: (3, 0, 0, 0), B: (1, 0, 0, 0)}
    assert tables.channels(g) == {("2026-03-27", GEN): (3, 0), ("2026-03-28", RND): (1, 0)}
    assert tables.guild_days(g) == {"2026-03-27": (3, 0, 0), "2026-03-28": (1, 0, 0)}
    assert tables.daily(g) == {
        ("2026-03-27", A): (2, 0, 0, 0),
        ("2026-03-28", A): (1, 0, 0, 0),
        ("2026-03-27", B): (1, 0, 0, 0),
    }
    row = MemberStats.objects.get(guild_id=int(g), user_id=A)
    assert row.last_message_at == ORIGIN + timedelta(hours=15)
    assert row.last_seen == ORIGIN + timedelta(hours=15)


def test_days_follow_the_guild_timezone(ingest):
    guild = GuildFactory(timezone="America/New_York")
    g, user, channel = str(guild.guild_id), snowflake(), snowflake()
    # 2026-03-28 02:00 UTC is still the 27th in New York (UTC-4)
    ingest([message(g, user, channel, at(hours=16)), message(g, user, channel, at(hours=10))])
    assert tables.daily(g) == {("2026-03-27", int(user)): (2, 0, 0, 0)}


def test_reactions_given_and_received(ingest):
    g, alice, bob = snowflake(), snowflake(), snowflake()
    A, B = int(alice), int(bob)
    ingest(
        [
            reaction(g, alice, bob, at(minutes=1)),
            reaction(g, alice, bob, at(minutes=2), emoji="🎉"),
            reaction(g, bob, bob, at(minutes=3)),  # self-reaction: given, not received
            reaction(g, bob, None, at(minutes=4)),  # author unknown: given only
            reaction(g, alice, bob, at(minutes=5), removed=True),  # removal: stored, not subtracted
        ]
    )
    assert tables.members(g) == {A: (0, 0, 2, 0), B: (0, 0, 2, 2)}
    assert tables.daily(g) == {("2026-03-27", A): (0, 0, 2, 0), ("2026-03-27", B): (0, 0, 2, 2)}
    assert tables.guild_days(g) == {"2026-03-27": (0, 0, 4)}


def test_bot_accounts_and_excluded_channels_are_stored_but_not_counted(ingest):
    guild = GuildFactory()
    g = str(guild.guild_id)
    human, bot, chan, muted_chan = snowflake(), snowflake(), snowflake(), snowflake()
    guild.excluded_channel_ids = [muted_chan]
    guild.save()
    _status, ack = ingest(
        [
            message(g, bot, chan, at(minutes=1), data={"bot": True}),
            message(g, bot, chan, at(minutes=2)),  # known bot from now on
            reaction(g, bot, human, at(minutes=3)),
            reaction(g, human, bot, at(minutes=4)),  # given by the human; a bot receives nothing
            message(g, human, chan, at(minutes=5)),
            message(g, human, muted_chan, at(minutes=6)),
            voice_join(g, human, muted_chan, at(minutes=10)),
            voice_leave(g, human, muted_chan, at(minutes=20)),
        ]
    )
    assert ack["accepted"] == 8
    H, BOT = int(human), int(bot)
    assert tables.members(g) == {H: (1, 0, 1, 0), BOT: (0, 0, 0, 0)}
    assert MemberStats.objects.get(guild_id=int(g), user_id=BOT).is_bot
    # a guild may choose to count its bots
    guild.count_bots = True
    guild.save()
    ingest([message(g, bot, chan, at(minutes=30))])
    assert tables.members(g)[BOT] == (1, 0, 0, 0)


def test_voice_join_move_leave_counts_exact_seconds(ingest):
    g, user, c1, c2 = snowflake(), snowflake(), snowflake(), snowflake()
    U = int(user)
    ingest(
        [
            voice_join(g, user, c1, at(seconds=0.4)),
            voice_move(g, user, c1, c2, at(seconds=90.2)),  # 90 s in c1 (0.4 → 90.2 rounds to 90)
            voice_leave(g, user, c2, at(seconds=119.9)),  # 30 s in c2
        ]
    )
    assert tables.members(g) == {U: (0, 120, 0, 0)}
    assert tables.channels(g) == {(DAY, int(c1)): (0, 90), (DAY, int(c2)): (0, 30)}
    assert tables.sessions(g) == {}
    # seconds are never floored to minutes per session: 3 x 59 s = 177 s
    for i in range(3):
        ingest(
            [
                voice_join(g, user, c1, at(minutes=10 * i + 10)),
                voice_leave(g, user, c1, at(minutes=10 * i + 10, seconds=59)),
            ]
        )
    assert tables.members(g) == {U: (0, 120 + 177, 0, 0)}


def test_voice_state_update_semantics(ingest):
    g, user, c1, c2 = snowflake(), snowflake(), snowflake(), snowflake()
    U = int(user)
    ingest(
        [
            voice_state(g, user, c1, at(minutes=0)),
            voice_state(g, user, c1, at(minutes=5)),  # mute/unmute in the same channel: no change
            voice_state(g, user, c2, at(minutes=10)),  # a move
            voice_state(g, user, None, at(minutes=25)),  # null channel: leave
        ]
    )
    assert tables.channels(g) == {(DAY, int(c1)): (0, 600), (DAY, int(c2)): (0, 900)}
    assert tables.members(g) == {U: (0, 1500, 0, 0)}


def test_leave_without_a_session_counts_nothing_and_sessions_survive_batches(ingest):
    g, user, c1 = snowflake(), snowflake(), snowflake()
    U = int(user)
    ingest([voice_leave(g, user, c1, at(minutes=5))])
    assert tables.members(g) == {}
    ingest([voice_join(g, user, c1, at(minutes=10))])
    assert tables.sessions(g) == {U: int(c1)}
    ingest([voice_leave(g, user, c1, at(minutes=40))])
    assert tables.members(g) == {U: (0, 1800, 0, 0)}
    assert tables.sessions(g) == {}


def test_events_of_a_batch_apply_in_timestamp_order(ingest):
    g, user, c1 = snowflake(), snowflake(), snowflake()
    ingest([voice_leave(g, user, c1, at(minutes=30)), voice_join(g, user, c1, at(minutes=0))])
    assert tables.members(g) == {int(user): (0, 1800, 0, 0)}


def test_stale_voice_event_older_than_the_open_session_is_ignored(ingest):
    g, user, c1, c2 = snowflake(), snowflake(), snowflake(), snowflake()
    ingest([voice_join(g, user, c1, at(minutes=10))])
    ingest([voice_leave(g, user, c1, at(minutes=5))])  # older than the join: ignored
    assert tables.sessions(g) == {int(user): int(c1)}
    ingest([voice_move(g, user, c1, c2, at(minutes=20)), voice_leave(g, user, c2, at(minutes=21))])
    assert tables.members(g) == {int(user): (0, 660, 0, 0)}


def test_voice_session_across_midnight_is_split_by_guild_day(ingest):
    guild = GuildFactory(timezone="Europe/Paris")
    g, user, c1 = str(guild.guild_id), snowflake(), snowflake()
    U = int(user)
    # Paris is UTC+1 on 27 March: 22:30 → 00:45 local is 21:30 → 23:45 UTC
    ingest(
        [
            voice_join(g, user, c1, at(hours=11, minutes=30)),
            voice_leave(g, user, c1, at(hours=13, minutes=45)),
        ]
    )
    assert tables.daily(g) == {
        ("2026-03-27", U): (0, 5400, 0, 0),
        ("2026-03-28", U): (0, 2700, 0, 0),
    }


def test_dst_day_has_23_hours(ingest):
    guild = GuildFactory(timezone="Europe/Paris")
    g, user, c1 = str(guild.guild_id), snowflake(), snowflake()
    U = int(user)
    # in voice from Saturday 28 March 23:00 local (22:00 UTC) to Monday 30 March 01:00 local
    # (23:00 UTC on the 29th): Sunday 29 March lost an hour to DST and has 23 hours.
    start = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    end = datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    ingest([voice_join(g, user, c1, ms(start)), voice_leave(g, user, c1, ms(end))])
    # the 12 h cap applies: only 23:00 → 12:00 local (10:00 UTC) is counted
    assert tables.daily(g) == {
        ("2026-03-28", U): (0, 3600, 0, 0),
        ("2026-03-29", U): (0, 39600, 0, 0),
    }


def test_dst_day_split_without_cap(ingest, guildstats_settings):
    guildstats_settings(VOICE_SESSION_CAP_HOURS=48)
    guild = GuildFactory(timezone="Europe/Paris")
    g, user, c1 = str(guild.guild_id), snowflake(), snowflake()
    U = int(user)
    start = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    end = datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    ingest([voice_join(g, user, c1, ms(start)), voice_leave(g, user, c1, ms(end))])
    assert tables.daily(g) == {
        ("2026-03-28", U): (0, 3600, 0, 0),
        ("2026-03-29", U): (0, 23 * 3600, 0, 0),
        ("2026-03-30", U): (0, 3600, 0, 0),
    }
    assert tables.guild_days(g) == {
        "2026-03-28": (0, 3600, 0),
        "2026-03-29": (0, 23 * 3600, 0),
        "2026-03-30": (0, 3600, 0),
    }


def test_session_longer_than_the_cap_is_counted_up_to_the_cap(ingest):
    g, user, c1 = snowflake(), snowflake(), snowflake()
    ingest([voice_join(g, user, c1, at(hours=0)), voice_leave(g, user, c1, at(hours=20))])
    assert tables.members(g) == {int(user): (0, 12 * 3600, 0, 0)}


def test_cleanup_task_closes_stale_sessions_at_the_cap(ingest, guildstats_settings):
    from stats.tasks import close_stale_voice_sessions

    guildstats_settings(VOICE_SESSION_CAP_HOURS=1)
    g, user, fresh_user, c1 = snowflake(), snowflake(), snowflake(), snowflake()
    ingest([voice_join(g, user, c1, ms(ago=2 * 3600)), voice_join(g, fresh_user, c1, ms(ago=60))])
    assert close_stale_voice_sessions.delay().get() == 1
    assert tables.sessions(g) == {int(fresh_user): int(c1)}
    assert tables.members(g)[int(user)] == (0, 3600, 0, 0)
    # the late leave finds no session and counts nothing; running cleanup again changes nothing
    ingest([voice_leave(g, user, c1, ms(ago=30))])
    assert close_stale_voice_sessions.delay().get() == 0
    assert tables.members(g)[int(user)] == (0, 3600, 0, 0)


def test_guild_rows_are_created_for_new_guilds(ingest):
    g = snowflake()
    ingest([message(g, snowflake(), snowflake(), at())])
    guild = Guild.objects.get(guild_id=int(g))
    assert (guild.timezone, guild.is_active, guild.count_bots) == ("UTC", True, False)


def test_malformed_data_never_crashes_processing(ingest):
    g, user, c1 = snowflake(), snowflake(), snowflake()
    status, ack = ingest(
        [
            event("MESSAGE_REACTION_ADD", g, at(), user=user, data={"messageAuthorId": None}),
            event("VOICE_CHANNEL_MOVE", g, at(minutes=1), user=user, channel=c1, data={}),
            event("VOICE_MUTE", g, at(minutes=2), user=user, channel=c1),
        ]
    )
    assert (status, ack["accepted"]) == (200, 3)
    assert tables.members(g)[int(user)] == (0, 0, 1, 0)
    assert tables.sessions(g) == {int(user): int(c1)}
