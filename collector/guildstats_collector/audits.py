"""Grouped message deletes: Discord logs a moderator's deletes of one author's messages in one
channel as one audit entry whose ``count`` grows, and sends ``GUILD_AUDIT_LOG_ENTRY_CREATE``
only for the first. So after message deletes in a guild, the collector reads that guild's newest
message-delete entries over REST, at most once per ``interval`` (one request, discord.py waits
out rate limits) and sends an entry again when its count has grown (client id
``al-<entry>-<count>``, so the server's dedupe by id keeps each step once; the server raises
the case's count). An entry it has never seen and created within ``FRESH`` (deleted while the
collector was down, or its gateway event lost) is sent the same way and opens its case; older
ones are only remembered. Without the View Audit Log permission nothing is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
from guildstats_collector import events

log = logging.getLogger(__name__)

MESSAGE_DELETE = discord.AuditLogAction.message_delete
ENTRIES = 25  # the newest message-delete entries read per poll
FRESH = timedelta(hours=24)
REMEMBERED = 10_000  # entry counts kept (oldest forgotten first)

AuditFetch = Callable[[discord.Guild], Awaitable[list[discord.AuditLogEntry]]]


async def fetch_message_deletes(guild: discord.Guild) -> list[discord.AuditLogEntry]:
    return [entry async for entry in guild.audit_logs(limit=ENTRIES, action=MESSAGE_DELETE)]


def count_of(entry: discord.AuditLogEntry) -> int:
    return int(getattr(entry.extra, "count", None) or 1)


class AuditPoller:
    def __init__(
        self,
        emit: Callable[[dict[str, Any]], Any],
        *,
        interval: float,
        fetch: AuditFetch = fetch_message_deletes,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._emit = emit
        self.interval = interval
        self._fetch = fetch
        self._now = now
        self._counts: OrderedDict[int, int] = OrderedDict()
        self._due: dict[int, asyncio.Task[None]] = {}
        self.polls = 0

    def seen(self, entry: discord.AuditLogEntry) -> None:
        """A message-delete entry the gateway delivered (sent as it is by the cog)."""
        if entry.action == MESSAGE_DELETE:
            self._remember(entry.id, max(count_of(entry), self._counts.get(entry.id, 0)))

    def deleted(self, guild: discord.Guild) -> None:
        """A message was deleted in ``guild``: poll it once ``interval`` has passed, unless a
        poll is already due."""
        if self.interval <= 0 or guild.id in self._due:
            return
        me = guild.me
        if me is not None and not me.guild_permissions.view_audit_log:
            return
        task = asyncio.create_task(self._poll_later(guild), name=f"guildstats audit {guild.id}")
        self._due[guild.id] = task

    async def close(self) -> None:
        tasks, self._due = list(self._due.values()), {}
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _poll_later(self, guild: discord.Guild) -> None:
        try:
            await asyncio.sleep(self.interval)  # deletes come in runs: one poll per run
            await self.poll(guild)
        finally:
            self._due.pop(guild.id, None)

    async def poll(self, guild: discord.Guild) -> int:
        """Read the guild's newest message-delete entries; send the grown and the new ones.
        Returns how many were sent."""
        self.polls += 1
        try:
            entries = await self._fetch(guild)
        except (discord.HTTPException, TimeoutError, OSError) as exc:
            log.info("audit log of guild %s not read: %s", guild.id, exc)
            return 0
        sent = 0
        fresh_after = self._now() - FRESH
        for entry in sorted(entries, key=lambda e: e.id):
            if entry.action != MESSAGE_DELETE:
                continue  # the request asks for these only; a fetch that returns more is ignored
            count, known = count_of(entry), self._counts.get(entry.id)
            if known is not None and count <= known:
                continue
            self._remember(entry.id, count)
            if known is None and entry.created_at < fresh_after:
                continue  # long before this collector ran: remembered, not sent
            event = events.audit_entry(entry)
            event["id"] = f"al-{entry.id}-{count}"
            self._emit(event)
            sent += 1
        return sent

    def _remember(self, entry_id: int, count: int) -> None:
        self._counts[entry_id] = count
        self._counts.move_to_end(entry_id)
        while len(self._counts) > REMEMBERED:
            self._counts.popitem(last=False)
