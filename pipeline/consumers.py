"""The bot's WebSocket: one frame in, one ack (or error) frame out, in order.

Frames of one connection are handled one after another, so a bot's batches are stored in the
order it sent them. No business logic here: the frame goes to ``ingest_batch`` as received.
"""

from __future__ import annotations

import logging

import msgspec
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError

from core import telemetry as metrics
from core.db import log_storage_error
from guilds.services import authenticate_bot
from pipeline.ingest import FrameError, ingest_batch

log = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN_LATER = 1013  # RFC 6455 registry: "Try Again Later"
_encode = msgspec.json.encode
STORAGE_UNAVAILABLE = _encode(
    {"type": "error", "error": "storage unavailable, nothing was stored: retry"}
).decode()


class BotIngestConsumer(AsyncWebsocketConsumer):
    # Request/response only: no group messaging, so no channel layer. An alias that is not
    # configured makes Channels skip the per-connection layer listener (a Redis BRPOP loop that
    # also times out while the loop is busy ingesting).
    channel_layer_alias = "unused-by-bot-ingest"
    bot_token_id: int | None = None

    async def connect(self) -> None:
        headers = dict(self.scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        try:
            token = await database_sync_to_async(authenticate_bot)(authorization)
        except DatabaseError as exc:
            # PostgreSQL down: the token cannot be checked. Say so in a frame, then close with a
            # close frame ("try again later"), so the bot reconnects instead of seeing a crash.
            log_storage_error(log, "checking a bot token", exc)
            metrics.record_frame_error("ws", "storage_unavailable")
            await self.accept()
            await self.send(text_data=STORAGE_UNAVAILABLE)
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        await self.accept()
        if token is None:
            metrics.record_frame_error("ws", "unauthorized")
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.bot_token_id = token.pk

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.bot_token_id is None:
            return
        raw = text_data if text_data is not None else (bytes_data or b"")
        try:
            # thread_sensitive=False: frames of different connections are ingested on parallel
            # threads (each with its own database connection), overlapping their database
            # waits; frames of one connection still go one at a time, in order.
            result = await database_sync_to_async(ingest_batch, thread_sensitive=False)(
                raw, bot_token_id=self.bot_token_id, transport="ws"
            )
        except FrameError as exc:
            metrics.record_frame_error("ws", exc.code)
            await self.send(text_data=_encode({"type": "error", "error": exc.message}).decode())
            return
        except DatabaseError as exc:
            # nothing was committed: an error frame, and the socket stays open for the retry
            log_storage_error(log, "ingesting a frame", exc)
            metrics.record_frame_error("ws", "storage_unavailable")
            await self.send(text_data=STORAGE_UNAVAILABLE)
            return
        await self.send(text_data=_encode(result.ack()).decode())
