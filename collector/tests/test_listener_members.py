"""Recorded gateway dispatches through discord.py's own parsers into the cog: members joining
(with their invite) and leaving, invites created and deleted, as guildstats receives them
(through the spool, a frame and an ack)."""

from __future__ import annotations

import discord
import pytest
from guildstats_collector.invites import InviteState

from collector.tests.conftest import ORIGIN_MS
from collector.tests.gateway import GUILD_ID, fixture
from collector.tests.listeners import ALICE, BOB, GENERAL, OWNER, G, change_id, ms, norm

pytestmark = pytest.mark.asyncio


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
    entry = {
        "id": BOB,
        "username": "bob",
        "globalName": "Bob",
        "nick": None,
        "avatar": None,
        "guildAvatar": None,
        "bot": False,
        "joinedAt": "2026-12-01T12:05:00.000Z",
        "roles": [],
    }
    assert norm(gateway.take()) == [
        {  # the directory's entry of the new member, at once (no snapshot lists it yet)
            "type": "GUILD_MEMBER_UPDATE",
            "guildId": G,
            "timestamp": ORIGIN_MS,
            "userId": BOB,
            "data": entry,
            "id": change_id("mu", BOB, ORIGIN_MS, entry),
        },
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
    (join,) = [e for e in gateway.take() if e["type"] != "GUILD_MEMBER_UPDATE"]
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
