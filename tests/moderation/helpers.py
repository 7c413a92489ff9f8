"""Helpers of the moderation-case tests (``test_case_*.py``): a fixed origin, timestamps
relative to it, a guild's cases by number, and a frame that must be accepted whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from moderation.models import ModerationCase
from tests.factories import ms

ORIGIN = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)


def at(**delta: float) -> int:
    return ms(ORIGIN + timedelta(**delta))


def cases(guild: str) -> list[tuple[Any, ...]]:
    """(number, action, target, moderator, reason) of a guild's cases, by number."""
    return list(
        ModerationCase.objects.filter(guild_id=int(guild))
        .order_by("case_number")
        .values_list("case_number", "action", "target_user_id", "moderator_id", "reason")
    )


def accepted(ingest, events: list[dict[str, Any]]) -> None:
    status, ack = ingest(events)
    assert (status, ack["rejected"]) == (200, []), ack
    assert ack["accepted"] == len(events)
