"""Recorded gateway dispatches through discord.py's own parsers into the cog: a guild's
directory (its snapshot when the guild becomes available, then every change of a channel, a
thread, a role, an emoji, a member or the bot itself), as guildstats receives it (through the
spool, a frame and an ack)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from collector.tests.conftest import ORIGIN_MS
from collector.tests.gateway import DIRECTORY_DISPATCHES, GUILD_ID, fixture
from collector.tests.listeners import ALICE, GENERAL, OWNER, VOICE_A, VOICE_B, G, change_id

pytestmark = pytest.mark.asyncio

BOT = "1300000000000000001"
TEXT, HELP = "1300000000000000310", "1300000000000000320"
REGULARS, BOT_ROLE = "1300000000000000150", "1300000000000000151"
PARTY, DANCE = "1300000000000000400", "1300000000000000401"

CHANNELS = [
    {"id": TEXT, "name": "Text", "type": 4, "parentId": None, "position": 0},
    {"id": GENERAL, "name": "general", "type": 0, "parentId": TEXT, "position": 0},
    {"id": VOICE_A, "name": "Voice A", "type": 2, "parentId": None, "position": 1},
    {"id": VOICE_B, "name": "Voice B", "type": 2, "parentId": None, "position": 2},
    {"id": HELP, "name": "help", "type": 11, "parentId": GENERAL, "position": 0},  # a thread
]
ROLES = [
    {"id": G, "name": "@everyone", "color": 0, "position": 0, "managed": False},
    {"id": REGULARS, "name": "Regulars", "color": 3447003, "position": 1, "managed": False},
    {"id": BOT_ROLE, "name": "statsbot", "color": 0, "position": 2, "managed": True},
]
EMOJIS = [
    {"id": PARTY, "name": "party", "animated": False},
    {"id": DANCE, "name": "dance", "animated": True},
]


def member(user_id: str, username: str, joined: str, **fields: Any) -> dict[str, Any]:
    entry = {
        "id": user_id,
        "username": username,
        "globalName": None,
        "nick": None,
        "avatar": None,
        "guildAvatar": None,
        "bot": False,
        "joinedAt": joined,
        "roles": [],
    }
    entry.update(fields)
    return entry


STATSBOT = member(BOT, "statsbot", "2026-11-01T10:00:00.000Z", bot=True, roles=[BOT_ROLE])
OWNER_ENTRY = member(OWNER, "owner", "2026-10-01T10:00:00.000Z", globalName="Owner")
OWNER_ENTRY["roles"] = [REGULARS]
ALICE_ENTRY = member(
    ALICE,
    "alice",
    "2026-10-15T08:30:00.000Z",
    globalName="Alice",
    nick="Ally",
    avatar="f00d",
    guildAvatar="a_beef",
    roles=[REGULARS],
)


def change(kind: str, prefix: str, entity: str, data: dict, timestamp: int = ORIGIN_MS, **ids):
    return {
        "type": kind,
        "guildId": G,
        "timestamp": timestamp,
        **ids,
        "data": data,
        "id": change_id(prefix, entity, timestamp, data),
    }


def directories(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"] == "GUILD_DIRECTORY"]


async def test_ready_sends_the_whole_directory(gateway):
    (snapshot,) = directories(gateway.take())
    snapshot_id = snapshot["data"]["snapshotId"]
    assert re.fullmatch(r"[0-9a-f]{32}", snapshot_id)
    assert snapshot == {
        "type": "GUILD_DIRECTORY",
        "guildId": G,
        "timestamp": ORIGIN_MS,
        "shardId": 0,
        "data": {
            "snapshotId": snapshot_id,
            "part": 0,
            "parts": 1,
            "sections": ["channels", "roles", "emojis", "members"],
            "channels": CHANNELS,
            "roles": ROLES,
            "emojis": EMOJIS,
            "members": [STATSBOT, OWNER_ENTRY, ALICE_ENTRY],
        },
        "id": f"dir-{snapshot_id}-0",
    }


async def test_every_change_of_the_directory(gateway):
    gateway.take()
    for kind, name in DIRECTORY_DISPATCHES:
        gateway.feed(kind, fixture(name))
        await gateway.settle()
    gateway.cog.directory.check_me()  # what its watch does every heartbeat interval
    await gateway.settle()
    announcements = fixture("CHANNEL_CREATE")["id"]
    cats = fixture("THREAD_CREATE")["id"]
    moderators = fixture("GUILD_ROLE_CREATE")["role"]["id"]
    wave = fixture("GUILD_EMOJIS_UPDATE")["emojis"][1]["id"]
    created = {"id": announcements, "name": "announcements", "type": 0, "parentId": TEXT}
    renamed = {**CHANNELS[1], "name": "general-chat"}
    thread = {"id": cats, "name": "cats", "type": 11, "parentId": GENERAL, "position": 0}
    solved = {**CHANNELS[4], "name": "help (solved)"}
    role = {"id": moderators, "name": "Moderators", "color": 15158332, "position": 3}
    veterans = {**ROLES[1], "name": "Veterans"}
    nick = {**ALICE_ENTRY, "nick": "Alice W."}
    owner = {**OWNER_ENTRY, "username": "the_owner", "globalName": "The Owner", "avatar": "cafe"}
    bot = {**STATSBOT, "username": "guildstats", "globalName": "Guild Stats", "avatar": "b0b0"}
    a = announcements
    assert gateway.take() == [
        change("CHANNEL_CREATE", "chc", a, {**created, "position": 1}, channelId=a),
        change("CHANNEL_UPDATE", "chu", GENERAL, renamed, channelId=GENERAL),
        change(
            "CHANNEL_DELETE", "chd", VOICE_B, {"id": VOICE_B, "name": "Voice B"}, channelId=VOICE_B
        ),
        change("THREAD_CREATE", "thc", cats, thread, channelId=cats),
        change("THREAD_UPDATE", "thu", HELP, solved, channelId=HELP),
        change(
            "THREAD_DELETE",
            "thd",
            HELP,
            {"id": HELP, "parentId": GENERAL, "name": "help (solved)"},
            channelId=HELP,
        ),
        change(
            "ROLE_CREATE",
            "roc",
            moderators,
            {**role, "managed": False},
            roleId=moderators,
        ),
        change("ROLE_UPDATE", "rou", REGULARS, veterans, roleId=REGULARS),
        # GUILD_EMOJIS_UPDATE lists them all: one renamed, one new, one gone
        change(
            "EMOJI_UPDATE", "emu", PARTY, {"id": PARTY, "name": "partyparrot", "animated": False}
        ),
        change("EMOJI_CREATE", "emc", wave, {"id": wave, "name": "wave", "animated": False}),
        change("EMOJI_DELETE", "emd", DANCE, {"id": DANCE}),
        change("GUILD_MEMBER_UPDATE", "mu", ALICE, nick, userId=ALICE),  # a nickname
        change("GUILD_MEMBER_UPDATE", "mu", OWNER, owner, userId=OWNER),  # the user's own names
        change(
            "ROLE_DELETE", "rod", REGULARS, {"id": REGULARS, "name": "Veterans"}, roleId=REGULARS
        ),
        change("GUILD_MEMBER_UPDATE", "mu", BOT, bot, userId=BOT),  # the bot renamed itself
    ]


async def test_changes_outside_the_directory_send_nothing(gateway):
    gateway.take()
    gateway.feed("CHANNEL_UPDATE", fixture("CHANNEL_UPDATE_TOPIC"))  # topic, slowmode
    gateway.feed("GUILD_ROLE_UPDATE", fixture("GUILD_ROLE_UPDATE_PERMISSIONS"))  # permissions
    gateway.feed("GUILD_MEMBER_UPDATE", fixture("GUILD_MEMBER_UPDATE_TIMEOUT"))  # a timeout
    gateway.cog.directory.check_me()  # the bot unchanged
    await gateway.settle()
    assert gateway.take() == []


async def test_the_same_change_reported_twice_has_one_client_id(gateway):
    gateway.take()
    gateway.feed("CHANNEL_UPDATE")
    await gateway.settle()
    gateway.feed("CHANNEL_UPDATE", fixture("CHANNEL_UPDATE_TOPIC"))  # back to "general"
    await gateway.settle()
    gateway.feed("CHANNEL_UPDATE")  # "general-chat" again, the same millisecond
    await gateway.settle()
    first, back, again = gateway.take()
    assert first["id"] == again["id"] != back["id"]
    assert gateway.collector.counters.duplicates == 1  # stored once


async def test_a_guild_back_from_an_outage_and_a_guild_join_send_their_directory(gateway):
    gateway.take()
    gateway.feed("GUILD_DELETE", {"id": G, "unavailable": True})
    await gateway.settle()
    gateway.feed("GUILD_CREATE")  # back: its state and directory again
    await gateway.settle()
    (back,) = directories(gateway.take())
    assert back["data"]["sections"] == ["channels", "roles", "emojis", "members"]
    gateway.feed("GUILD_DELETE")  # the bot removed from the guild
    await gateway.settle()
    gateway.take()
    gateway.feed("GUILD_CREATE", unavailable=None)  # and added again: a join
    await gateway.settle()
    events = gateway.take()
    assert events[0]["type"] == "GUILD_CREATE"
    (joined,) = directories(events)
    assert joined["data"]["snapshotId"] != back["data"]["snapshotId"]
    assert len(joined["data"]["members"]) == 3


async def test_a_guild_unavailable_at_ready_sends_its_directory_when_it_comes(gateway):
    gateway.take()
    late = str(GUILD_ID + (1 << 22))  # a guild of the same shard, unavailable in READY
    roles = [{**fixture("GUILD_CREATE")["roles"][0], "id": late}]
    gateway.feed("GUILD_CREATE", id=late, name="Guild Late", members=[], roles=roles)
    await gateway.settle()
    (came,) = directories(gateway.take())
    assert came["guildId"] == late
    assert came["data"]["roles"] == [{**ROLES[0], "id": late}]
