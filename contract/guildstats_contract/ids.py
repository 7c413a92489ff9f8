"""Discord ids (snowflakes) and the epoch, defined once for the server and the collector."""

from __future__ import annotations

from datetime import UTC, datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Snowflakes are stored in signed 64-bit columns.
SNOWFLAKE_MAX = 2**63 - 1


def is_snowflake(value: object) -> bool:
    """A decimal string (ASCII digits only: "²".isdigit() is true) of a positive 64-bit
    signed integer."""
    if not (isinstance(value, str) and 0 < len(value) <= 19 and value.isascii()):
        return False
    return value.isdigit() and 0 < int(value) <= SNOWFLAKE_MAX
