"""Recorded gateway dispatches through discord.py's own parsers into the cog: the exact events
each produces, as guildstats receives them (through the spool, a frame and an ack)."""

from __future__ import annotations

import re
from datetime import datetime

import discord
import pytest
from guildstats_collector.config import BatchPolicy, Settings
from guildstats_collector.invites import InviteState

from collector.tests.conftest import ORIGIN_MS
from collector.tests.gateway import GUILD_ID, Gateway, fixture

pytestmark = pytest.mark.asyncio

G = str(GUILD_ID)
OWNER, ALICE, BOB = "1300000000000000201", "1300000000000000202", "1300000000000000203"
GENERAL, VOICE_A, VOICE_B = "1300000000000000300", "1300000000000000301", "1300000000000000302"
MSG = fixture("MESSAGE_CREATE")["id"]
UUID = re.compile(r"[0-9a-f]{32}")


def at(snowflake: str) -> int:
    return int(discord.utils.snowflake_time(int(snowflake)).timestamp() * 1000)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def norm(events: list[dict]) -> list[dict]:
    """Random client ids become "<uuid>" (checked to be one); natural ids stay."""
    for event in events:
        if not event["id"].startswith(("mc-", "md-", "mdb-", "al-")):
            assert UUID.fullmatch(event["id"]), event["id"]
            event["id"] = "<uuid>"
    return events


async def test_ready_syncs_the_shard_its_state_and_starts_coverage(gateway):
    events = norm(gateway.take())
    snapshot = events[1]["data"]["snapshotId"]
    assert re.fullmatch(r"[0-9a-f]{32}", snapshot)
    assert events == [
        {
            "type": "GUILD_SYNC",
            "guildId": G,
            "timestamp": ORIGIN_MS,
            "shardId": 0,
            "data": {
                "guilds": [
                    {
                        "id": G,
                        "name": "Guild One",
                        "icon": "a1b2c3",
                        "ownerId": OWNER,
                        "memberCount": 3,
                        "features": ["COMMUNITY", "VANITY_URL"],
                        "premiumTier": 1,
                        "premiumSubscriptionCount": 4,
                    }
                ],
                "shardCount": 1,
            },
            "id": "<uuid>",
        },
        {  # first start: no gap known (no earlier heartbeat in the spool)
            "type": "GUILD_STATE",
            "guildId": G,
            "timestamp": ORIGIN_MS,
            "shardId": 0,
            "data": {"snapshotId": snapshot, "reason": "ready", "memberCount": 3, "voice": []},
            "id": "<uuid>",
        },
        {
            "type": "COLLECTOR_HEARTBEAT",
            "guildId": G,
            "timestamp": ORIGIN_MS,
            "shardId": 0,
            "data": {
                "state": "start",
                "since": ORIGIN_MS,
                "intervalSeconds": 60,
                "shardCount": 1,
                "guildIds": [G],
            },
            "id": "<uuid>",
        },
        {  # the invite part of the same snapshot, once fetched (the guild has none)
            "type": "GUILD_STATE",
            "guildId": G,
            "timestamp": ORIGIN_MS,
            "shardId": 0,
            "data": {"snapshotId": snapshot, "reason": "ready", "invites": []},
            "id": "<uuid>",
        },
    ]
    # the invite cache was filled at start (one fetch for the one guild)
    assert gateway.invites.calls == 1


async def test_message_create_without_content(gateway):
    gateway.take()
    gateway.feed("MESSAGE_CREATE")
    await gateway.settle()
    assert gateway.take() == [
        {
            "type": "MESSAGE_CREATE",
            "guildId": G,
            "timestamp": at(MSG),
            "userId": ALICE,
            "channelId": GENERAL,
            "messageId": MSG,
            "data": {"bot": False, "attachmentCount": 1},
            "id": f"mc-{MSG}",
        }
    ]


async def test_message_content_only_when_configured(tmp_path, frozen):
    settings = Settings(default_policy=BatchPolicy(1, 0.0), send_content=True)
    gateway = await Gateway(settings, tmp_path / "spool.sqlite3").start()
    try:
        gateway.take()
        gateway.feed("MESSAGE_CREATE")
        gateway.feed("MESSAGE_DELETE")
        await gateway.settle()
        created, deleted = gateway.take()
        assert created["data"]["content"] == "hello there"
        assert deleted["data"]["content"] == "hello there"
    finally:
        await gateway.close()


async def test_message_delete_cached_and_uncached(gateway):
    gateway.feed("MESSAGE_CREATE")
    await gateway.settle()
    gateway.take()
    gateway.feed("MESSAGE_DELETE")
    uncached = fixture("MESSAGE_DELETE_UNCACHED")["id"]
    gateway.feed("MESSAGE_DELETE", fixture("MESSAGE_DELETE_UNCACHED"))
    await gateway.settle()
    assert gateway.take() == [
        {
            "type": "MESSAGE_DELETE",
            "guildId": G,
            "timestamp": ORIGIN_MS,
            "userId": ALICE,
            "channelId": GENERAL,
            "messageId": MSG,
            "data": {
                "messageId": MSG,
                "channelId": GENERAL,
                "authorId": ALICE,
                "authorUsername": "alice",
                "hasAttachments": True,
                "attachmentCount": 1,
            },
            "id": f"md-{MSG}",
        },
        {
            "type": "MESSAGE_DELETE",
            "guildId": G,
            "timestamp": ORIGIN_MS,
            "channelId": GENERAL,
            "messageId": uncached,
            "data": {"messageId": uncached, "channelId": GENERAL},
            "id": f"md-{uncached}",
        },
    ]


