"""The collector builds to the contract the server validates with (``guildstats_contract``,
no Django): every type it can send is a contract type, and every event recorded dispatches make
parses with the server's own ``parse_event``, payload schema included."""

from __future__ import annotations

import json

import msgspec
import pytest
from guildstats_collector.config import ALL_TYPES, BatchPolicy, Settings
from guildstats_collector.invites import InviteState
from guildstats_contract.directory import DirectoryChunk
from guildstats_contract.events import DIRECTORY_TYPES, KNOWN_TYPES, parse_event
from guildstats_contract.payloads import DATA_SCHEMAS

from collector.tests.conftest import ORIGIN_MS
from collector.tests.gateway import (
    DIRECTORY_DISPATCHES,
    GUILD_ID,
    RECORDED_DISPATCHES,
    Gateway,
    fixture,
    guild_create,
)

DAY_MS = 86_400_000


def test_every_type_the_collector_sends_is_in_the_contract():
    assert ALL_TYPES <= KNOWN_TYPES


@pytest.mark.asyncio
async def test_every_event_of_the_recorded_dispatches_parses_under_the_contract(tmp_path, frozen):
    gateway = Gateway(Settings(default_policy=BatchPolicy(1, 0.0)), tmp_path / "spool.sqlite3")
    gateway.invites.invites[GUILD_ID] = {"abcXYZ": InviteState("abcXYZ", 3, 10, 1, "owner")}
    await gateway.start(
        guild_create=guild_create((1300000000000000202, "alice", 1300000000000000301))
    )
    for kind, name in RECORDED_DISPATCHES:
        gateway.feed(kind, fixture(name))
        await gateway.settle()
    gateway.cog.coverage.beat()
    await gateway.close()
    events = gateway.transport.events
    sent = {event["type"] for event in events}
    assert {"GUILD_STATE", "GUILD_SYNC", "COLLECTOR_HEARTBEAT", "GUILD_MEMBER_ADD"} <= sent
    for event in events:
        raw = json.dumps(event).encode()
        parsed = parse_event(raw, ORIGIN_MS, ORIGIN_MS - 365 * DAY_MS, ORIGIN_MS + 300_000)
        assert parsed.type == event["type"]
    assert {e["type"] for e in events if e["type"] in DATA_SCHEMAS} >= {"GUILD_STATE"}


@pytest.mark.asyncio
async def test_every_directory_event_parses_and_is_stored_as_sent(tmp_path, frozen):
    """Each of the directory's types, parsed by the server's ``parse_event`` and converted to
    its schema as the server stores it: no entry dropped, every name as the collector sent it
    (the collector cleans names the way the contract does)."""
    gateway = Gateway(Settings(default_policy=BatchPolicy(1, 0.0)), tmp_path / "spool.sqlite3")
    await gateway.start()
    for kind, name in DIRECTORY_DISPATCHES:
        gateway.feed(kind, fixture(name))
        await gateway.settle()
    gateway.cog.directory.check_me()
    await gateway.settle()
    await gateway.close()
    events = [e for e in gateway.transport.events if e["type"] in DIRECTORY_TYPES]
    assert {e["type"] for e in events} == DIRECTORY_TYPES
    for event in events:
        raw = json.dumps(event).encode()
        parse_event(raw, ORIGIN_MS, ORIGIN_MS - 365 * DAY_MS, ORIGIN_MS + 300_000)
        schema = DATA_SCHEMAS.get(event["type"])
        if schema is None:  # the deletes of channels, threads and roles: ids only
            continue
        stored = msgspec.to_builtins(msgspec.convert(event["data"], schema, strict=True))
        if isinstance(stored, dict) and schema is DirectoryChunk:
            assert stored["dropped"] == 0
            sent = event["data"]
            for section in ("channels", "roles", "emojis", "members"):
                assert [_names(e, e) for e in stored[section]] == [
                    _names(e, s) for e, s in zip(sent[section], stored[section], strict=True)
                ]
        else:
            assert _names(stored, stored) == _names(event["data"], stored)


def _names(entry: dict, stored: dict) -> tuple:
    """The ids and names of ``entry`` that the stored schema holds."""
    keys = ("id", "name", "username", "globalName", "nick")
    return tuple(entry.get(key) for key in keys if key in stored)
