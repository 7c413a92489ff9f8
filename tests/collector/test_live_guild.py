"""The collector in a live guild, through the real ingest: every moderator action Discord's audit
log reports becomes a case (or amends one), the voice roster reconciles sessions across a gap
(a restart, a resume) to the second, invites that existed before the start are listed, and
the member count follows joins and leaves. Dispatches go through discord.py's own parsers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import close_old_connections
from guildstats_collector.config import BatchPolicy, Settings
from guildstats_collector.invites import InviteState

from collector.tests.conftest import ORIGIN
from collector.tests.gateway import GUILD_ID, Gateway, fixture, guild_create, in_voice
from guilds.models import Guild
from invites.models import Invite, InviterStats
from moderation.models import ModerationCase
from stats.models import MemberStats, VoiceSession

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]

OWNER, ALICE, BOB, DAVE = (
    1300000000000000201,
    1300000000000000202,
    1300000000000000203,
    1300000000000000204,
)
STATSBOT = 1300000000000000001
GENERAL, VOICE_A, VOICE_B = 1300000000000000300, 1300000000000000301, 1300000000000000302
SETTINGS = Settings(default_policy=BatchPolicy(1, 0.0), audit_poll_interval=0)


@pytest.fixture(autouse=True)
def _ingest_between_dispatches(monkeypatch):
    """The tests hand the collector's output to the ingest view between dispatches, from the
    collector's event loop (the ingest itself is synchronous Django: nothing else runs then)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def audit(entry_id: int, action: int, target: int | None, **extra: Any) -> dict[str, Any]:
    """A GUILD_AUDIT_LOG_ENTRY_CREATE by the owner (Discord's shape: ``options`` strings)."""
    data: dict[str, Any] = {
        "guild_id": str(GUILD_ID),
        "id": str(entry_id),
        "action_type": action,
        "user_id": str(OWNER),
        "target_id": None if target is None else str(target),
        "changes": extra.pop("changes", []),
    }
    if "reason" in extra:
        data["reason"] = extra.pop("reason")
    if extra:
        data["options"] = {k: str(v) for k, v in extra.items()}
    return data


def snowflake_at(moment: datetime, n: int) -> int:
    return (int(moment.timestamp() * 1000) - 1420070400000) << 22 | n


def delivered(ingest, gateway: Gateway) -> None:
    """What the collector acknowledged so far, through the real ingest, nothing refused."""
    events = gateway.take()
    try:
        status, ack = ingest(events)
    finally:
        # Django keeps connections per context: the one opened inside the collector's event
        # loop would outlive it, a pooled connection never returned (the later concurrency
        # tests then waited for the pool). A server returns it after each request; so do we.
        close_old_connections()
    assert (status, ack["rejected"]) == (200, []), ack


def member_count() -> int:
    try:
        return Guild.objects.get(guild_id=GUILD_ID).member_count
    finally:
        close_old_connections()  # read from the event loop: returned at once (``delivered``)


def voice_totals() -> list[tuple[int, int]]:
    return sorted(
        MemberStats.objects.filter(guild_id=GUILD_ID, total_voice_seconds__gt=0).values_list(
            "user_id", "total_voice_seconds"
        )
    )


def open_sessions() -> list[tuple[int, int, datetime]]:
    return sorted(
        VoiceSession.objects.filter(guild_id=GUILD_ID).values_list(
            "user_id", "channel_id", "joined_at"
        )
    )


