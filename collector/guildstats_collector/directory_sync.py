"""A guild's directory at run time (the entries and events are ``directory``'s):

* a ``GUILD_DIRECTORY`` snapshot whenever a guild becomes available (a shard's ready, a guild
  join, a guild back from an outage), in chunks built one at a time: the entries are measured
  in a first pass (to know the chunk count, ``parts``), then built again chunk by chunk, the
  event loop given back between batches, so a 250,000-member guild costs a few megabytes and
  never holds the loop for long. Members are listed when the members intent is on and the
  cache holds the guild's every member (``guild.chunked``; a guild that is not is chunked
  first, after the guilds that need no fetch);
* where the snapshot could not list the members, each member once when first seen in this
  process (a message, a reaction, voice, a join), remembered in a bounded LRU;
* every change, from the listeners of ``DirectoryListeners`` (mixed into ``GuildstatsCog``).

A successful RESUME needs no snapshot: Discord replays every dispatch missed meanwhile, the
directory's changes included; a session Discord will not resume ends in a new READY (a shard's
ready, above).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import discord
from discord.ext import commands
from guildstats_collector import directory
from guildstats_collector.config import Settings
from guildstats_collector.events import now_ms
from guildstats_collector.pipeline import Collector

log = logging.getLogger("guildstats_collector")

CHUNK_TIMEOUT = 600.0  # seconds a guild's member fetch may take (250,000 members: 250 chunks)
SEEN_MAX = 100_000  # (guild, member) pairs remembered as sent
MEASURE_BATCH = 1_000  # entries measured between two yields to the event loop

Identity = tuple[str, str | None, str | None]


def identity(user: discord.abc.User) -> Identity:
    """What the directory holds of a user (the rest of a member is the guild's)."""
    avatar = user.avatar
    return (user.name, user.global_name, avatar.key if avatar is not None else None)


class SeenMembers:
    """The ``limit`` (guild, user) pairs most recently seen (an LRU set of ints)."""

    def __init__(self, limit: int = SEEN_MAX) -> None:
        self._limit = limit
        self._seen: dict[int, None] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, guild_id: int, user_id: int) -> bool:
        """Remember the pair; whether it is new."""
        key = guild_id << 64 | user_id
        if key in self._seen:
            del self._seen[key]  # to the most recent end
            self._seen[key] = None
            return False
        self._seen[key] = None
        if len(self._seen) > self._limit:
            del self._seen[next(iter(self._seen))]
        return True


