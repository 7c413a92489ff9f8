"""CSV for the list endpoints (``?format=csv``), written with the standard library's csv module."""

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

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        if data is None:
            return b""
        if accepted_media_type and "indent" in accepted_media_type:
            return super().render(data, accepted_media_type, renderer_context)
        return _ENCODER.encode(data)


_ENCODER = msgspec.json.Encoder(enc_hook=str)


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        rows: Iterable[Mapping[str, Any]] = data if isinstance(data, list) else []
        if isinstance(data, dict) and not isinstance(data.get("rows"), list):
            rows = [data]  # an error body: still valid CSV
        elif isinstance(data, dict):
            rows = data["rows"]
        buffer = io.StringIO()
        writer: csv.DictWriter | None = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(buffer, fieldnames=list(row), extrasaction="ignore")
                writer.writeheader()
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
        return buffer.getvalue().encode(self.charset)
