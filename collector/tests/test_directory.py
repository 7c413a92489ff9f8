"""A guild's directory beyond the recorded guild: large guilds in chunks (members fetched first
when the cache lacks them), long and dirty names, a bot without the members intent (members
sent once, when first seen), a loop that is never held for long, and the chunk plan and the
LRU of members seen on their own."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging

import pytest
from guildstats_collector.config import BatchPolicy, Settings
from guildstats_collector.directory import ChunkPlan, chunk_budget, clean_name
from guildstats_collector.directory_sync import SeenMembers
from guildstats_contract import directory as contract
from guildstats_contract.directory import MAX_CHUNK_ENTRIES
from hypothesis import given
from hypothesis import strategies as st

from collector.tests.gateway import GUILD_ID, Gateway, fixture, member
from collector.tests.listeners import ALICE, OWNER

SETTINGS = Settings(default_policy=BatchPolicy(1, 0.0))
FIRST_USER = 1400000000000000000
MIB = 1024 * 1024


def guild_with(members: list[dict], *, member_count: int | None = None, roles=()) -> dict:
    data = fixture("GUILD_CREATE")
    data["members"] += members
    data["roles"] += list(roles)
    data["member_count"] = len(data["members"]) if member_count is None else member_count
    return data


def snapshot_of(events: list[dict]) -> list[dict]:
    return [e["data"] for e in events if e["type"] == "GUILD_DIRECTORY"]


async def started(tmp_path, settings: Settings = SETTINGS, **kwargs) -> Gateway:
    return await Gateway(settings, tmp_path / "spool.sqlite3").start(**kwargs)


@pytest.mark.asyncio
async def test_a_guild_of_2500_members_is_fetched_then_sent_in_three_chunks(tmp_path, frozen):
    gateway = Gateway(SETTINGS, tmp_path / "spool.sqlite3")
    others = [member(FIRST_USER + n, f"user{n}") for n in range(2497)]
    gateway.chunks.members[GUILD_ID] = others  # what Discord answers to the member request
    await gateway.start(guild_create=guild_with([], member_count=2500))  # 3 of them cached
    try:
        events = gateway.take()
        assert gateway.chunks.requests == [GUILD_ID]
        chunks = [e for e in events if e["type"] == "GUILD_DIRECTORY"]
        snapshot_id = chunks[0]["data"]["snapshotId"]
        assert [(c["id"], c["data"]["part"], c["data"]["parts"]) for c in chunks] == [
            (f"dir-{snapshot_id}-{part}", part, 3) for part in range(3)
        ]
        sections = ["channels", "roles", "emojis", "members"]
        for chunk in chunks:
            data = chunk["data"]
            assert (data["snapshotId"], data["sections"]) == (snapshot_id, sections)
            assert chunk["timestamp"] == chunks[0]["timestamp"]  # the moment the lists were taken
            assert sum(len(data[section]) for section in sections) <= MAX_CHUNK_ENTRIES
        listed = {s: [e["id"] for c in chunks for e in c["data"][s]] for s in sections}
        assert (len(listed["channels"]), len(listed["roles"]), len(listed["emojis"])) == (5, 3, 2)
        assert len(listed["members"]) == len(set(listed["members"])) == 2500
        assert str(FIRST_USER + 2496) in listed["members"]
    finally:
        await gateway.close()


@pytest.mark.asyncio
async def test_1000_members_with_the_longest_names_and_250_roles_fit_the_frames(tmp_path, frozen):
    roles = [
        {**fixture("GUILD_CREATE")["roles"][1], "id": str(1500000000000000000 + n), "position": n}
        for n in range(1, 248)
    ]
    role_ids = tuple(int(role["id"]) for role in roles)
    longest = "\U0001d524" * 40  # 4 bytes each in UTF-8, cut to 32 characters
    members = [
        member(
            FIRST_USER + n,
            longest,
            roles=role_ids,
            nick=longest,
            avatar="a_" + "f" * 32,
        )
        for n in range(1000)
    ]
    for entry in members:
        entry["user"].update(global_name=longest, avatar="a_" + "e" * 32)
    gateway = await started(tmp_path, guild_create=guild_with(members, roles=roles))
    try:
        chunks = [e for e in gateway.take() if e["type"] == "GUILD_DIRECTORY"]
        sizes = [
            len(json.dumps(c, ensure_ascii=False, separators=(",", ":")).encode()) for c in chunks
        ]
        assert max(sizes) <= SETTINGS.frame_max_bytes < MIB  # the collector's frames, the server's
        assert gateway.collector.counters.dead_lettered == 0
        assert all(len(frame) for frame in gateway.transport.frames)
        members_sent = [m for c in chunks for m in c["data"]["members"]]
        assert len(members_sent) == 1003
        sample = members_sent[-1]
        assert sample["username"] == sample["nick"] == sample["globalName"] == "\U0001d524" * 32
        assert len(sample["roles"]) == 247
        assert len(chunks) == chunks[0]["data"]["parts"] > 10  # ~5.8 kB a member: split by size
    finally:
        await gateway.close()


@pytest.mark.asyncio
async def test_names_lose_their_control_characters(tmp_path, frozen):
    dirty = member(FIRST_USER, "bad\x00\u0007name\n", nick="\x1b[31mred\ud800" + "x" * 40)
    data = guild_with([dirty])
    data["channels"][1]["name"] = "gen\teral\x7f"
    gateway = await started(tmp_path, guild_create=data)
    try:
        (snapshot,) = snapshot_of(gateway.take())
        sent = snapshot["members"][-1]
        assert sent["username"] == "badname"
        assert sent["nick"] == "[31mred" + "x" * 25  # ESC out, cut to 32 characters
        assert snapshot["channels"][1]["name"] == "general"
    finally:
        await gateway.close()


@pytest.mark.asyncio
async def test_without_the_members_intent_a_member_is_sent_once_when_first_seen(tmp_path, frozen):
    settings = Settings(default_policy=BatchPolicy(1, 0.0), members_intent=False)
    gateway = await started(tmp_path, settings)
    try:
        (snapshot,) = snapshot_of(gateway.take())
        assert snapshot["sections"] == ["channels", "roles", "emojis"]
        assert snapshot["members"] == []
        gateway.feed("MESSAGE_CREATE")  # alice speaks: her entry, once
        gateway.feed("MESSAGE_CREATE", id="1577293185024000002")
        gateway.feed("VOICE_STATE_UPDATE", fixture("VOICE_JOIN"))  # alice again, in voice
        gateway.feed("MESSAGE_REACTION_ADD")  # the owner reacts: his entry
        await gateway.settle()
        updates = [e for e in gateway.take() if e["type"] == "GUILD_MEMBER_UPDATE"]
        assert [(e["userId"], e["data"]["username"]) for e in updates] == [
            (ALICE, "alice"),
            (OWNER, "owner"),
        ]
        assert updates[0]["data"] == {
            "id": ALICE,
            "username": "alice",
            "globalName": "Alice",
            "nick": None,
            "avatar": "f00d",
            "guildAvatar": None,
            "bot": False,
            "joinedAt": "2026-10-15T08:30:00.000Z",
            "roles": ["1300000000000000150"],
        }
    finally:
        await gateway.close()


@pytest.mark.asyncio
async def test_members_that_cannot_be_fetched_are_left_out_and_sent_when_seen(
    tmp_path, frozen, caplog
):
    gateway = Gateway(SETTINGS, tmp_path / "spool.sqlite3")
    gateway.chunks.fail = ConnectionError("the gateway is closed")
    with caplog.at_level(logging.WARNING, logger="guildstats_collector"):
        await gateway.start(guild_create=guild_with([], member_count=500))
    try:
        (snapshot,) = snapshot_of(gateway.take())
        assert "members" not in snapshot["sections"] and snapshot["members"] == []
        assert "could not be fetched (the gateway is closed)" in caplog.text
        gateway.feed("MESSAGE_CREATE")
        await gateway.settle()
        (update,) = [e for e in gateway.take() if e["type"] == "GUILD_MEMBER_UPDATE"]
        assert update["userId"] == ALICE
    finally:
        await gateway.close()


@pytest.mark.asyncio
async def test_a_snapshot_gives_the_loop_back_between_batches(tmp_path, frozen):
    gateway = Gateway(SETTINGS, tmp_path / "spool.sqlite3")
    gateway.chunks.members[GUILD_ID] = [member(FIRST_USER + n, f"u{n}") for n in range(4997)]
    await gateway.start(guild_create=guild_with([], member_count=5000), settle=False)
    ticks = 0  # turns of the loop while a snapshot is being built

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += gateway.cog.directory.building
            await asyncio.sleep(0)

    running = asyncio.create_task(ticker())
    try:
        await gateway.settle()
        parts = snapshot_of(gateway.take())
        assert len(parts) == parts[0]["parts"] == 6  # 5,010 entries
        assert ticks >= 2 * len(parts) - 1  # between measured batches and between chunks
    finally:
        running.cancel()
        await gateway.close()


@given(
    sizes=st.lists(st.integers(min_value=1, max_value=6_000), max_size=3_000),
    budget=st.integers(min_value=1_000, max_value=400_000),
)
def test_the_chunk_plan_covers_every_entry_within_the_bounds(sizes, budget):
    plan = ChunkPlan(budget)
    for size in sizes:
        plan.add(size)
    ranges = plan.ranges
    assert ranges[0][0] == 0 and ranges[-1][1] == len(sizes)
    assert all(stop == start for (_, stop), (start, _) in itertools.pairwise(ranges))
    for start, stop in ranges:
        assert stop - start <= MAX_CHUNK_ENTRIES
        assert stop - start == 1 or sum(sizes[start:stop]) <= budget
    if not sizes:
        assert ranges == [(0, 0)]  # an empty snapshot is one empty chunk


@given(value=st.text(), limit=st.integers(min_value=1, max_value=100))
def test_names_are_cleaned_as_the_contract_cleans_them(value, limit):
    assert clean_name(value, limit) == contract.clean_name(value, limit)


def test_the_chunk_budget_stays_inside_a_frame():
    assert chunk_budget(512 * 1024) == 392_192
    assert chunk_budget(64 * MIB) < MIB  # never above the server's limit


def test_members_seen_are_remembered_up_to_the_bound_most_recent_first():
    seen = SeenMembers(limit=3)
    assert [seen.add(1, user) for user in (1, 2, 3)] == [True, True, True]
    assert seen.add(1, 1) is False  # 1 is now the most recent
    assert seen.add(1, 4) is True  # 2, the least recent, is forgotten
    assert len(seen) == 3
    assert (seen.add(1, 2), seen.add(1, 1), seen.add(2, 1)) == (True, False, True)