class Directory:
    def __init__(
        self,
        bot: commands.Bot | discord.Client,
        settings: Settings,
        collector: Collector,
        *,
        chunk_timeout: float = CHUNK_TIMEOUT,
        seen_max: int = SEEN_MAX,
    ) -> None:
        self._bot = bot
        self._settings = settings
        self._collector = collector
        self._chunk_timeout = chunk_timeout
        self._lock = asyncio.Lock()  # one snapshot built at a time
        self._tasks: set[asyncio.Task[None]] = set()
        self._watch: asyncio.Task[None] | None = None
        self.complete: set[int] = set()  # guilds whose last snapshot listed every member
        self.sightings = SeenMembers(seen_max)  # members sent since seen
        self._me: Identity | None = None

    def enabled(self, kind: str) -> bool:
        return self._settings.enabled(kind)

    def emit(self, event: dict[str, Any] | None) -> None:
        if event is not None and self.enabled(event["type"]):
            self._collector.emit(event)

    # --- lifecycle ----------------------------------------------------------------------------
    def launch(self) -> None:
        """Watch the bot's own names: Discord reports them with USER_UPDATE, which discord.py
        dispatches to no listener."""
        if self._watch is None:
            self._watch = asyncio.create_task(self._watch_me(), name="guildstats directory")

    async def _watch_me(self) -> None:
        while True:
            await asyncio.sleep(self._settings.heartbeat_interval)
            self.check_me()

    async def close(self) -> None:
        tasks = [*self._tasks, *([self._watch] if self._watch is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._watch = None

    async def wait_idle(self) -> None:
        """Until every snapshot under way is sent (tests, a clean stop)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def building(self) -> bool:
        """A snapshot is being built (it gives the loop back between batches)."""
        return self._lock.locked()

    def forget(self, guild_id: int) -> None:
        self.complete.discard(guild_id)

    # --- snapshots ----------------------------------------------------------------------------
    def snapshot(self, guilds: Sequence[discord.Guild]) -> None:
        """Send the directory of ``guilds``, which just became available (in the background)."""
        self.check_me()
        if not guilds or not self.enabled("GUILD_DIRECTORY"):
            return
        task = asyncio.create_task(self._snapshots(list(guilds)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _members_wanted(self) -> bool:
        return bool(self._bot.intents.members)

    async def _snapshots(self, guilds: list[discord.Guild]) -> None:
        try:
            later: list[discord.Guild] = []
            for guild in guilds:  # those whose members are at hand first: none waits on a fetch
                if self._members_wanted() and not guild.chunked:
                    later.append(guild)
                else:
                    await self._send(guild)
            for guild in later:
                if self._current(guild):
                    await self._chunk(guild)
                    await self._send(guild)
        except Exception:  # a bug: said loudly; the changes go on being sent
            log.exception("guild directory snapshot failed")

    def _current(self, guild: discord.Guild) -> bool:
        """The guild is still the bot's and available (it may have left meanwhile)."""
        return not guild.unavailable and self._bot.get_guild(guild.id) is guild

    async def _chunk(self, guild: discord.Guild) -> None:
        try:
            async with asyncio.timeout(self._chunk_timeout):
                await guild.chunk()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a timeout, a closed gateway: the snapshot goes without them
            log.warning(
                "guild %s: its members could not be fetched (%s); its directory is sent "
                "without them, members are then sent as they are seen",
                guild.id,
                exc or type(exc).__name__,
            )

    async def _send(self, guild: discord.Guild) -> None:
        if not self._current(guild):
            return
        async with self._lock:
            members = self._members_wanted() and guild.chunked
            if members:
                self.complete.add(guild.id)
            else:
                self.complete.discard(guild.id)
            sources = directory.snapshot_sources(guild, members=members)
            sections = [section for section, _ in sources]
            snapshot_id = uuid.uuid4().hex
            timestamp = now_ms()  # the moment the lists were taken: every chunk's
            plan = directory.ChunkPlan(directory.chunk_budget(self._settings.frame_max_bytes))
            total = sum(len(items) for _, items in sources)
            for start in range(0, total, MEASURE_BATCH):
                for _, entry in directory.entries(sources, start, start + MEASURE_BATCH):
                    plan.add(directory.entry_size(entry))
                await asyncio.sleep(0)
            ranges = plan.ranges
            for part, (start, stop) in enumerate(ranges):
                listed = directory.entries(sources, start, stop)
                client_id, body = directory.chunk(
                    guild, snapshot_id, part, len(ranges), sections, listed, timestamp=timestamp
                )
                self._collector.emit_encoded("GUILD_DIRECTORY", client_id, body)
                await asyncio.sleep(0)  # the chunk goes to the spool (an immediate type)
            log.debug(
                "guild %s: directory %s sent in %s chunks", guild.id, snapshot_id, len(ranges)
            )

    # --- members --------------------------------------------------------------------------------
    def seen(self, member: object) -> None:
        """A member seen in a message, a reaction or voice: sent the first time when the
        guild's snapshot did not list its members."""
        if not isinstance(member, discord.Member) or member.guild.id in self.complete:
            return
        if self.enabled("GUILD_MEMBER_UPDATE") and self.sightings.add(member.guild.id, member.id):
            self._collector.emit(directory.member_updated(member))

    def joined(self, member: discord.Member) -> None:
        """A join: the member is in no snapshot yet, whatever the intent."""
        if self.enabled("GUILD_MEMBER_UPDATE"):
            if member.guild.id not in self.complete:
                self.sightings.add(member.guild.id, member.id)
            self._collector.emit(directory.member_updated(member))

    def member_changed(self, before: discord.Member, after: discord.Member) -> None:
        """Nickname, guild avatar or roles (discord.py's ``before`` shares the user with
        ``after``: a user's own changes are ``user_changed``'s)."""
        if not self.enabled("GUILD_MEMBER_UPDATE"):
            return
        entry = directory.member_entry(after)
        if directory.member_entry(before) == entry:
            self.seen(after)
            return
        if after.guild.id not in self.complete:
            self.sightings.add(after.guild.id, after.id)
        guild_id = after.guild.id
        self._collector.emit(
            directory.change("GUILD_MEMBER_UPDATE", guild_id, after.id, entry, user_id=after.id)
        )

    def user_changed(self, before: discord.abc.User, after: discord.abc.User) -> None:
        """Username, global name or avatar: the member's entry in every guild shared."""
        if identity(before) == identity(after) or not self.enabled("GUILD_MEMBER_UPDATE"):
            return
        for guild in self._bot.guilds:
            member = guild.get_member(after.id)
            if member is not None:
                self._collector.emit(directory.member_updated(member))

    def check_me(self) -> None:
        """The bot's own names: remembered at the first ready, sent for every guild when they
        changed since."""
        user = self._bot.user
        if user is None:
            return
        known, self._me = self._me, identity(user)
        if known is None or known == self._me or not self.enabled("GUILD_MEMBER_UPDATE"):
            return
        for guild in self._bot.guilds:
            if guild.me is not None:
                self._collector.emit(directory.member_updated(guild.me))


class DirectoryListeners:
    """The directory's change listeners, mixed into ``GuildstatsCog``."""

    directory: Directory

    @commands.Cog.listener()
    async def on_guild_channel_create(self, channel: discord.abc.GuildChannel) -> None:
        self.directory.emit(directory.channel_created(channel))

    @commands.Cog.listener()
    async def on_guild_channel_update(
        self, before: discord.abc.GuildChannel, after: discord.abc.GuildChannel
    ) -> None:
        self.directory.emit(directory.channel_updated(before, after))

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        self.directory.emit(directory.channel_deleted(channel))

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        self.directory.emit(directory.channel_created(thread))

    @commands.Cog.listener()
    async def on_thread_join(self, thread: discord.Thread) -> None:
        # a thread the cache did not know (the bot added to it, unarchived, a channel newly
        # visible): its current entry
        self.directory.emit(directory.channel_updated(None, thread))

    @commands.Cog.listener()
    async def on_thread_update(self, before: discord.Thread, after: discord.Thread) -> None:
        self.directory.emit(directory.channel_updated(before, after))

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        self.directory.emit(directory.thread_deleted(payload))

    @commands.Cog.listener()
    async def on_guild_role_create(self, role: discord.Role) -> None:
        self.directory.emit(directory.role_created(role))

    @commands.Cog.listener()
    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        self.directory.emit(directory.role_updated(before, after))

    @commands.Cog.listener()
    async def on_guild_role_delete(self, role: discord.Role) -> None:
        self.directory.emit(directory.role_deleted(role))

    @commands.Cog.listener()
    async def on_guild_emojis_update(
        self,
        guild: discord.Guild,
        before: Sequence[discord.Emoji],
        after: Sequence[discord.Emoji],
    ) -> None:
        for found in directory.emojis_changed(guild, before, after):
            self.directory.emit(found)

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        self.directory.member_changed(before, after)

    @commands.Cog.listener()
    async def on_user_update(self, before: discord.User, after: discord.User) -> None:
        self.directory.user_changed(before, after)

    @commands.Cog.listener("on_guild_remove")
    async def _directory_forget(self, guild: discord.Guild) -> None:
        self.directory.forget(guild.id)
