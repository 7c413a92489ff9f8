"""The collector in a live guild, through the real ingest: every moderator action Discord's audit
log reports becomes a case (or amends one: a grown delete entry). Dispatches go through
discord.py's own parsers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from collector.tests.conftest import ORIGIN
from collector.tests.gateway import GUILD_ID, Gateway
from moderation.models import ModerationCase
from tests.collector.live_guild import (
    ALICE,
    BOB,
    GENERAL,
    OWNER,
    SETTINGS,
    VOICE_A,
    _ingest_between_dispatches,  # noqa: F401 - a fixture
    audit,
    delivered,
    snowflake_at,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


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