async def test_bulk_delete_names_the_cached_authors(gateway):
    first, second = fixture("MESSAGE_DELETE_BULK")["ids"]
    gateway.feed("MESSAGE_CREATE", id=second)
    gateway.feed("MESSAGE_CREATE", id=first, author=fixture("GUILD_MEMBER_ADD")["user"])
    await gateway.settle()
    gateway.take()
    gateway.feed("MESSAGE_DELETE_BULK")
    await gateway.settle()
    low, high = sorted([first, second], key=int)
    assert gateway.take() == [
        {
            "type": "MESSAGE_DELETE_BULK",
            "guildId": G,
            "timestamp": ORIGIN_MS,
            "channelId": GENERAL,
            "data": {
                "messageIds": [low, high],
                "count": 2,
                "channelId": GENERAL,
                "authorIds": [ALICE, BOB],
            },
            "id": f"mdb-{low}-2",
        }
    ]


async def test_reactions_on_uncached_messages(gateway):
    gateway.take()
    gateway.feed("MESSAGE_REACTION_ADD")
    gateway.feed("MESSAGE_REACTION_ADD", fixture("MESSAGE_REACTION_ADD_CUSTOM"))
    gateway.feed("MESSAGE_REACTION_REMOVE")
    await gateway.settle()
    liked = fixture("MESSAGE_REACTION_ADD")["message_id"]
    party = fixture("MESSAGE_REACTION_ADD_CUSTOM")["message_id"]
    base = {"guildId": G, "timestamp": ORIGIN_MS, "channelId": GENERAL, "id": "<uuid>"}
    assert norm(gateway.take()) == [
        {
            **base,
            "type": "MESSAGE_REACTION_ADD",
            "userId": OWNER,
            "messageId": liked,
            "data": {"emoji": "👍", "messageAuthorId": ALICE},
        },
        {
            **base,
            "type": "MESSAGE_REACTION_ADD",
            "userId": ALICE,
            "messageId": party,
            "data": {"emoji": {"id": "1300000000000000900", "name": "party", "animated": True}},
        },
        {
            **base,
            "type": "MESSAGE_REACTION_REMOVE",
            "userId": OWNER,
            "messageId": liked,
            "data": {"emoji": "👍"},
        },
    ]


async def test_voice_join_move_leave_and_mute_is_no_move(gateway):
    gateway.take()
    for kind in ("VOICE_JOIN", "VOICE_SELF_MUTE", "VOICE_MOVE", "VOICE_LEAVE"):
        gateway.feed("VOICE_STATE_UPDATE", fixture(kind))
        await gateway.settle()
    base = {"guildId": G, "timestamp": ORIGIN_MS, "userId": ALICE, "id": "<uuid>"}
    assert norm(gateway.take()) == [
        {**base, "type": "VOICE_CHANNEL_JOIN", "channelId": VOICE_A},
        {
            **base,
            "type": "VOICE_CHANNEL_MOVE",
            "channelId": VOICE_B,
            "data": {"oldChannelId": VOICE_A, "newChannelId": VOICE_B},
        },
        {**base, "type": "VOICE_CHANNEL_LEAVE", "channelId": VOICE_B},
    ]


async def test_member_join_with_its_invite(gateway):
    # the cache at start knew abcXYZ at 3 uses; Discord now says 4: that invite
    inviter = (int(OWNER), "owner")
    gateway.invites.invites[GUILD_ID] = {"abcXYZ": InviteState("abcXYZ", 3, 10, *inviter)}
    await gateway.cog.invites.refresh(gateway.bot.get_guild(GUILD_ID))
    gateway.invites.invites[GUILD_ID] = {"abcXYZ": InviteState("abcXYZ", 4, 10, *inviter)}
    gateway.take()
    gateway.feed("GUILD_MEMBER_ADD")
    await gateway.settle()
    joined = ms(fixture("GUILD_MEMBER_ADD")["joined_at"])
    created = discord.utils.snowflake_time(int(BOB)).isoformat(timespec="milliseconds")
    created = created.replace("+00:00", "Z")
    assert norm(gateway.take()) == [
        {
            "type": "GUILD_MEMBER_ADD",
            "guildId": G,
            "timestamp": joined,
            "userId": BOB,
            "data": {
                "userId": BOB,
                "username": "bob",
                "bot": False,
                "accountCreatedAt": created,
                "inviteAttribution": "invite",
                "inviteCode": "abcXYZ",
                "inviterId": OWNER,
                "inviterUsername": "owner",
            },
            "id": "<uuid>",
        },
        {
            "type": "INVITE_USE",
            "guildId": G,
            "timestamp": joined,
            "userId": BOB,
            "data": {
                "code": "abcXYZ",
                "newMemberId": BOB,
                "newMemberUsername": "bob",
                "accountCreatedAt": created,
                "inviterId": OWNER,
                "inviterUsername": "owner",
                "uses": 4,
                "maxUses": 10,
            },
            "id": "<uuid>",
        },
    ]


