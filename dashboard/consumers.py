"""``ws/guilds/<id>/live/``: tells an open dashboard that its guild's figures changed (the page
then fetches its cards and chart again). Same access check as the pages (session or share
link); a caller without access is refused at the handshake."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dashboard.access import NoAccess, access_for
from dashboard.live import group_name, watching


def _may_watch(user: Any, session: Any, guild_id: str) -> int | None:
    try:
        return access_for(user, session, guild_id).guild.guild_id
    except NoAccess:
        return None


class GuildLiveConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    guild_id: int | None = None

    async def connect(self) -> None:
        guild_id = self.scope["url_route"]["kwargs"]["guild_id"]
        found = await database_sync_to_async(_may_watch)(
            self.scope.get("user"), self.scope.get("session"), guild_id
        )
        if found is None:
            await self.close()  # before accept: the handshake is refused (403)
            return
        self.group, self.guild_id = group_name(found), found
        await self.channel_layer.group_add(self.group, self.channel_name)
        await sync_to_async(watching)(found)  # after joining: the next push reaches us
        await self.accept()
        await self.send_json({"type": "hello", "guild": str(found)})

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            if self.guild_id is not None:  # the page pings every minute: still watching
                await sync_to_async(watching)(self.guild_id)
            await self.send_json({"type": "pong"})

    async def guild_changed(self, event: dict[str, Any]) -> None:
        await self.send_json(
            {"type": "changed", "guild": event.get("guild"), "at": event.get("at")}
        )
