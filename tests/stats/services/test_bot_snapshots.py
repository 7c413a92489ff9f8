"""Bot-aggregated guilds: METRICS_SNAPSHOT / MEMBER_ACTIVITY_SNAPSHOT feed the same counters, and
no period is counted from both raw events and a snapshot (rule in stats.services.snapshots)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stats.models import ActivitySource
from tests.factories import event, message, ms, snowflake, voice_join, voice_leave
from tests.stats import tables

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]

ORIGIN = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)
DAY = "2026-03-27"


def at(**delta: float) -> int:
    return ms(ORIGIN + timedelta(**delta))


def metrics(guild, start, minutes=1, *, messages=None, voice=None, reactions=None, channels=None):
    """A METRICS_SNAPSHOT for [start, start + minutes)."""
    messages, voice, reactions = messages or {}, voice or {}, reactions or {}
    return event(
        "METRICS_SNAPSHOT",
        guild,
        start + minutes * 60_000,
        data={
            "periodStart": start,
            "periodEnd": start + minutes * 60_000,
            "periodDuration": minutes * 60,
            "metrics": {
                "messages": {
                    "total": sum(messages.values()),
                    "byMember": messages,
                    "byChannel": channels or {},
                },
                "voice": {"totalMinutes": sum(voice.values()), "byMember": voice},
                "reactions": {
                    "total": sum(reactions.values()),
                    "byMember": reactions,
                    "byEmoji": {"👍": sum(reactions.values())} if reactions else {},
                },
            },
        },
    )


def member_activity(guild, start, members, minutes=5):
    return event(
        "MEMBER_ACTIVITY_SNAPSHOT",
        guild,
        start + minutes * 60_000,
        data={"periodStart": start, "periodEnd": start + minutes * 60_000, "members": members},
    )


def test_metrics_snapshots_feed_member_channel_and_guild_counters(ingest):
    g, alice, bob, general = snowflake(), snowflake(), snowflake(), snowflake()
    status, ack = ingest(
        [
            metrics(
                g,
                at(minutes=0),
                messages={alice: 3, bob: 1},
                voice={alice: 1.5},
                reactions={bob: 2},
                channels={general: 4},
            ),
            metrics(g, at(minutes=1), messages={alice: 2}),
        ]
    )
    assert (status, ack["accepted"], ack["rejected"]) == (200, 2, [])
    assert tables.members(g) == {int(alice): (5, 90, 0, 0), int(bob): (1, 0, 2, 0)}
    assert tables.daily(g) == {(DAY, int(alice)): (5, 90, 0, 0), (DAY, int(bob)): (1, 0, 2, 0)}
    assert tables.channels(g) == {(DAY, int(general)): (4, 0)}
    assert tables.guild_days(g) == {DAY: (6, 90, 2)}


def test_member_activity_snapshots_count_members_with_channel_detail(ingest):
    g, alice, general, lounge = snowflake(), snowflake(), snowflake(), snowflake()
    ingest(
        [
            member_activity(
                g,
                at(minutes=0),
                [
                    {
                        "userId": alice,
                        "messages": {"total": 4, "byChannel": {general: 4}},
                        "voice": {"totalMinutes": 10, "byChannel": {lounge: 10}},
                        "reactions": {"added": 1, "received": 3},
                        "lastSeen": at(minutes=4),
                    }
                ],
            )
        ]
    )
    assert tables.members(g) == {int(alice): (4, 600, 1, 3)}
    assert tables.channels(g) == {(DAY, int(general)): (4, 0), (DAY, int(lounge)): (0, 600)}
    assert tables.guild_days(g) == {DAY: (4, 600, 1)}


def test_raw_events_after_the_first_snapshot_are_stored_but_not_counted(ingest):
    g, alice, general = snowflake(), snowflake(), snowflake()
    ingest([message(g, alice, general, at(minutes=-10))])  # raw era: counted
    ingest([metrics(g, at(minutes=0), messages={alice: 2})])  # switches the guild
    ingest([message(g, alice, general, at(minutes=0, seconds=30))])  # covered: not counted
    ingest([message(g, alice, general, at(minutes=-5))])  # before the switch: counted
    assert tables.members(g) == {int(alice): (4, 0, 0, 0)}
    source = ActivitySource.objects.get(guild_id=int(g))
    assert (source.snapshots_since, source.snapshot_type) == (ORIGIN, "METRICS_SNAPSHOT")


def test_a_snapshot_overlapping_counted_raw_activity_is_not_counted(ingest):
    g, alice, general = snowflake(), snowflake(), snowflake()
    ingest([message(g, alice, general, at(minutes=0, seconds=20))])
    ingest([metrics(g, at(minutes=0), messages={alice: 7})])  # covers the counted message
    ingest([metrics(g, at(minutes=1), messages={alice: 2})])  # after it: counted
    assert tables.members(g) == {int(alice): (3, 0, 0, 0)}


def test_one_snapshot_kind_counts_per_guild(ingest):
    g, alice = snowflake(), snowflake()
    ingest(
        [
            metrics(g, at(minutes=0), messages={alice: 2}),
            member_activity(g, at(minutes=0), [{"userId": alice, "messages": {"total": 2}}]),
        ]
    )
    assert tables.members(g) == {int(alice): (2, 0, 0, 0)}


def test_voice_sessions_are_counted_up_to_the_switch(ingest):
    g, alice, lounge = snowflake(), snowflake(), snowflake()
    ingest([voice_join(g, alice, lounge, at(minutes=-10))])
    ingest([metrics(g, at(minutes=0), voice={alice: 1})])
    ingest([voice_leave(g, alice, lounge, at(minutes=20))])
    # 10 raw minutes before the switch + the snapshot's minute; the rest is the bot's to report
    assert tables.members(g) == {int(alice): (0, 660, 0, 0)}


def test_a_replayed_snapshot_changes_nothing(ingest):
    g, alice = snowflake(), snowflake()
    batch = [metrics(g, at(minutes=0), messages={alice: 2})]
    ingest(batch)
    before = tables.all_counters()
    _status, ack = ingest(batch)
    assert (ack["accepted"], ack["duplicates"]) == (0, 1)
    assert tables.all_counters() == before


@pytest.mark.parametrize(
    "data, reason",
    [
        ({"periodStart": 10, "periodEnd": 5}, "periodEnd is before periodStart"),
        ({"periodStart": 0, "periodEnd": 5, "metrics": {"messages": {"total": -1}}}, "total"),
        ({"periodEnd": 5}, "periodStart"),
    ],
)
def test_malformed_snapshots_are_rejected_with_a_reason(ingest, data, reason):
    g = snowflake()
    _status, ack = ingest([event("METRICS_SNAPSHOT", g, at(), data=data)])
    assert ack["accepted"] == 0
    assert ack["rejected"][0]["index"] == 0
    assert reason in ack["rejected"][0]["error"]
