"""Query-parameter fields shared by the moderation and invites APIs. A bad value answers 400
naming the parameter (DRF's serializer errors), never 500."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

SNOWFLAKE_MAX = 2**63 - 1


class SnowflakeField(serializers.CharField):
    """A Discord id as a decimal string, returned as an int."""

    default_error_messages = {"snowflake": "must be a Discord id (a positive 64-bit integer)."}

    def to_internal_value(self, data: Any) -> int:
        text = super().to_internal_value(data)
        if not (text.isascii() and text.isdigit() and 0 < int(text) <= SNOWFLAKE_MAX):
            self.fail("snowflake")
        return int(text)


@extend_schema_field({"type": "string", "description": "ISO 8601 date-time or epoch milliseconds"})
class InstantField(serializers.Field):
    """ISO 8601 (a naive time is UTC) or epoch milliseconds, as the bot's timestamps."""

    default_error_messages = {
        "invalid": "must be an ISO 8601 date-time or epoch milliseconds.",
    }

    def to_internal_value(self, data: Any) -> datetime:
        text = str(data).strip()
        try:
            if text.isascii() and text.isdigit():
                return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
            value = parse_datetime(text)
        except (ValueError, OverflowError, OSError):
            self.fail("invalid")
        if value is None:
            self.fail("invalid")
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class PageQuery(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1)
    pageSize = serializers.IntegerField(min_value=1, max_value=100, default=20)
