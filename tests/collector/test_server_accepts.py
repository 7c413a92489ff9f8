"""What the collector sends is what the server takes: every recorded dispatch's events go
through the real ingest (HTTP view, validation, processing) with nothing rejected, and land as
the cases, joins, guild rows and collection windows they describe."""

from __future__ import annotations

import asyncio

import pytest
import time_machine
from guildstats_collector.config import BatchPolicy, Settings
from guildstats_collector.invites import InviteState

from collector.tests.conftest import ORIGIN
from collector.tests.gateway import GUILD_ID, RECORDED_DISPATCHES, Gateway, fixture
from guilds.models import CollectionWindow, Guild
from invites.models import MemberJoin
from moderation.models import ModerationCase
from stats.models import MemberStats

OWNER, ALICE, BOB = 1300000000000000201, 1300000000000000202, 1300000000000000203


async def _record(tmp_path) -> list[dict]:
    gateway = await Gateway(
        Settings(default_policy=BatchPolicy(1, 0.0)), tmp_path / "spool.sqlite3"
    ).start()
    invite = {"abcXYZ": InviteState("abcXYZ", 3, 10, OWNER, "owner")}
    gateway.invites.invites[GUILD_ID] = invite
    await gateway.cog.invites.refresh(gateway.bot.get_guild(GUILD_ID))
    gateway.invites.invites[GUILD_ID] = {"abcXYZ": InviteState("abcXYZ", 4, 10, OWNER, "owner")}
    for kind, name in RECORDED_DISPATCHES:
        gateway.feed(kind, fixture(name))
        await gateway.settle()
    gateway.cog.coverage.beat()
    await gateway.close()  # the coverage stop
    return gateway.transport.events


@pytest.mark.django_db(transaction=True)
def test_every_event_the_collector_sends_is_accepted_and_applied(tmp_path, ingest):
    with time_machine.travel(ORIGIN, tick=False):
        events = asyncio.run(_record(tmp_path))
        status, ack = ingest(events)
    assert status == 200
    assert ack["rejected"] == []
    assert (ack["accepted"], ack["duplicates"]) == (len(events), 0)
    sent = {e["type"] for e in events}
    assert {"GUILD_SYNC", "COLLECTOR_HEARTBEAT", "INVITE_USE", "VOICE_CHANNEL_MOVE"} <= sent

    guild = Guild.objects.get(guild_id=GUILD_ID)
    assert (guild.name, guild.is_active, guild.shard_id, guild.premium_tier) == (
        "Guild One Renamed",
        True,
        0,
        2,
    )
    assert guild.bot_token_id is not None

    cases = sorted(
        (
            (c.action, c.target_user_id, c.moderator_id)
            for c in ModerationCase.objects.filter(guild_id=GUILD_ID)
        ),
        key=repr,
    )
    assert cases == sorted(
        [
            ("BAN", ALICE, None),
            ("TIMEOUT", ALICE, OWNER),
            ("MESSAGE_DELETE_BULK", None, OWNER),
            ("AUTOMOD", ALICE, None),
        ]
    )

    (join,) = MemberJoin.objects.filter(guild_id=GUILD_ID)
    assert (join.user_id, join.kind, join.attribution, join.inviter_id, join.invite_code) == (
        BOB,
        "regular",
        "invite",
        OWNER,
        "abcXYZ",
    )

    alice = MemberStats.objects.get(guild_id=GUILD_ID, user_id=ALICE)
    assert alice.total_messages == 1
    assert alice.total_reactions_received == 1

    windows = list(
        CollectionWindow.objects.filter(guild_id=GUILD_ID).values_list("started_at", "ended_at")
    )
    assert windows == [(ORIGIN, ORIGIN)]  # start, alive and stop all at the pinned instant
