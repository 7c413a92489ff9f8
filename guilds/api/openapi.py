"""What every guild-scoped endpoint documents besides its own body: the {guild_id} path, the
error answers (400 naming the field, 401, 404, 429) and, for exports, the CSV media type."""

from __future__ import annotations

from typing import Any, is_typeddict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from core.shapes import schema_ref
from guilds.api.fields import SNOWFLAKE_HELP, SNOWFLAKE_PATTERN

JSON, CSV = "application/json", "text/csv"

GUILD_PATH = OpenApiParameter(
    "guild_id",
    str,
    OpenApiParameter.PATH,
    pattern=SNOWFLAKE_PATTERN,
    description=f"{SNOWFLAKE_HELP}; any other value, or a guild outside the caller's scope, "
    "answers 404",
)


def format_param(what: str) -> OpenApiParameter:
    return OpenApiParameter(
        "format", str, enum=["json", "csv"], description=f"csv: {what}, as a file (default json)"
    )


# A CSV answer is a download; JSON answers have no such header.
CSV_ATTACHMENT = OpenApiParameter(
    "Content-Disposition",
    str,
    OpenApiParameter.HEADER,
    response=[200],
    description='with format=csv: attachment; filename="guild-<id>-<what>.csv"',
)


class ErrorDetail(serializers.Serializer[dict[str, str]]):
    detail = serializers.CharField()


FIELD_ERRORS = {
    "type": "object",
    "description": "each bad parameter, by name, with its reasons",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "minProperties": 1,
}

_ERRORS = {
    400: OpenApiResponse(FIELD_ERRORS, description="a bad parameter; the key names it"),
    401: OpenApiResponse(ErrorDetail, description="no, an invalid or a revoked API key"),
    404: OpenApiResponse(ErrorDetail, description="no such guild in the caller's scope"),
    429: OpenApiResponse(ErrorDetail, description="throttled (GUILDSTATS_API_RATE)"),
}
_CSV_ERROR = OpenApiResponse(
    OpenApiTypes.STR, description="with format=csv, the same error as a CSV row"
)


def responses(
    body: Any, *, csv: bool = False, codes: tuple[int, ...] = (400, 401, 404, 429)
) -> dict[int, Any] | dict[tuple[int, str], Any]:
    """The ``responses`` of ``extend_schema``: ``body`` on 200 (a serializer, or a TypedDict
    shape the view returns: core.shapes) and the errors in ``codes``; ``csv``: each also as
    text/csv (the renderer chosen by ``format`` renders errors too)."""
    if is_typeddict(body):
        body = schema_ref(body)
    if not csv:
        return {200: body, **{code: _ERRORS[code] for code in codes}}
    documented: dict[tuple[int, str], Any] = {(200, JSON): body, (200, CSV): OpenApiTypes.STR}
    for code in codes:
        documented[(code, JSON)] = _ERRORS[code]
        documented[(code, CSV)] = _CSV_ERROR
    return documented
