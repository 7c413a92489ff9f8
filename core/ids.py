"""Stored ids back to integers (the snowflake rules themselves are the contract's:
``guildstats_contract.ids``)."""

from __future__ import annotations

from typing import SupportsInt, cast

from guildstats_contract.ids import is_snowflake


def snowflake_or_none(value: object) -> int | None:
    return int(cast(str, value)) if is_snowflake(value) else None


def int_or_none(value: object) -> int | None:
    """``int(value)`` for a stored id or count (validated at ingest), None for None."""
    return None if value is None else int(cast(SupportsInt, value))
