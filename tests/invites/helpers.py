"""Helpers of the invite tests through the ingest endpoint (``test_invite_*.py``): a fixed
origin, timestamps relative to it, user ids of a given account age, a guild's inviter counts
and joins, and a frame that must be accepted whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from invites.models import InviterStats, MemberJoin
from invites.services.accounting import DISCORD_EPOCH_MS
from tests.factories import ms, snowflake

ORIGIN = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)


def at(**delta: float) -> int:
    return ms(ORIGIN + timedelta(**delta))


def account_created(when: datetime) -> str:
    """A user id whose snowflake time is ``when``."""
    return str(((ms(when) - DISCORD_EPOCH_MS) << 22) | (int(snowflake()) % 4096))


def counts(guild: str) -> dict[int, tuple[int, int, int, int, int]]:
    """inviter -> (regular, leaves, fakes, bonus, total)."""
    return {
        row.inviter_id: (row.regular, row.leaves, row.fakes, row.bonus, row.total)
        for row in InviterStats.objects.filter(guild_id=int(guild))
    }


def joins(guild: str) -> list[tuple[Any, ...]]:
    return list(
        MemberJoin.objects.filter(guild_id=int(guild))
        .order_by("joined_at", "id")
        .values_list("user_id", "inviter_id", "kind", "fake_reason", "left_at")
    )


def accepted(ingest, events: list[dict[str, Any]]) -> None:
    status, ack = ingest(events)
    assert (status, ack["rejected"]) == (200, []), ack
    assert ack["accepted"] == len(events)