# --- every moderator action in the audit log ------------------------------------------------
def test_every_audit_action_becomes_a_case_and_a_grown_delete_amends_it(tmp_path, ingest):
    t = ORIGIN
    entries = [
        audit(snowflake_at(t, 1), 20, ALICE, reason="spam"),  # kick
        audit(snowflake_at(t, 2), 22, BOB, reason="raid"),  # ban
        audit(snowflake_at(t, 3), 23, BOB),  # unban
        audit(
            snowflake_at(t, 4),
            24,
            ALICE,
            changes=[{"key": "communication_disabled_until", "new_value": "2026-12-01T13:00:00"}],
        ),
        audit(
            snowflake_at(t, 5),
            24,
            ALICE,
            changes=[{"key": "communication_disabled_until", "old_value": "2026-12-01T13:00:00"}],
        ),
        audit(
            snowflake_at(t, 6),
            25,
            ALICE,
            changes=[{"key": "$add", "new_value": [{"id": "1300000000000000150", "name": "R"}]}],
        ),
        audit(snowflake_at(t, 7), 72, ALICE, channel_id=GENERAL, count=1),  # message delete
        audit(snowflake_at(t, 8), 73, GENERAL, count=12),  # bulk delete: the target is the channel
        audit(snowflake_at(t, 9), 74, ALICE, channel_id=GENERAL, message_id=snowflake_at(t, 99)),
        audit(snowflake_at(t, 10), 10, GENERAL),  # channel create: no case
        audit(snowflake_at(t, 11), 26, None, channel_id=VOICE_A, count=1),  # member move: none
    ]
    grown = snowflake_at(t, 7)

    async def run() -> Gateway:
        gateway = await Gateway(SETTINGS, tmp_path / "spool.sqlite3").start()
        gateway.take()
        for entry in entries:
            gateway.feed("GUILD_AUDIT_LOG_ENTRY_CREATE", entry)
        await gateway.settle()
        delivered(ingest, gateway)
        # the same moderator deletes two more of Alice's messages: Discord grows entry 7 to a
        # count of 3 and sends nothing; the REST poll after the deletes finds it
        gateway.audits.entries[GUILD_ID] = [
            audit(grown, 72, ALICE, channel_id=GENERAL, count=3),
            audit(snowflake_at(t, 8), 73, GENERAL, count=12),
        ]
        guild = gateway.bot.get_guild(GUILD_ID)
        assert await gateway.cog.audits.poll(guild) == 1  # only the grown entry is sent again
        assert await gateway.cog.audits.poll(guild) == 0  # nothing grew since
        await gateway.settle()
        delivered(ingest, gateway)
        await gateway.close()
        return gateway

    with time_machine.travel(t + timedelta(seconds=5), tick=False):
        asyncio.run(run())

    cases = list(
        ModerationCase.objects.filter(guild_id=GUILD_ID)
        .order_by("case_number")
        .values_list(
            "case_number", "action", "target_user_id", "moderator_id", "reason", "audit_entry_id"
        )
    )
    assert cases == [
        (1, "KICK", ALICE, OWNER, "spam", snowflake_at(t, 1)),
        (2, "BAN", BOB, OWNER, "raid", snowflake_at(t, 2)),
        (3, "UNBAN", BOB, OWNER, "", snowflake_at(t, 3)),
        (4, "TIMEOUT", ALICE, OWNER, "", snowflake_at(t, 4)),
        (5, "TIMEOUT_REMOVE", ALICE, OWNER, "", snowflake_at(t, 5)),
        (6, "ROLE_UPDATE", ALICE, OWNER, "", snowflake_at(t, 6)),
        (7, "MESSAGE_DELETE", ALICE, OWNER, "", grown),
        (8, "MESSAGE_DELETE_BULK", None, OWNER, "", snowflake_at(t, 8)),
    ]
    delete = ModerationCase.objects.get(guild_id=GUILD_ID, case_number=7)
    assert delete.details == {"auditAction": 72, "channelId": str(GENERAL), "count": 3}
    assert delete.timestamp == datetime.fromtimestamp(
        ((grown >> 22) + 1420070400000) / 1000, tz=UTC
    )
    bulk = ModerationCase.objects.get(guild_id=GUILD_ID, case_number=8)
    assert bulk.details == {"auditAction": 73, "channelId": str(GENERAL), "count": 12}


def test_a_lower_or_equal_count_seen_again_changes_nothing(tmp_path, ingest):
    entry = snowflake_at(ORIGIN, 1)

    async def run() -> None:
        gateway = await Gateway(SETTINGS, tmp_path / "spool.sqlite3").start()
        gateway.feed(
            "GUILD_AUDIT_LOG_ENTRY_CREATE", audit(entry, 72, ALICE, channel_id=GENERAL, count=1)
        )
        gateway.feed(
            "GUILD_AUDIT_LOG_ENTRY_CREATE", audit(entry, 72, ALICE, channel_id=GENERAL, count=5)
        )
        await gateway.settle()
        delivered(ingest, gateway)
        # a poll that reads an older view of the entry (count 2) sends nothing
        gateway.audits.entries[GUILD_ID] = [audit(entry, 72, ALICE, channel_id=GENERAL, count=2)]
        assert await gateway.cog.audits.poll(gateway.bot.get_guild(GUILD_ID)) == 0
        await gateway.close()

    with time_machine.travel(ORIGIN, tick=False):
        asyncio.run(run())
    (case,) = ModerationCase.objects.filter(guild_id=GUILD_ID)
    # the gateway's second report of the entry is a duplicate client id (al-<entry>): dropped
    assert (case.case_number, case.details["count"]) == (1, 1)


