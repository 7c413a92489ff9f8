"""Recorded gateway dispatches through discord.py's own parsers into the cog: bans, audit-log
entries and auto-moderation, as guildstats receives them (through the spool, a frame and an
ack)."""

from __future__ import annotations

import pytest

from collector.tests.conftest import ORIGIN_MS
from collector.tests.gateway import fixture
from collector.tests.listeners import ALICE, GENERAL, OWNER, G, at, norm

pytestmark = pytest.mark.asyncio


async def test_bans(gateway):
    gateway.take()
    gateway.feed("GUILD_BAN_ADD")
    gateway.feed("GUILD_BAN_REMOVE")
    await gateway.settle()
    data = {"targetUserId": ALICE, "targetUsername": "alice", "targetAvatar": "f00d"}
    base = {"guildId": G, "timestamp": ORIGIN_MS, "userId": ALICE, "data": data, "id": "<uuid>"}
    assert norm(gateway.take()) == [
        {"type": "GUILD_BAN_ADD", **base},
        {"type": "GUILD_BAN_REMOVE", **base},
    ]


async def test_audit_log_entries(gateway):
    gateway.take()
    for name in ("KICK", "TIMEOUT", "BULK"):
        gateway.feed(
            "GUILD_AUDIT_LOG_ENTRY_CREATE", fixture(f"GUILD_AUDIT_LOG_ENTRY_CREATE_{name}")
        )
    await gateway.settle()
    kick, timeout, bulk = (
        fixture(f"GUILD_AUDIT_LOG_ENTRY_CREATE_{n}")["id"] for n in ("KICK", "TIMEOUT", "BULK")
    )
    owner = {"executorId": OWNER, "executorUsername": "owner"}
    assert gateway.take() == [
        {
            "type": "GUILD_AUDIT_LOG_ENTRY_CREATE",
            "guildId": G,
            "timestamp": at(kick),
            "userId": OWNER,
            "data": {
                "id": kick,
                "action": 20,
                "changes": [],
                **owner,
                "targetId": ALICE,
                "targetType": "user",
                "reason": "spam",
            },
            "id": f"al-{kick}",
        },
        {
            "type": "GUILD_AUDIT_LOG_ENTRY_CREATE",
            "guildId": G,
            "timestamp": at(timeout),
            "userId": OWNER,
            "data": {
                "id": timeout,
                "action": 24,
                "changes": [
                    {
                        "key": "communication_disabled_until",
                        "oldValue": None,
                        "newValue": "2026-12-01T13:00:00.000000+00:00",
                    }
                ],
                **owner,
                "targetId": ALICE,
                "targetType": "user",
                "reason": "cool down",
            },
            "id": f"al-{timeout}",
        },
        {
            "type": "GUILD_AUDIT_LOG_ENTRY_CREATE",
            "guildId": G,
            "timestamp": at(bulk),
            "userId": OWNER,
            "data": {
                "id": bulk,
                "action": 73,
                "changes": [],
                **owner,
                "targetId": GENERAL,
                "targetType": "channel",
                "count": 2,
            },
            "id": f"al-{bulk}",
        },
    ]


async def test_auto_moderation_execution_without_content(gateway):
    gateway.take()
    gateway.feed("AUTO_MODERATION_ACTION_EXECUTION")
    await gateway.settle()
    message = fixture("AUTO_MODERATION_ACTION_EXECUTION")["message_id"]
    assert norm(gateway.take()) == [
        {
            "type": "AUTO_MODERATION_ACTION_EXECUTION",
            "guildId": G,
            "timestamp": ORIGIN_MS,
            "userId": ALICE,
            "channelId": GENERAL,
            "messageId": message,
            "data": {
                "ruleId": "1300000000000000700",
                "ruleTriggerType": 1,
                "action": {"type": 1},
                "userId": ALICE,
                "channelId": GENERAL,
                "messageId": message,
                "matchedKeyword": "cheap",
            },
            "id": "<uuid>",
        }
    ]
