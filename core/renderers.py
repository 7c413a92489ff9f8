"""The API's renderers: JSON (msgspec; an answer cached already encoded is written as it is) and
CSV for the list endpoints (``?format=csv``), written with the standard library's csv module."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from rest_framework.renderers import BaseRenderer
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer


class JSONRenderer(DRFJSONRenderer):
    """DRF's JSON renderer, encoded by msgspec: a month of hourly activity is ~100 KB of JSON,
    and the standard library's encoder was a fifth of such a request. Types msgspec does not
    know (lazy translation strings) go through ``str``; ``?indent=`` (the browsable hint) is
    honoured by falling back to DRF's encoder."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if accepted_media_type and "indent" in accepted_media_type:
            data = data.decoded() if isinstance(data, EncodedJSON) else data
            return super().render(data, accepted_media_type, renderer_context)
        if isinstance(data, EncodedJSON):
            return data.body
        return _ENCODER.encode(data)


_ENCODER = msgspec.json.Encoder(enc_hook=str)


def encode(data: Any) -> bytes:
    """``data`` as the JSON renderer writes it."""
    return _ENCODER.encode(data)


class EncodedJSON:
    """An answer already encoded as JSON (a cached one, ``stats.api.views``): the renderer
    writes its bytes as they are; ``decoded()`` gives the data back (the same JSON values)."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    def decoded(self) -> Any:
        return msgspec.json.decode(self.body)


class CSVRenderer(BaseRenderer):
    """``{"header": [...], "rows": [...]}`` as CSV: the header line always (an export with no
    rows is still a CSV file, and a non-empty body keeps its Content-Type: DRF drops it from
    empty ones), then one line per row. Any other body (an error) is one row of its keys."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, dict) and isinstance(data.get("rows"), list):
            rows: Iterable[Mapping[str, Any]] = data["rows"]
            header = list(data.get("header") or (data["rows"][0] if data["rows"] else []))
        else:  # an error body: still valid CSV
            rows = [data] if isinstance(data, dict) else []
            header = list(data) if isinstance(data, dict) else ["detail"]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
        return buffer.getvalue().encode(self.charset)


def _cell(value: Any) -> Any:
    """null is an empty cell; booleans are written as JSON writes them (true, false)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
