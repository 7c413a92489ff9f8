"""The collector in a live guild, through the real ingest: invites that existed before the start
are listed, and the member count follows joins and leaves (up to its column's limit).
Dispatches go through discord.py's own parsers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import time_machine
from guildstats_collector.invites import InviteState

from collector.tests.conftest import ORIGIN
from collector.tests.gateway import GUILD_ID, Gateway, fixture
from guilds.models import Guild
from invites.models import Invite, InviterStats
from tests.collector.live_guild import (
    ALICE,
    OWNER,
    SETTINGS,
    _ingest_between_dispatches,  # noqa: F401 - a fixture
    delivered,
    member_count,
    ms,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


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
