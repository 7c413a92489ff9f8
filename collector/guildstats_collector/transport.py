"""Frames to guildstats over HTTP (``POST /api/ingest/events``), with aiohttp (discord.py's own
HTTP client, so no new dependency): one keep-alive connection, one frame in flight, the ack read
back. HTTP rather than the WebSocket: every frame has its own status (401, 413, 503) and its own
ack, which is what the spool's delete-on-ack needs; the server treats both the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp


class TransientError(Exception):
    """The frame may or may not have arrived (timeout, refused connection): send it again."""


@dataclass(frozen=True)
class Response:
    status: int
    ack: dict[str, Any] | None = None
    text: str = ""
    retry_after: float | None = None


class Transport(Protocol):
    async def post(self, body: bytes) -> Response: ...

    async def close(self) -> None: ...


class HttpTransport:
    def __init__(self, base_url: str, bot_token: str, *, timeout: float = 30.0) -> None:
        self.url = base_url.rstrip("/") + "/api/ingest/events"
        self._headers = {
            "Authorization": f"Bot {bot_token}",
            "Content-Type": "application/json",
            "User-Agent": "guildstats-collector/0.1",
        }
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, body: bytes) -> Response:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        try:
            async with self._session.post(self.url, data=body) as answer:
                text = await answer.text()
                ack = None
                if answer.status == 200:
                    try:
                        ack = json.loads(text)
                    except ValueError:
                        raise TransientError("the ack is not JSON") from None
                return Response(
                    status=answer.status,
                    ack=ack,
                    text=text[:500],
                    retry_after=_seconds(answer.headers.get("Retry-After")),
                )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
