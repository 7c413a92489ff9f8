"""Helpers of the snapshot tests (``test_rollup_*.py``): a pinned time origin and ids, a
frame sent at a given minute, whole-table reads of the snapshots and the fill states, and the
tables expected of the ``activity`` fixture (``conftest.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from stats.models import FillState, MetricsSnapshot
from tests.factories import ms

ORIGIN = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
G, ALICE, BOB, CAROL, BOT, TEXT, VOICE = (str(9_000_000 + i) for i in range(7))


def at(minutes: float) -> int:
    return ms(ORIGIN + timedelta(minutes=minutes))


def moment(minutes: float) -> datetime:
    return ORIGIN + timedelta(minutes=minutes)


def send(ingest, events, minutes_now: float) -> None:
    with time_machine.travel(moment(minutes_now), tick=False):
        _status, ack = ingest(events)
    assert ack["accepted"] == len(events), ack


def table(period_type: str = "5min", guild: str = G) -> dict[str, tuple[int, int, int, int]]:
    """Start of each stored bucket of ``guild`` -> (messages, voice s, reactions, active)."""
    rows = MetricsSnapshot.objects.filter(guild_id=int(guild), period_type=period_type)
    fmt = "%m-%d %H:%M" if period_type == "daily" else "%H:%M"
    return {
        r.period_start.strftime(fmt): (
            r.total_messages,
            r.total_voice_seconds,
            r.total_reactions,
            r.unique_active_users,
        )
        for r in rows.order_by("period_start")
    }


def states() -> dict[str, tuple[datetime, str]]:
    return {s.granularity: (s.end_time, s.state) for s in FillState.objects.all()}


EXPECTED = {
    "10:00": (2, 0, 0, 1),  # alice x2; the bot's message is stored, not counted
    "10:05": (1, 0, 1, 1),  # bob's message and reaction
    **{f"{10 + m // 60}:{m % 60:02d}": (0, 300, 0, 1) for m in range(50, 140, 5)},
    "12:20": (0, 0, 0, 0),  # only the leave event: counts by type, no activity
}


# the session 10:50-12:20 gives 10 min to 10h, 60 to 11h, 20 to 12h
EXPECTED_HOURLY = {"10:00": (3, 600, 1, 3), "11:00": (0, 3600, 0, 1)}
