"""The ``data`` payloads of activity, the guild registry, a guild's state and coverage, and the
map of every type's schema (``DATA_SCHEMAS``) that ingest validates with. Every value a
processor stores is bounded to its column (``fields``), so that nothing ingest accepts can fail
later. Shapes follow seed 001; where the seed gives none, docs/ingest.md documents ours."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta, Struct

from guildstats_contract.actions import (
    AuditLogData,
    AutoModerationData,
    BanData,
    InviteCreateData,
    InviteDeleteData,
    InviteUseData,
    MemberAddData,
    MemberRemoveData,
    MessageDeleteBulkData,
    MessageDeleteData,
)
from guildstats_contract.directory import DIRECTORY_SCHEMAS
from guildstats_contract.fields import (
    AwareDatetime,
    Checked,
    Count,
    EpochMs,
    Feature,
    GuildName,
    Icon,
    Snowflake,
    Tier,
)
from guildstats_contract.ids import is_snowflake as _is_snowflake
from guildstats_contract.snapshots import SNAPSHOT_SCHEMAS


# --- `data` payloads that the processors read ------------------------------------------------
class ReactionData(Checked, rename="camel"):
    _snowflakes = ("message_author_id",)
    message_author_id: Snowflake | None = None
    emoji: str | dict[str, Any] | None = None
    bot: bool = False


class VoiceMoveData(Checked, rename="camel"):
    _snowflakes = ("old_channel_id", "new_channel_id")
    old_channel_id: Snowflake | None = None
    new_channel_id: Snowflake | None = None


class GuildFields(Checked, rename="camel"):
    """The guild columns a GUILD_SYNC entry, GUILD_CREATE or GUILD_UPDATE's ``changes`` set."""

    _snowflakes: ClassVar[tuple[str, ...]] = ("owner_id",)
    name: GuildName | None = None
    icon: Icon | None = None
    owner_id: Snowflake | None = None
    member_count: Count | None = None
    features: Annotated[list[Feature], Meta(max_length=100)] | None = None
    premium_tier: Tier | None = None
    premium_subscription_count: Count | None = None


class SyncedGuild(GuildFields, rename="camel", kw_only=True):
    _snowflakes = ("id", "owner_id")
    id: Snowflake


# Discord's shard count is at most a few thousand; the bound keeps the modulo in SQL trivial.
ShardCount = Annotated[int, Meta(ge=1, le=2**16)]


class GuildSyncData(Struct, rename="camel"):
    """The guilds of one shard (the event's ``shardId`` of ``shardCount``; without
    ``shardCount``, or with 1, every guild of the bot): unlisted guilds of that shard and bot
    are marked inactive (docs/ingest.md)."""

    guilds: list[SyncedGuild]
    shard_count: ShardCount | None = None


class GuildCreateData(GuildFields, rename="camel"):
    _snowflakes = ("id", "owner_id")
    _datetimes = ("joined_at",)
    id: Snowflake | None = None  # the event's guildId when absent
    joined_at: AwareDatetime | None = None


class GuildUpdateData(Checked, rename="camel"):
    """``changes`` maps a field to ``{"old", "new"}``; the ``new`` side of the guild fields we
    keep is bounded like a GUILD_SYNC entry (other keys are kept raw, unread)."""

    _snowflakes = ("id",)
    changes: dict[str, Any]
    id: Snowflake | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        new_values = {
            key: change["new"]
            for key, change in self.changes.items()
            if key in GUILD_FIELD_NAMES and isinstance(change, dict) and "new" in change
        }
        msgspec.convert(new_values, GuildFields, strict=True)


GUILD_FIELD_NAMES = frozenset(
    {
        "name",
        "icon",
        "ownerId",
        "memberCount",
        "features",
        "premiumTier",
        "premiumSubscriptionCount",
    }
)


MAX_HEARTBEAT_GUILDS = 10_000  # guild ids per COLLECTOR_HEARTBEAT (Discord: ≤ 2,500 a shard)


