"""What a parameter of the API may be, defined once for validation and for the OpenAPI schema,
so the two agree: the schema promises exactly what the server accepts (schemathesis checks both
directions in tests/api/test_schemathesis.py)."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from guildstats_contract.ids import SNOWFLAKE_MAX  # ids are stored in signed 64-bit columns
from rest_framework import serializers


def _decimal_at_most(limit: int) -> str:
    """A regular expression for the decimal numbers 1 … ``limit`` written without leading
    zeros (JSON Schema has no numeric bounds on strings): shorter numbers, then for each digit
    of ``limit`` the numbers equal up to it and smaller at it, then ``limit`` itself."""
    digits = str(limit)
    width = len(digits)
    parts = [f"[1-9][0-9]{{0,{width - 2}}}"]
    for i, digit in enumerate(map(int, digits)):
        low = 1 if i == 0 else 0
        if digit > low:
            smaller = str(low) if digit - 1 == low else f"[{low}-{digit - 1}]"
            rest = width - i - 1
            parts.append(digits[:i] + smaller + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(digits)
    return f"^(?:{'|'.join(parts)})$"


SNOWFLAKE_PATTERN = _decimal_at_most(SNOWFLAKE_MAX)
SNOWFLAKE_HELP = "a Discord id: a decimal positive 64-bit integer, without leading zeros"
_ASCII_DIGITS = re.compile(r"[0-9]+")
_INTEGER = re.compile(r"-?[0-9]+")


def parse_snowflake(text: object) -> int | None:
    """The id written in ``text``, or None when it is not one (ASCII digits only: "²".isdigit()
    is true; no leading zero; 1 … 2**63 - 1)."""
    if not isinstance(text, str) or not 0 < len(text) <= 19 or text[0] == "0":
        return None
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= SNOWFLAKE_MAX else None


class SnowflakeText(serializers.CharField):
    """A parameter written as a Discord id (a decimal string); ``snowflake`` reads it."""

    default_error_messages = {"snowflake": "must be a Discord id (a positive 64-bit integer)."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def snowflake(self, data: Any) -> int:
        value = parse_snowflake(super().to_internal_value(data))
        if value is None:
            self.fail("snowflake")
        return value


@extend_schema_field(
    {"type": "string", "pattern": SNOWFLAKE_PATTERN, "description": SNOWFLAKE_HELP}
)
class SnowflakeField(SnowflakeText):
    """A Discord id as a decimal string, returned as an int."""

    # DRF's stubs fix a CharField's value as str: this one's is the id
    def to_internal_value(self, data: Any) -> int:  # type: ignore[override]
        return self.snowflake(data)


class IntegerField(serializers.IntegerField):
    """DRF's integer, but only as the schema writes one: ASCII digits with an optional minus
    (``int()`` also reads " 7", "7.0", "7_0" and other scripts' digits), and always within
    documented bounds."""

    def __init__(self, *, min_value: int, max_value: int, **kwargs: Any) -> None:
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not _INTEGER.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


# Bounds of the integer parameters, documented in the schema (minimum/maximum).
PAGE_MAX = 1_000_000  # with pages of ≤ 100 rows: an offset of 10⁸, far past any guild
COUNT_MAX = 1_000_000_000  # thresholds on counters (messages, voice minutes)
