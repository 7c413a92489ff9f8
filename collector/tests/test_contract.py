"""The collector builds to the contract the server validates with (``guildstats_contract``,
no Django): every type it can send is a contract type, and every event recorded dispatches make
parses with the server's own ``parse_event``, payload schema included."""

from __future__ import annotations

import json

import pytest
from guildstats_collector.config import ALL_TYPES, BatchPolicy, Settings
from guildstats_collector.invites import InviteState
from guildstats_contract.events import KNOWN_TYPES, parse_event
from guildstats_contract.payloads import DATA_SCHEMAS

from collector.tests.conftest import ORIGIN_MS
from collector.tests.gateway import GUILD_ID, RECORDED_DISPATCHES, Gateway, fixture, guild_create

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
