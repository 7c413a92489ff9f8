"""What a bot operator meets at start, across an outage and at stop: joins wait for the invite
cache, a vanity join costs two requests, the audit poll is bounded, the spool drains as soon as
guildstats accepts frames again, and the log says each step once."""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace

import pytest
from guildstats_collector.config import BatchPolicy, Settings
from guildstats_collector.invites import FetchFailed, InviteState, InviteTracker, fetch_invites
from guildstats_collector.pipeline import Collector
from guildstats_collector.spool import Spool
from guildstats_collector.transport import Response, TransientError

from collector.tests.gateway import GUILD_ID, AckingTransport, Gateway, fixture

pytestmark = pytest.mark.asyncio

GUILD = SimpleNamespace(id=GUILD_ID)
OWNER = 1300000000000000201
SETTINGS = Settings(default_policy=BatchPolicy(1, 0.0))


class SlowDiscord:
    """Invite lists that arrive when ``release`` is set."""

    def __init__(self, *answers: dict[str, InviteState]) -> None:
        self.answers = list(answers)
        self.release = asyncio.Event()

    async def __call__(self, guild):
        await self.release.wait()
        return self.answers.pop(0), None


# --- the invite cache at start ---------------------------------------------------------------
async def test_a_join_before_the_cache_waits_for_it_and_is_attributed():
    discord = SlowDiscord({"a": InviteState("a", 3)}, {"a": InviteState("a", 4)})
    tracker = InviteTracker(discord, cache_wait=5)
    tracker.expect([GUILD_ID])
    refreshing = asyncio.create_task(tracker.refresh(GUILD))
    joining = asyncio.create_task(tracker.attribute(GUILD))
    await asyncio.sleep(0.05)
    assert not joining.done()  # waiting for the cache, not "not_found"
    discord.release.set()
    await refreshing
    found = await joining
    assert found.member_add_fields() == {"inviteAttribution": "invite", "inviteCode": "a"}


async def test_a_join_that_outwaits_the_cache_is_unknown_cache_not_ready():
    tracker = InviteTracker(SlowDiscord(), cache_wait=0.05)
    tracker.expect([GUILD_ID])
    found = await tracker.attribute(GUILD)
    assert found.member_add_fields() == {
        "inviteAttribution": "unknown",
        "attributionReason": "cache_not_ready",
    }


async def test_a_failed_cache_fill_releases_the_waiting_joins():
    async def refused(guild):
        raise FetchFailed("missing_permission")

    tracker = InviteTracker(refused, cache_wait=5)
    tracker.expect([GUILD_ID])
    joining = asyncio.create_task(tracker.attribute(GUILD))
    assert await tracker.refresh(GUILD) is None
    found = await asyncio.wait_for(joining, 1)
    assert found.member_add_fields()["attributionReason"] == "missing_permission"


async def test_a_vanity_guild_join_costs_two_requests(tmp_path, frozen):
    data = fixture("GUILD_CREATE")
    data["roles"][0]["permissions"] = str(1024 | 32 | 128)  # view, manage server, audit log
    gateway = await Gateway(SETTINGS, tmp_path / "spool.sqlite3").start(guild_create=data)
    try:
        http = gateway.state.http
        calls: list[str] = []

        async def invites_from(guild_id):
            calls.append("invites")
            return []

        async def get_vanity_code(guild_id):
            calls.append("vanity")
            return {"code": "guildone", "uses": 41}

        async def get_invite(*args, **kwargs):  # what guild.vanity_invite() would add
            calls.append("invite")
            raise AssertionError("a third request")

        http.invites_from, http.get_vanity_code, http.get_invite = (
            invites_from,
            get_vanity_code,
            get_invite,
        )
        invites, vanity = await fetch_invites(gateway.bot.get_guild(GUILD_ID))
        assert (invites, vanity, calls) == ({}, 41, ["invites", "vanity"])
    finally:
        await gateway.close()


# --- the audit poll --------------------------------------------------------------------------
async def test_deletes_schedule_one_poll_per_interval_and_only_with_the_permission(
    tmp_path, frozen
):
    settings = Settings(default_policy=BatchPolicy(1, 0.0), audit_poll_interval=0.05)
    data = fixture("GUILD_CREATE")
    data["roles"][0]["permissions"] = str(1024 | 128)  # view channels, view audit log
    gateway = await Gateway(settings, tmp_path / "spool.sqlite3").start(guild_create=data)
    try:
        for _ in range(5):  # a run of deletes
            gateway.feed("MESSAGE_DELETE", fixture("MESSAGE_DELETE_UNCACHED"))
        await asyncio.sleep(0.2)
        assert gateway.audits.calls == 1
        gateway.feed("MESSAGE_DELETE", fixture("MESSAGE_DELETE_UNCACHED"))
        await asyncio.sleep(0.2)
        assert gateway.audits.calls == 2
    finally:
        await gateway.close()
    # the fixture's guild gives no View Audit Log: nothing is read
    plain = await Gateway(settings, tmp_path / "plain.sqlite3").start()
    try:
        plain.feed("MESSAGE_DELETE", fixture("MESSAGE_DELETE_UNCACHED"))
        await asyncio.sleep(0.2)
        assert plain.audits.calls == 0
    finally:
        await plain.close()