# --- voice across a gap ----------------------------------------------------------------------
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


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- invites and the member count ------------------------------------------------------------
def test_invites_present_before_the_start_are_listed_and_credited_to_nobody(tmp_path, ingest):
    Invite.objects.create(guild_id=GUILD_ID, code="gone", uses=2)  # deleted while down

    async def run() -> None:
        gateway = Gateway(SETTINGS, tmp_path / "spool.sqlite3")
        gateway.invites.invites[GUILD_ID] = {
            "old": InviteState("old", 5, 10, OWNER, "owner"),
            "fresh": InviteState("fresh", 0, 0, ALICE, "alice"),
        }
        await gateway.start()
        delivered(ingest, gateway)
        await gateway.close()

    with time_machine.travel(ORIGIN, tick=False):
        asyncio.run(run())
    invites = sorted(
        Invite.objects.filter(guild_id=GUILD_ID).values_list(
            "code", "uses", "max_uses", "inviter_id", "deleted_at"
        )
    )
    assert invites == [
        ("fresh", 0, 0, ALICE, None),
        ("gone", 2, 0, None, ORIGIN),
        ("old", 5, 10, OWNER, None),
    ]
    # the five uses from before guildstats are shown on the invite, credited to no inviter
    assert list(InviterStats.objects.filter(guild_id=GUILD_ID, regular__gt=0)) == []


def test_the_member_count_follows_joins_and_leaves_between_snapshots(tmp_path, ingest):
    counts = []

    async def run() -> None:
        gateway = await Gateway(SETTINGS, tmp_path / "spool.sqlite3").start()
        delivered(ingest, gateway)
        counts.append(member_count())
        with time_machine.travel(ORIGIN + timedelta(minutes=1), tick=False):
            gateway.feed(
                "GUILD_MEMBER_ADD", fixture("GUILD_MEMBER_ADD", joined_at="2026-12-01T12:31:00Z")
            )
            await gateway.settle()
            delivered(ingest, gateway)
            counts.append(member_count())
        with time_machine.travel(ORIGIN + timedelta(minutes=2), tick=False):
            gateway.feed("GUILD_MEMBER_REMOVE")  # Alice leaves
            # and someone the cache never had
            gateway.feed("GUILD_MEMBER_REMOVE", fixture("GUILD_MEMBER_REMOVE_UNCACHED"))
            await gateway.settle()
            delivered(ingest, gateway)
            counts.append(member_count())
        await gateway.close()

    with time_machine.travel(ORIGIN, tick=False):
        asyncio.run(run())
    assert counts == [3, 4, 2]
    # a join stamped before the last snapshot is already in Discord's count: it adds nothing
    status, ack = ingest(
        [
            {
                "type": "GUILD_MEMBER_ADD",
                "guildId": str(GUILD_ID),
                "userId": "1300000000000000777",
                "timestamp": ms(ORIGIN - timedelta(seconds=1)),
                "data": {"userId": "1300000000000000777", "username": "late"},
            }
        ]
    )
    assert (status, ack["rejected"]) == (200, [])
    assert Guild.objects.get(guild_id=GUILD_ID).member_count == 2


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


def test_a_member_count_at_the_column_limit_absorbs_joins_without_failing(ingest):
    from pipeline.models import QuarantinedEvent

    top, base = 2**31 - 1, ms(ORIGIN)
    state = {"snapshotId": "s", "reason": "ready", "memberCount": top}
    joins = [
        {
            "type": "GUILD_MEMBER_ADD",
            "guildId": str(GUILD_ID),
            "userId": str(1300000000000000700 + n),
            "timestamp": base + 1000 * (n + 1),
            "data": {"username": f"u{n}"},
        }
        for n in range(3)
    ]
    frame = [{"type": "GUILD_STATE", "guildId": str(GUILD_ID), "timestamp": base, "data": state}]
    status, ack = ingest(frame + joins)
    assert (status, ack["rejected"]) == (200, [])
    assert Guild.objects.get(guild_id=GUILD_ID).member_count == top
    assert not QuarantinedEvent.objects.exists()
