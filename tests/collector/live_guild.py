"""Helpers of the live-guild tests (``test_live_*.py``): the recorded guild's ids, collector
settings, Discord-shaped audit-log entries, and the collector's output handed to the real
ingest between dispatches (the autouse fixture, imported by each module, allows it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.db import close_old_connections
from guildstats_collector.config import BatchPolicy, Settings

from collector.tests.gateway import GUILD_ID, Gateway
from guilds.models import Guild
from stats.models import MemberStats, VoiceSession

OWNER, ALICE, BOB, DAVE = (
    1300000000000000201,
    1300000000000000202,
    1300000000000000203,
    1300000000000000204,
)
STATSBOT = 1300000000000000001
GENERAL, VOICE_A, VOICE_B = 1300000000000000300, 1300000000000000301, 1300000000000000302
SETTINGS = Settings(default_policy=BatchPolicy(1, 0.0), audit_poll_interval=0)


@pytest.fixture(autouse=True)
def _ingest_between_dispatches(monkeypatch):
    """The tests hand the collector's output to the ingest view between dispatches, from the
    collector's event loop (the ingest itself is synchronous Django: nothing else runs then)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def audit(entry_id: int, action: int, target: int | None, **extra: Any) -> dict[str, Any]:
    """A GUILD_AUDIT_LOG_ENTRY_CREATE by the owner (Discord's shape: ``options`` strings)."""
    data: dict[str, Any] = {
        "guild_id": str(GUILD_ID),
        "id": str(entry_id),
        "action_type": action,
        "user_id": str(OWNER),
        "target_id": None if target is None else str(target),
        "changes": extra.pop("changes", []),
    }
    if "reason" in extra:
        data["reason"] = extra.pop("reason")
    if extra:
        data["options"] = {k: str(v) for k, v in extra.items()}
    return data


def snowflake_at(moment: datetime, n: int) -> int:
    return (int(moment.timestamp() * 1000) - 1420070400000) << 22 | n


def delivered(ingest, gateway: Gateway) -> None:
    """What the collector acknowledged so far, through the real ingest, nothing refused."""
    events = gateway.take()
    try:
        status, ack = ingest(events)
    finally:
        # Django keeps connections per context: the one opened inside the collector's event
        # loop would outlive it, a pooled connection never returned (the later concurrency
        # tests then waited for the pool). A server returns it after each request; so do we.
        close_old_connections()
    assert (status, ack["rejected"]) == (200, []), ack


def member_count() -> int:
    try:
        return Guild.objects.get(guild_id=GUILD_ID).member_count
    finally:
        close_old_connections()  # read from the event loop: returned at once (``delivered``)


def voice_totals() -> list[tuple[int, int]]:
    return sorted(
        MemberStats.objects.filter(guild_id=GUILD_ID, total_voice_seconds__gt=0).values_list(
            "user_id", "total_voice_seconds"
        )
    )


def open_sessions() -> list[tuple[int, int, datetime]]:
    return sorted(
        VoiceSession.objects.filter(guild_id=GUILD_ID).values_list(
            "user_id", "channel_id", "joined_at"
        )
    )


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
