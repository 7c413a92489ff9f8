"""The collector in a live guild, through the real ingest: the voice roster reconciles sessions
across a gap (a restart, a resume) to the second, and opens none for a member who opted out.
Dispatches go through discord.py's own parsers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import time_machine

from collector.tests.conftest import ORIGIN
from collector.tests.gateway import GUILD_ID, Gateway, guild_create, in_voice
from tests.collector.live_guild import (
    ALICE,
    BOB,
    DAVE,
    OWNER,
    SETTINGS,
    VOICE_A,
    VOICE_B,
    _ingest_between_dispatches,  # noqa: F401 - a fixture
    delivered,
    ms,
    open_sessions,
    voice_totals,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


def test_a_restart_reconciles_voice_to_the_second(tmp_path, ingest):
    """Run 1 sees owner and Alice in A and Bob in B, beats once at +60 s, then crashes. Run 2,
    ten minutes later: owner still in A, Alice moved to B, Bob gone, Dave in A. Everyone leaves
    five minutes after that."""
    spool = tmp_path / "spool.sqlite3"
    t0, t1 = ORIGIN, ORIGIN + timedelta(minutes=10)

    async def first_run() -> None:
        gateway = await Gateway(SETTINGS, spool).start(
            guild_create=guild_create(
                (OWNER, "owner", VOICE_A), (ALICE, "alice", VOICE_A), (BOB, "bob", VOICE_B)
            )
        )
        with time_machine.travel(t0 + timedelta(seconds=60), tick=False):
            gateway.cog.coverage.beat()  # its time is kept in the spool
            await gateway.settle()
        delivered(ingest, gateway)
        # a crash: no coverage stop, nothing else written (the fixture's close is not called)
        await gateway.collector.stop()

    async def second_run() -> None:
        gateway = await Gateway(SETTINGS, spool).start(
            guild_create=guild_create(
                (OWNER, "owner", VOICE_A), (ALICE, "alice", VOICE_B), (DAVE, "dave", VOICE_A)
            )
        )
        delivered(ingest, gateway)
        with time_machine.travel(t1 + timedelta(minutes=5), tick=False):
            for who, name in ((OWNER, "owner"), (ALICE, "alice"), (DAVE, "dave")):
                gateway.feed("VOICE_STATE_UPDATE", in_voice(who, name, None))
            await gateway.settle()
            delivered(ingest, gateway)
            await gateway.close()

    with time_machine.travel(t0, tick=False):
        asyncio.run(first_run())
    assert open_sessions() == [(OWNER, VOICE_A, t0), (ALICE, VOICE_A, t0), (BOB, VOICE_B, t0)]
    with time_machine.travel(t1, tick=False):
        asyncio.run(second_run())
    assert voice_totals() == [
        (OWNER, 900),  # in A throughout: one continuous session, t0 to t1 + 5 min
        (ALICE, 60 + 300),  # A until the last heartbeat, then B from the snapshot
        (BOB, 60),  # left during the gap: closed at its start (the last heartbeat)
        (DAVE, 300),  # joined during the gap: from the snapshot
    ]
    assert open_sessions() == []


def test_a_resume_drops_replayed_transitions_and_reconciles_by_the_roster(tmp_path, ingest):
    t0 = ORIGIN

    async def run() -> None:
        gateway = await Gateway(SETTINGS, tmp_path / "spool.sqlite3").start()
        gateway.feed("VOICE_STATE_UPDATE", in_voice(ALICE, "alice", VOICE_A))
        await gateway.settle()
        with time_machine.travel(t0 + timedelta(minutes=2), tick=False):
            gateway.bot.dispatch("disconnect")
            await gateway.settle()
        with time_machine.travel(t0 + timedelta(minutes=5), tick=False):
            # Discord replays what the shard missed, then RESUMED
            gateway.feed("VOICE_STATE_UPDATE", in_voice(ALICE, "alice", None))
            gateway.feed("VOICE_STATE_UPDATE", in_voice(OWNER, "owner", VOICE_B))
            gateway.feed("RESUMED", {})
            await gateway.settle()
            sent = [
                e for e in gateway.transport.events if e["type"].startswith(("VOICE", "GUILD_S"))
            ]
            assert [(e["type"], e["timestamp"]) for e in sent][-2:] == [
                ("VOICE_CHANNEL_JOIN", ms(t0)),
                ("GUILD_STATE", ms(t0 + timedelta(minutes=5))),
            ]
            state = sent[-1]["data"]
            assert (state["reason"], state["gapSince"], state["memberCount"]) == (
                "resume",
                ms(t0 + timedelta(minutes=2)),
                3,
            )
            assert state["voice"] == [{"channelId": str(VOICE_B), "userIds": [str(OWNER)]}]
            delivered(ingest, gateway)
        with time_machine.travel(t0 + timedelta(minutes=6), tick=False):
            gateway.feed("VOICE_STATE_UPDATE", in_voice(OWNER, "owner", None))
            await gateway.settle()
            delivered(ingest, gateway)
            await gateway.close()

    with time_machine.travel(t0, tick=False):
        asyncio.run(run())
    # Alice: until the disconnect; the owner: from RESUMED (not from the replay's own moment)
    assert voice_totals() == [(OWNER, 60), (ALICE, 120)]
    assert open_sessions() == []


def test_a_member_who_opted_out_gets_no_session_from_a_roster(tmp_path, ingest):
    from privacy.services.optouts import add_opt_out

    add_opt_out(GUILD_ID, ALICE, actor="test")

    async def run() -> None:
        gateway = await Gateway(SETTINGS, tmp_path / "spool.sqlite3").start(
            guild_create=guild_create((OWNER, "owner", VOICE_A), (ALICE, "alice", VOICE_A))
        )
        delivered(ingest, gateway)  # the roster is accepted whole: it names others too
        await gateway.close()

    with time_machine.travel(ORIGIN, tick=False):
        asyncio.run(run())
    assert open_sessions() == [(OWNER, VOICE_A, ORIGIN)]
