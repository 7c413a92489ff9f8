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
import uuid
from typing import Any

import discord
from discord.ext import commands
from guildstats_collector import events, guild_events
from guildstats_collector.aggregate import Aggregator
from guildstats_collector.audits import AuditFetch, AuditPoller, fetch_message_deletes
from guildstats_collector.config import Settings
from guildstats_collector.coverage import LAST_ALIVE, Coverage
from guildstats_collector.directory_sync import Directory, DirectoryListeners
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


class GuildstatsCog(DirectoryListeners, commands.Cog, name="guildstats"):
    def __init__(
        self,
        bot: commands.Bot | discord.Client,
        settings: Settings | None = None,
        *,
        collector: Collector | None = None,
        invite_fetch: Fetch = fetch_invites,
        audit_fetch: AuditFetch = fetch_message_deletes,
    ) -> None:
        self.bot = bot
        self.settings = settings or Settings.from_env()
        self.collector = collector or Collector(self.settings)
        self.invites = InviteTracker(invite_fetch, cache_wait=self.settings.invite_cache_wait)
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
        # since when each disconnected shard's state is unknown (epoch ms), and its guilds
        self._gaps: dict[int, int] = {}
        self._resuming: set[int] = set()
        self._guild_gaps: dict[int, int] = {}  # guilds unavailable (a Discord outage) since
        # a restart's gap starts at the previous run's last heartbeat (None: a first start)
        self._restart_gap = self.collector.spool.recall(LAST_ALIVE)
        self._started_shards: set[int] = set()
        self._announced = False
        self.audits = AuditPoller(
            self._emit_audit, interval=self.settings.audit_poll_interval, fetch=audit_fetch
        )
        self.directory = Directory(bot, self.settings, self.collector)

    # --- lifecycle --------------------------------------------------------------------------------
    async def cog_load(self) -> None:
        await self.collector.start()
        self.coverage.launch()
        self.directory.launch()
        if self.aggregator is not None:
            self.aggregator.launch()
        if self.bot.is_ready():
            await self.on_ready()

    async def cog_unload(self) -> None:
        for task in self._background:
            task.cancel()
        await self.audits.close()
        await self.directory.close()
        if self.aggregator is not None:
            await self.aggregator.close()
        await self.coverage.close()  # sends each running shard's stop
        await self.collector.stop()
        log.info(
            "guildstats collector stopped: %s events left in the spool %s (sent on next start)",
            self.collector.spool.count,
            self.collector.spool.path,
        )

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _emit(self, event: dict[str, Any] | None) -> None:
        if event is not None:
            self.collector.emit(event)

    def _emit_audit(self, event: dict[str, Any]) -> None:
        if self.settings.enabled("GUILD_AUDIT_LOG_ENTRY_CREATE"):
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

    # --- connection: GUILD_SYNC and GUILD_STATE per shard, coverage, the invite cache ----------
    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # an AutoShardedBot has sent on_shard_ready for each shard already: sync the others
        for shard_id in self._shard_ids():
            if shard_id not in self._ready_shards:
                await self.on_shard_ready(shard_id)
        if not self._announced:
            self._announced = True
            spool = self.collector.spool
            log.info(
                "guildstats collector ready: %s shard(s) %s, %s guilds, sending to %s; "
                "spool %s (%s events, %s bytes waiting)",
                self._shard_count(),
                self._shard_ids(),
                len(self.bot.guilds),
                self.settings.guildstats_url,
                spool.path,
                spool.count,
                spool.bytes,
            )

    @commands.Cog.listener()
    async def on_shard_ready(self, shard_id: int) -> None:
        """A new gateway session (start, or a reconnect Discord would not resume): the guilds
        and their state as GUILD_CREATE delivered them, before any later dispatch."""
        self._ready_shards.add(shard_id)
        guilds = self._guilds_of_shard(shard_id)
        if guilds and self.settings.enabled("GUILD_SYNC"):
            self.collector.emit(guild_events.guild_sync(guilds, shard_id, self._shard_count()))
        gap = self._gaps.pop(shard_id, None)
        if shard_id not in self._started_shards:  # this run's first session of the shard
            self._started_shards.add(shard_id)
            gap = gap if gap is not None else self._restart_gap
        snapshot = self._state(guilds, "ready", gap)
        self.coverage.start(shard_id)
        if self.settings.enabled("INVITE_USE") or self.settings.enabled("GUILD_MEMBER_ADD"):
            self.invites.expect([g.id for g in guilds])
        if guilds:
            self._spawn(self._cache_invites(guilds, snapshot, "ready", gap))
        self.directory.snapshot(guilds)

    def _state(self, guilds: list[discord.Guild], reason: str, gap: int | None) -> str:
        """One GUILD_STATE per guild (voice roster, member count) at once, so that it comes
        before every later transition; returns the snapshot id its invite part will share."""
        snapshot = uuid.uuid4().hex
        if self.settings.enabled("GUILD_STATE"):
            now = events.now_ms()
            for guild in guilds:
                self.collector.emit(
                    guild_events.guild_state(guild, snapshot, reason, gap_since=gap, timestamp=now)
                )
        self._resuming.difference_update(g.id for g in guilds)
        return snapshot

    async def _cache_invites(
        self, guilds: list[discord.Guild], snapshot: str, reason: str, gap: int | None
    ) -> None:
        wanted = self.settings.enabled("INVITE_USE") or self.settings.enabled("GUILD_MEMBER_ADD")
        for guild in guilds:  # one after the other: discord.py paces them to the rate limits
            if not wanted and not self.settings.enabled("GUILD_STATE"):
                return
            invites = await self.invites.refresh(guild)
            if invites is not None and self.settings.enabled("GUILD_STATE"):
                listed = [invites[code].described() for code in sorted(invites)]
                self.collector.emit(
                    guild_events.guild_state(guild, snapshot, reason, gap_since=gap, invites=listed)
                )

    def _disconnected(self, shard_id: int) -> None:
        """The shard's state is known up to now: what Discord replays on a resume is reconciled
        by the roster sent at RESUMED, not stamped with the replay's time."""
        self._ready_shards.discard(shard_id)
        self.coverage.stop(shard_id)
        self._gaps.setdefault(shard_id, events.now_ms())
        self._resuming.update(g.id for g in self._guilds_of_shard(shard_id))

    def _resumed(self, shard_id: int) -> None:
        self.coverage.start(shard_id)
        gap = self._gaps.pop(shard_id, None)
        if gap is not None:
            self._state(self._guilds_of_shard(shard_id), "resume", gap)

    @commands.Cog.listener()
    async def on_shard_disconnect(self, shard_id: int) -> None:
        self._disconnected(shard_id)

    @commands.Cog.listener()
    async def on_disconnect(self) -> None:
        if not getattr(self.bot, "shards", None):
            self._disconnected(self.bot.shard_id or 0)

    @commands.Cog.listener()
    async def on_shard_resumed(self, shard_id: int) -> None:
        self._resumed(shard_id)

    @commands.Cog.listener()
    async def on_resumed(self) -> None:
        if not getattr(self.bot, "shards", None):
            self._resumed(self.bot.shard_id or 0)

    # --- guilds -----------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        if self.settings.enabled("GUILD_CREATE"):
            self.collector.emit(guild_events.guild_create(guild))
        snapshot = self._state([guild], "join", None)
        self.directory.snapshot([guild])
        await self._cache_invites([guild], snapshot, "join", None)

    @commands.Cog.listener()
    async def on_guild_unavailable(self, guild: discord.Guild) -> None:
        # a Discord outage of one guild: its state is unknown from now until it is back
        self._guild_gaps.setdefault(guild.id, events.now_ms())
        self._resuming.add(guild.id)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        gap = self._guild_gaps.pop(guild.id, None)
        if gap is not None:  # back after an outage: GUILD_CREATE brought its state again
            snapshot = self._state([guild], "ready", gap)
            self.directory.snapshot([guild])
            await self._cache_invites([guild], snapshot, "ready", gap)
        elif guild.shard_id in self._ready_shards:  # unavailable in READY, come since
            self.directory.snapshot([guild])

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.invites.forget(guild.id)
        if self.settings.enabled("GUILD_DELETE"):
            self.collector.emit(guild_events.guild_delete(guild))

    @commands.Cog.listener()
    async def on_guild_update(self, before: discord.Guild, after: discord.Guild) -> None:
        if self.settings.enabled("GUILD_UPDATE"):
            self._emit(guild_events.guild_update(before, after))

    # --- messages ---------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None:
            return
        self.directory.seen(message.author)
        counted = message.webhook_id is None and not message.author.bot  # bots: not counted
        if self.aggregator is not None and counted:
            self.aggregator.message(message.guild.id, message.author.id, message.channel.id)
        if self.settings.enabled("MESSAGE_CREATE"):
            self._emit(events.message_create(message, send_content=self.settings.send_content))

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if self.settings.enabled("MESSAGE_DELETE"):
            self._emit(events.message_delete(payload, send_content=self.settings.send_content))
        guild = self.bot.get_guild(payload.guild_id) if payload.guild_id else None
        if guild is not None:  # a moderator's delete may have grown an audit entry's count
            self.audits.deleted(guild)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        if self.settings.enabled("MESSAGE_DELETE_BULK"):
            self._emit(events.message_delete_bulk(payload))

    # --- reactions --------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.directory.seen(payload.member)
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
        self.directory.seen(member)
        found = events.voice(member, before, after)
        if found is None:
            return
        if self.aggregator is not None and not member.bot:
            self.aggregator.voice(
                member.guild.id, member.id, after.channel.id if after.channel else None
            )
        if member.guild.id in self._resuming:
            return  # replayed by a RESUME: the roster at RESUMED reconciles it (``_disconnected``)
        if self.settings.enabled(found["type"]):
            self.collector.emit(found)

    # --- members, bans ----------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        self.directory.joined(member)
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
        self.audits.seen(entry)
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
