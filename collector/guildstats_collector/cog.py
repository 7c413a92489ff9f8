"""The listeners, as a discord.py cog: each turns one gateway event into guildstats events
(``events``) and hands them to the ``Collector``.

Raw events (``on_raw_*``) wherever discord.py has one, so activity on messages that are not in the
cache still counts. What each part needs from Discord:

* intents: ``guilds``, ``guild_messages``, ``guild_reactions``, ``voice_states``, ``invites``,
  ``moderation`` (bans and ``on_audit_log_entry_create``), ``auto_moderation_execution``;
  the privileged ``members`` intent for joins, leaves and the member cache (without it no join,
  leave or invite attribution is reported); ``message_content`` only with
  ``GUILDSTATS_SEND_CONTENT``;
* permissions: View Audit Log (audit entries: moderators, kicks, reasons), Manage Server
  (invites and their uses: without it joins are reported with ``inviteAttribution: unknown``,
  ``attributionReason: missing_permission``), View Channels.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord.ext import commands

from guildstats_collector import events
from guildstats_collector.aggregate import Aggregator
from guildstats_collector.config import Settings
from guildstats_collector.coverage import Coverage
from guildstats_collector.invites import (
    Attribution,
    Fetch,
    InviteState,
    InviteTracker,
    fetch_invites,
)
from guildstats_collector.pipeline import Collector

log = logging.getLogger("guildstats_collector")


def intents(settings: Settings) -> discord.Intents:
    wanted = discord.Intents.default()  # every non-privileged intent, moderation included
    wanted.members = settings.members_intent
    wanted.message_content = settings.send_content
    wanted.presences = False
    wanted.typing = False
    return wanted


class GuildstatsCog(commands.Cog, name="guildstats"):
    def __init__(
        self,
        bot: commands.Bot | discord.Client,
        settings: Settings | None = None,
        *,
        collector: Collector | None = None,
        invite_fetch: Fetch = fetch_invites,
    ) -> None:
        self.bot = bot
        self.settings = settings or Settings.from_env()
        self.collector = collector or Collector(self.settings)
        self.invites = InviteTracker(invite_fetch)
        self.coverage = Coverage(
            self.collector,
            self._guild_ids_of_shard,
            self._shard_count,
            interval=self.settings.heartbeat_interval,
        )
        self.aggregator = (
            Aggregator(self.collector, self.settings.aggregate)
            if self.settings.aggregate.enabled
            else None
        )
        self._background: set[asyncio.Task[Any]] = set()
        self._ready_shards: set[int] = set()  # synced since their last connect

    # --- lifecycle --------------------------------------------------------------------------------
    async def cog_load(self) -> None:
        await self.collector.start()
        self.coverage.launch()
        if self.aggregator is not None:
            self.aggregator.launch()
        if self.bot.is_ready():
            await self.on_ready()

    async def cog_unload(self) -> None:
        for task in self._background:
            task.cancel()
        if self.aggregator is not None:
            await self.aggregator.close()
        await self.coverage.close()  # sends each running shard's stop
        await self.collector.stop()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _emit(self, event: dict[str, Any] | None) -> None:
        if event is not None:
            self.collector.emit(event)

    def _shard_count(self) -> int:
        return self.bot.shard_count or 1

    def _shard_ids(self) -> list[int]:
        shards = getattr(self.bot, "shards", None)
        if shards:
            return sorted(shards)
        return [self.bot.shard_id or 0]

    def _guilds_of_shard(self, shard_id: int) -> list[discord.Guild]:
        return [g for g in self.bot.guilds if (g.id >> 22) % self._shard_count() == shard_id]

    def _guild_ids_of_shard(self, shard_id: int) -> list[int]:
        return [g.id for g in self._guilds_of_shard(shard_id)]

    # --- connection: GUILD_SYNC per shard, coverage, the invite cache -----------------------------
    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # an AutoShardedBot has sent on_shard_ready for each shard already: sync the others
        for shard_id in self._shard_ids():
            if shard_id not in self._ready_shards:
                await self.on_shard_ready(shard_id)

    @commands.Cog.listener()
    async def on_shard_ready(self, shard_id: int) -> None:
        self._ready_shards.add(shard_id)
        guilds = self._guilds_of_shard(shard_id)
        if guilds and self.settings.enabled("GUILD_SYNC"):
            self.collector.emit(events.guild_sync(guilds, shard_id, self._shard_count()))
        self.coverage.start(shard_id)
        if self.settings.enabled("INVITE_USE") or self.settings.enabled("GUILD_MEMBER_ADD"):
            self._spawn(self._cache_invites(guilds))

    async def _cache_invites(self, guilds: list[discord.Guild]) -> None:
        for guild in guilds:  # one after the other: discord.py paces them to the rate limits
            await self.invites.refresh(guild)

    @commands.Cog.listener()
    async def on_shard_disconnect(self, shard_id: int) -> None:
        self._ready_shards.discard(shard_id)
        self.coverage.stop(shard_id)

    @commands.Cog.listener()
    async def on_disconnect(self) -> None:
        if not getattr(self.bot, "shards", None):
            self._ready_shards.discard(self.bot.shard_id or 0)
            self.coverage.stop(self.bot.shard_id or 0)

    @commands.Cog.listener()
    async def on_shard_resumed(self, shard_id: int) -> None:
        self.coverage.start(shard_id)

    @commands.Cog.listener()
    async def on_resumed(self) -> None:
        if not getattr(self.bot, "shards", None):
            self.coverage.start(self.bot.shard_id or 0)

    # --- guilds -----------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        if self.settings.enabled("GUILD_CREATE"):
            self.collector.emit(events.guild_create(guild))
        await self.invites.refresh(guild)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.invites.forget(guild.id)
        if self.settings.enabled("GUILD_DELETE"):
            self.collector.emit(events.guild_delete(guild))

    @commands.Cog.listener()
    async def on_guild_update(self, before: discord.Guild, after: discord.Guild) -> None:
        if self.settings.enabled("GUILD_UPDATE"):
            self._emit(events.guild_update(before, after))

    # --- messages ---------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None:
            return
        counted = message.webhook_id is None and not message.author.bot  # bots: not counted
        if self.aggregator is not None and counted:
            self.aggregator.message(message.guild.id, message.author.id, message.channel.id)
        if self.settings.enabled("MESSAGE_CREATE"):
            self._emit(events.message_create(message, send_content=self.settings.send_content))

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if self.settings.enabled("MESSAGE_DELETE"):
            self._emit(events.message_delete(payload, send_content=self.settings.send_content))

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        if self.settings.enabled("MESSAGE_DELETE_BULK"):
            self._emit(events.message_delete_bulk(payload))

    # --- reactions --------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        human = payload.member is None or not payload.member.bot
        if self.aggregator is not None and payload.guild_id is not None and human:
            self.aggregator.reaction(
                payload.guild_id, payload.user_id, str(payload.emoji), payload.message_author_id
            )
        if self.settings.enabled("MESSAGE_REACTION_ADD"):
            self._emit(events.reaction(payload))

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        if self.settings.enabled("MESSAGE_REACTION_REMOVE"):
            self._emit(events.reaction(payload))

    # --- voice ------------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        found = events.voice(member, before, after)
        if found is None:
            return
        if self.aggregator is not None and not member.bot:
            self.aggregator.voice(
                member.guild.id, member.id, after.channel.id if after.channel else None
            )
        if self.settings.enabled(found["type"]):
            self.collector.emit(found)

    # --- members, bans ----------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        if member.bot:  # bots join through OAuth, never through an invite
            attribution = Attribution("unknown")
        elif self.settings.enabled("INVITE_USE") or self.settings.enabled("GUILD_MEMBER_ADD"):
            attribution = await self.invites.attribute(member.guild)
        else:
            return
        if self.settings.enabled("GUILD_MEMBER_ADD"):
            self.collector.emit(events.member_add(member, attribution.member_add_fields()))
        used = attribution.invite_use_fields()
        if used is not None and self.settings.enabled("INVITE_USE"):
            self.collector.emit(events.invite_use(member, used))

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        if self.settings.enabled("GUILD_MEMBER_REMOVE"):
            self.collector.emit(events.member_remove(payload))

    @commands.Cog.listener()
    async def on_member_ban(self, guild: discord.Guild, user: discord.abc.User) -> None:
        if self.settings.enabled("GUILD_BAN_ADD"):
            self.collector.emit(events.ban("GUILD_BAN_ADD", guild, user))

    @commands.Cog.listener()
    async def on_member_unban(self, guild: discord.Guild, user: discord.abc.User) -> None:
        if self.settings.enabled("GUILD_BAN_REMOVE"):
            self.collector.emit(events.ban("GUILD_BAN_REMOVE", guild, user))

    # --- audit log, auto-moderation ---------------------------------------------------------------
    @commands.Cog.listener()
    async def on_audit_log_entry_create(self, entry: discord.AuditLogEntry) -> None:
        if self.settings.enabled("GUILD_AUDIT_LOG_ENTRY_CREATE"):
            self.collector.emit(events.audit_entry(entry))

    @commands.Cog.listener()
    async def on_automod_action(self, execution: discord.AutoModAction) -> None:
        if self.settings.enabled("AUTO_MODERATION_ACTION_EXECUTION"):
            self.collector.emit(events.automod(execution, send_content=self.settings.send_content))

    # --- invites ----------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_invite_create(self, invite: discord.Invite) -> None:
        if invite.guild is not None:
            self.invites.created(invite.guild.id, InviteState.of(invite))
        if self.settings.enabled("INVITE_CREATE"):
            self._emit(events.invite_create(invite))

    @commands.Cog.listener()
    async def on_invite_delete(self, invite: discord.Invite) -> None:
        if invite.guild is not None:
            self.invites.deleted(invite.guild.id, invite.code)
        if self.settings.enabled("INVITE_DELETE"):
            self._emit(events.invite_delete(invite))