# --- a guild joined later --------------------------------------------------------------------
async def test_a_guild_joined_sends_its_state_without_a_gap(gateway):
    gateway.take()
    second = "1300000000000000110"
    gateway.feed(
        "GUILD_CREATE",
        id=second,
        unavailable=None,  # a guild the bot was just added to
        members=[],
        roles=[{**fixture("GUILD_CREATE")["roles"][0], "id": second}],
    )
    await gateway.settle()
    states = [e for e in gateway.take() if e["type"] == "GUILD_STATE"]
    assert [(e["guildId"], e["data"]["reason"], "gapSince" in e["data"]) for e in states] == [
        ("1300000000000000110", "join", False),
        ("1300000000000000110", "join", False),
    ]
    assert states[0]["data"]["memberCount"] == 3 and states[1]["data"]["invites"] == []


# --- outages: the spool drains when guildstats is back; the log says so once ----------------
class Flaky(AckingTransport):
    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.posts = 0

    async def post(self, body: bytes) -> Response:
        self.posts += 1
        if self.down:
            raise TransientError("ConnectionRefusedError")
        return await super().post(body)


async def test_the_spool_drains_soon_after_guildstats_is_back_not_at_the_next_step(
    tmp_path, caplog
):
    # a backoff step of at least 30 s: only the probe can deliver within the test's wait
    settings = Settings(default_policy=BatchPolicy(1, 0.0), backoff_base=60, backoff_cap=60)
    transport = Flaky()
    collector = Collector(settings, transport=transport, spool=Spool(str(tmp_path / "s.sqlite3")))
    caplog.set_level(logging.INFO, "guildstats_collector")
    await collector.start()
    try:
        collector.emit({"type": "GUILD_BAN_ADD", "guildId": str(GUILD_ID), "timestamp": 1})
        await asyncio.sleep(0.3)
        assert collector.spool.count == 1
        transport.down = False
        back = time.monotonic()
        assert await collector.wait_drained(10)
        assert time.monotonic() - back < 5  # the probe, not the 30-60 s backoff step
    finally:
        await collector.stop()
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 2
    assert said[0].startswith("guildstats at http://127.0.0.1:8000 unreachable (send failed")
    assert "events are kept in the spool (1 waiting)" in said[0]
    assert said[1].startswith("guildstats at http://127.0.0.1:8000 accepts events again after")
    assert said[1].endswith("sending the 1 spooled")


async def test_start_and_stop_are_each_one_line(tmp_path, frozen, caplog):
    caplog.set_level(logging.INFO, "guildstats_collector")
    gateway = await Gateway(SETTINGS, tmp_path / "spool.sqlite3").start()
    await gateway.close()
    said = [r.getMessage() for r in caplog.records if r.name == "guildstats_collector"]
    path = tmp_path / "spool.sqlite3"
    assert said == [
        "guildstats collector ready: 1 shard(s) [0], 1 guilds, sending to "
        f"http://127.0.0.1:8000; spool {path} (0 events, 0 bytes waiting)",
        f"guildstats collector stopped: 0 events left in the spool {path} (sent on next start)",
    ]


async def test_a_stop_that_wakes_the_idle_sender_does_not_hang(tmp_path):
    """stop() sets the sender's wake-up and cancels it at once; on Python 3.11 ``wait_for``
    swallowed that cancel and stop() waited forever (found by the end-to-end crash)."""
    transport = AckingTransport()
    collector = Collector(Settings(), transport=transport, spool=Spool(str(tmp_path / "s.sqlite3")))
    await collector.start()
    # an activity event waits for its batch (seed default: 10 s), so the sender is idle
    collector.emit({"type": "MESSAGE_CREATE", "guildId": str(GUILD_ID), "timestamp": 1})
    await asyncio.sleep(0.05)
    await asyncio.wait_for(collector.stop(drain_timeout=0), 5)
    assert collector.spool.count == 1  # kept for the next start