async def test_member_join_without_manage_server_is_unknown_but_sent(gateway):
    from guildstats_collector.invites import FetchFailed

    gateway.invites.fail = FetchFailed("missing_permission")
    gateway.take()
    gateway.feed("GUILD_MEMBER_ADD")
    await gateway.settle()
    (join,) = gateway.take()
    assert join["type"] == "GUILD_MEMBER_ADD"
    assert join["data"]["inviteAttribution"] == "unknown"
    assert join["data"]["attributionReason"] == "missing_permission"


async def test_member_remove_cached_has_joined_at_and_roles(gateway):
    gateway.take()
    gateway.feed("GUILD_MEMBER_REMOVE")
    gateway.feed("GUILD_MEMBER_REMOVE", fixture("GUILD_MEMBER_REMOVE_UNCACHED"))
    await gateway.settle()
    base = {"type": "GUILD_MEMBER_REMOVE", "guildId": G, "timestamp": ORIGIN_MS, "id": "<uuid>"}
    assert norm(gateway.take()) == [
        {
            **base,
            "userId": ALICE,
            "data": {
                "userId": ALICE,
                "username": "alice",
                "avatar": "f00d",
                "wasKicked": False,
                "joinedAt": "2026-10-15T08:30:00.000Z",
                "roles": ["1300000000000000150"],
            },
        },
        {
            **base,
            "userId": "1300000000000000299",
            "data": {"userId": "1300000000000000299", "username": "ghost", "wasKicked": False},
        },
    ]


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


async def test_invites_create_and_delete(gateway):
    gateway.take()
    gateway.feed("INVITE_CREATE")
    gateway.feed("INVITE_DELETE")
    await gateway.settle()
    base = {"guildId": G, "timestamp": ORIGIN_MS, "id": "<uuid>"}
    assert norm(gateway.take()) == [
        {
            **base,
            "type": "INVITE_CREATE",
            "data": {
                "code": "abcXYZ",
                "maxUses": 10,
                "maxAge": 86400,
                "temporary": False,
                "uses": 0,
                "channelId": GENERAL,
                "inviterId": OWNER,
                "inviterUsername": "owner",
                "createdAt": "2026-12-01T11:00:00.000Z",
                "expiresAt": "2026-12-02T11:00:00.000Z",
            },
        },
        {**base, "type": "INVITE_DELETE", "data": {"code": "abcXYZ", "channelId": GENERAL}},
    ]


async def test_guild_update_and_delete(gateway):
    gateway.take()
    gateway.feed("GUILD_UPDATE")
    gateway.feed("GUILD_DELETE")
    await gateway.settle()
    base = {"guildId": G, "timestamp": ORIGIN_MS, "id": "<uuid>"}
    assert norm(gateway.take()) == [
        {
            **base,
            "type": "GUILD_UPDATE",
            "data": {
                "id": G,
                "changes": {
                    "name": {"old": "Guild One", "new": "Guild One Renamed"},
                    "premiumTier": {"old": 1, "new": 2},
                    "premiumSubscriptionCount": {"old": 4, "new": 7},
                },
            },
        },
        {**base, "type": "GUILD_DELETE", "data": {"id": G}},
    ]


async def test_disabled_types_are_not_sent(tmp_path, frozen):
    settings = Settings(
        default_policy=BatchPolicy(1, 0.0),
        disabled_types=frozenset({"MESSAGE_CREATE", "GUILD_SYNC"}),
    )
    gateway = await Gateway(settings, tmp_path / "spool.sqlite3").start()
    try:
        gateway.feed("MESSAGE_CREATE")
        gateway.feed("GUILD_BAN_ADD")
        await gateway.settle()
        assert [e["type"] for e in gateway.take()] == [
            "GUILD_STATE",  # the voice roster and member count at ready
            "COLLECTOR_HEARTBEAT",
            "GUILD_STATE",  # the invite list, once fetched
            "GUILD_BAN_ADD",
        ]
    finally:
        await gateway.close()


async def test_unload_sends_the_coverage_stop(gateway):
    gateway.take()
    await gateway.bot.remove_cog(gateway.cog.qualified_name)
    (stop,) = norm(gateway.transport.events)
    assert stop["type"] == "COLLECTOR_HEARTBEAT"
    assert stop["data"] == {
        "state": "stop",
        "since": ORIGIN_MS,
        "intervalSeconds": 60,
        "shardCount": 1,
        "guildIds": [G],
    }
    await gateway.bot.add_cog(gateway.cog)  # so that the fixture's close finds it
