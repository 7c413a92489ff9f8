"""Recorded gateway dispatches through discord.py's own parsers into the cog: messages,
reactions and voice, as guildstats receives them (through the spool, a frame and an ack)."""

from __future__ import annotations

import pytest
from guildstats_collector.config import BatchPolicy, Settings

from collector.tests.conftest import ORIGIN_MS
from collector.tests.gateway import Gateway, fixture
from collector.tests.listeners import ALICE, BOB, GENERAL, MSG, OWNER, VOICE_A, VOICE_B, G, at, norm

pytestmark = pytest.mark.asyncio


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