# --- Collection windows (issue 10) -----------------------------------------------------------
class HeartbeatData(Checked, rename="camel"):
    """COLLECTOR_HEARTBEAT: "this collector was collecting every guild of ``guildIds`` from
    ``since`` (epoch ms) to the event's timestamp"; ``since`` is checked against the timestamp
    in ``guildstats_contract.events.parse_event``."""

    state: Literal["start", "alive", "stop"]
    since: EpochMs
    guild_ids: Annotated[list[Snowflake], Meta(max_length=MAX_HEARTBEAT_GUILDS)]
    interval_seconds: Annotated[int, Meta(ge=1, le=3600)] = 60
    shard_count: ShardCount = 1

    def __post_init__(self) -> None:
        for value in self.guild_ids:
            if not _is_snowflake(value):
                raise ValueError("guildIds must hold valid snowflakes")


# --- Guild state at a (re)connect (issue 22) ---------------------------------------------------
MAX_ROSTER = 20_000  # members in voice per GUILD_STATE (a frame holds about 25,000 ids)
MAX_STATE_INVITES = 1_000  # Discord's own cap on a guild's invites


class VoiceChannelRoster(Checked, rename="camel"):
    _snowflakes = ("channel_id",)
    channel_id: Snowflake
    user_ids: list[Snowflake]
    bot_ids: list[Snowflake] = []  # which of ``user_ids`` are bot accounts


class StateInvite(InviteCreateData, rename="camel"):
    """One of the guild's current invites, as INVITE_CREATE describes it."""


class GuildStateData(Checked, rename="camel"):
    """GUILD_STATE: one guild's state at the event's timestamp, sent by the collector at every
    ready, resume and guild join. Each section present replaces that part of the server's
    state; an absent (null) section leaves it alone, so a snapshot may come in parts that share
    ``snapshotId`` (the voice roster and member count at once, the invites once fetched).

    ``gapSince`` (epoch ms): the last moment before this snapshot at which the collector knew
    the guild's state (its last heartbeat before a crash, the disconnect before a resume);
    null when it knew none (a guild just joined, a first start)."""

    snapshot_id: Annotated[str, Meta(min_length=1, max_length=64)]
    reason: Literal["ready", "resume", "join"]
    gap_since: EpochMs | None = None
    member_count: Count | None = None
    voice: Annotated[list[VoiceChannelRoster], Meta(max_length=MAX_ROSTER)] | None = None
    invites: Annotated[list[StateInvite], Meta(max_length=MAX_STATE_INVITES)] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.voice is None:
            return
        members = sum(len(channel.user_ids) for channel in self.voice)
        if members > MAX_ROSTER:
            raise ValueError(f"voice holds {members} members, at most {MAX_ROSTER}")
        for channel in self.voice:
            for value in (*channel.user_ids, *channel.bot_ids):
                if not _is_snowflake(value):
                    raise ValueError("userIds and botIds must hold valid snowflakes")


DATA_SCHEMAS: dict[str, type[Struct]] = {
    "MESSAGE_REACTION_ADD": ReactionData,
    "MESSAGE_REACTION_REMOVE": ReactionData,
    "VOICE_CHANNEL_MOVE": VoiceMoveData,
    "GUILD_SYNC": GuildSyncData,
    "GUILD_CREATE": GuildCreateData,
    "GUILD_UPDATE": GuildUpdateData,
    "GUILD_BAN_ADD": BanData,
    "GUILD_BAN_REMOVE": BanData,
    "GUILD_MEMBER_ADD": MemberAddData,
    "GUILD_MEMBER_REMOVE": MemberRemoveData,
    "MESSAGE_DELETE": MessageDeleteData,
    "MESSAGE_DELETE_BULK": MessageDeleteBulkData,
    "GUILD_AUDIT_LOG_ENTRY_CREATE": AuditLogData,
    "AUTO_MODERATION_ACTION_EXECUTION": AutoModerationData,
    "INVITE_CREATE": InviteCreateData,
    "INVITE_DELETE": InviteDeleteData,
    "INVITE_USE": InviteUseData,
    "COLLECTOR_HEARTBEAT": HeartbeatData,
    "GUILD_STATE": GuildStateData,
    **SNAPSHOT_SCHEMAS,  # METRICS_SNAPSHOT, MEMBER_ACTIVITY_SNAPSHOT (snapshots.py)
    **DIRECTORY_SCHEMAS,  # GUILD_DIRECTORY and the directory's changes (directory.py)
}
