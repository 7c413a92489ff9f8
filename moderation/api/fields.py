"""Query-parameter fields shared by the moderation and invites APIs. A bad value answers 400
naming the parameter (DRF's serializer errors), never 500; the schema documents exactly what
is accepted."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from guilds.api.fields import PAGE_MAX, IntegerField, SnowflakeField

__all__ = ["InstantField", "PageQuery", "SnowflakeField"]

EPOCH_MS_DIGITS = 14  # up to the year 5138: every such number is a representable instant
_EPOCH_MS = re.compile(rf"[0-9]{{1,{EPOCH_MS_DIGITS}}}")


@extend_schema_field(
    {
        "anyOf": [
            {"type": "string", "format": "date-time"},
            {"type": "string", "format": "date"},
            {"type": "string", "pattern": rf"^[0-9]{{1,{EPOCH_MS_DIGITS}}}$"},
        ],
    }
)
class InstantField(serializers.Field[datetime, object, str, object]):
    """ISO 8601 (a naive time is UTC) or epoch milliseconds, as the bot's timestamps."""

    HELP = "ISO 8601 date-time (UTC without an offset) or date, or epoch milliseconds"

    default_error_messages = {
        "invalid": "must be an ISO 8601 date-time or epoch milliseconds.",
    }

    def to_internal_value(self, data: Any) -> datetime:
        text = str(data)
        try:
            if _EPOCH_MS.fullmatch(text):
                return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
            value = parse_datetime(text)
        except (ValueError, OverflowError, OSError):
            self.fail("invalid")
        if value is None:
            self.fail("invalid")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00+01:00: before datetime.min in UTC
            edge = datetime.min if value.year == 1 else datetime.max  # noqa: DTZ901 - zoned below
            return edge.replace(tzinfo=UTC)

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class PageQuery(serializers.Serializer[None]):
    page = IntegerField(min_value=1, max_value=PAGE_MAX, default=1)
    pageSize = IntegerField(min_value=1, max_value=100, default=20)
