"""Time formatting shared by every reader."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and a Z, as the seeds' examples."""
    return None if value is None else instant(value)


def instant(value: datetime) -> str:
    """``iso`` of a time that is never missing."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
