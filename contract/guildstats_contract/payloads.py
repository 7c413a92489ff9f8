"""The ``data`` payloads that processors read, as msgspec schemas checked at ingest.

Every value a processor stores is bounded here to its column, so that nothing ingest accepts can
fail later. Shapes follow seed 001; where the seed gives none, docs/ingest.md documents ours.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta, Struct

from guildstats_contract.ids import is_snowflake as _is_snowflake
from guildstats_contract.snapshots import SNAPSHOT_SCHEMAS

# Snowflakes are checked with str methods in __post_init__: a msgspec ``pattern`` runs
# Python's re per field, which cost more than the rest of the decoding put together.
Snowflake = str

# --- Bounds shared by the payloads ------------------------------------------------------
# Every value a processor stores is bounded here to its column, so that nothing ingest accepts
# can fail later (PostgreSQL refuses longer strings and larger integers, which used to fail the
# event at processing, after the ack). Codes are varchar(100), names varchar(255), counts
# integer; datetimes need a time zone (seed 001 sends ``toISOString()``, always UTC with ``Z``)
# and must lie between 1970 and 3000 in UTC (a far offset on 9999-12-31 overflows); epoch
# milliseconds end at year 9999.
InviteCode = Annotated[str, Meta(min_length=1, max_length=100)]
Count = Annotated[int, Meta(ge=0, le=2**31 - 1)]
Name = Annotated[str, Meta(max_length=255)]
GuildName = Annotated[str, Meta(max_length=100)]
Icon = Annotated[str, Meta(max_length=255)]
Feature = Annotated[str, Meta(max_length=100)]
Tier = Annotated[int, Meta(ge=0, le=32767)]  # smallint; Discord uses 0 to 3
AwareDatetime = Annotated[datetime, Meta(tz=True)]
EpochMs = Annotated[int, Meta(ge=0, le=253_402_300_799_999)]
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


class _Checked(Struct, rename="camel"):
    """A payload whose snowflakes (``_snowflakes``) and datetimes are range-checked after
    decoding (msgspec turns the ValueError into a ValidationError with our message)."""

    _snowflakes: ClassVar[tuple[str, ...]] = ()
    _datetimes: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name in self._snowflakes:
            value = getattr(self, name)
            if value is not None and not _is_snowflake(value):
                raise ValueError(f"{camel(name)} is not a valid snowflake")
        for name in self._datetimes:
            value = getattr(self, name)
            if isinstance(value, datetime) and value.tzinfo and not EARLIEST <= value < LATEST:
                raise ValueError(f"{camel(name)} must lie between 1970 and 3000")


# --- `data` payloads that the processors read ------------------------------------------------
class ReactionData(_Checked, rename="camel"):
    _snowflakes = ("message_author_id",)
    message_author_id: Snowflake | None = None
    emoji: str | dict[str, Any] | None = None
    bot: bool = False


class VoiceMoveData(_Checked, rename="camel"):
    _snowflakes = ("old_channel_id", "new_channel_id")
    old_channel_id: Snowflake | None = None
    new_channel_id: Snowflake | None = None


class GuildFields(_Checked, rename="camel"):
    """The guild columns a GUILD_SYNC entry, GUILD_CREATE or GUILD_UPDATE's ``changes`` set."""

    _snowflakes = ("owner_id",)
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


class GuildUpdateData(_Checked, rename="camel"):
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


# --- Moderation and invite payloads (issue 5) ------------------------------------------------
# Shapes follow seed 001 (BanEventData, MemberRemoveEventData, MemberAddEventData,
# MessageDeleteEventData, AuditLogEventData, InviteCreateEventData, InviteUseEventData); where
# the seed gives no shape (bulk delete, auto-moderation, invite delete) docs/moderation.md documents
# ours. Snowflakes inside ``data`` are checked like the top-level ones, in ``__post_init__``
# (msgspec turns its ValueError into a ValidationError with our message).
# Bounds match the columns the values are stored in (PostgreSQL refuses longer strings and
# larger integers, which would fail the event at processing instead of at ingest): codes are
# varchar(100), names varchar(255), counts integer; datetimes need a time zone (seed 001 sends
# ``toISOString()``, always UTC with ``Z``); epoch milliseconds end at year 9999.
class BanData(_Checked, rename="camel"):
    """GUILD_BAN_ADD / GUILD_BAN_REMOVE (seed BanEventData / UnbanEventData)."""

    _snowflakes = ("target_user_id", "moderator_id")
    target_user_id: Snowflake
    target_username: Name = ""
    target_discriminator: str | None = None
    target_avatar: str | None = None
    moderator_id: Snowflake | None = None
    moderator_username: Name | None = None
    reason: str | None = None


class MemberRemoveData(_Checked, rename="camel"):
    _snowflakes = ("user_id", "moderator_id")
    _datetimes = ("joined_at",)
    user_id: Snowflake | None = None
    username: Name = ""
    discriminator: str | None = None
    avatar: str | None = None
    was_kicked: bool = False
    moderator_id: Snowflake | None = None
    moderator_username: Name | None = None
    reason: str | None = None
    joined_at: AwareDatetime | None = None
    roles: list[str] = []


InviteAttribution = Literal["invite", "vanity", "ambiguous", "unknown"]
AttributionReason = Literal[
    "missing_permission", "rate_limited", "fetch_failed", "not_found", "cache_not_ready"
]


class MemberAddData(_Checked, rename="camel"):
    """``vanity`` / ``inviteType: "vanity"`` and ``accountCreatedAt`` are our additions, and so
    is the collector's ``inviteAttribution`` (how it found the invite: ``invite`` with the
    code and inviter, ``vanity``, ``ambiguous`` with up to 25 ``inviteCandidates``, or
    ``unknown`` with an ``attributionReason``); without it, the legacy fields decide."""

    _snowflakes = ("user_id", "inviter_id")
    _datetimes = ("account_created_at",)
    user_id: Snowflake | None = None
    username: Name = ""
    discriminator: str | None = None
    avatar: str | None = None
    bot: bool = False
    inviter_id: Snowflake | None = None
    inviter_username: Name | None = None
    invite_code: InviteCode | None = None
    vanity: bool = False
    invite_type: str | None = None
    account_created_at: AwareDatetime | EpochMs | None = None
    invite_attribution: InviteAttribution | None = None
    invite_candidates: Annotated[list[InviteCode], Meta(max_length=25)] | None = None
    attribution_reason: AttributionReason | None = None


class DeletedBy(_Checked, rename="camel"):
    _snowflakes = ("user_id",)
    user_id: Snowflake
    username: Name = ""


class MessageDeleteData(_Checked, rename="camel"):
    _snowflakes = ("message_id", "channel_id", "author_id")
    message_id: Snowflake | None = None
    channel_id: Snowflake | None = None
    author_id: Snowflake | None = None
    author_username: Name | None = None
    content: str | None = None
    has_attachments: bool = False
    attachment_count: Count = 0
    deleted_by: DeletedBy | None = None


class MessageDeleteBulkData(_Checked, rename="camel"):
    _snowflakes = ("channel_id", "moderator_id")
    message_ids: list[Snowflake] = []
    count: Count | None = None
    channel_id: Snowflake | None = None
    author_ids: list[Snowflake] = []
    moderator_id: Snowflake | None = None
    moderator_username: Name | None = None
    deleted_by: DeletedBy | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for value in (*self.message_ids, *self.author_ids):
            if not _is_snowflake(value):
                raise ValueError("messageIds and authorIds must hold valid snowflakes")


class AuditChange(Struct, rename="camel"):
    key: str
    old_value: Any = None
    new_value: Any = None


class AuditLogData(_Checked, rename="camel"):
    """``action`` is the seed's name (MEMBER_BAN_ADD …) or Discord's numeric audit-log type."""

    _snowflakes = ("executor_id", "target_id", "id", "channel_id")
    action: Annotated[str, Meta(min_length=1, max_length=64)] | int
    executor_id: Snowflake | None = None
    executor_username: Name | None = None
    target_id: Snowflake | None = None
    target_username: Name | None = None
    target_type: str | None = None
    changes: list[AuditChange] = []
    reason: str | None = None
    id: Snowflake | None = None
    # Discord's ``options``: the channel of a message delete (72) or bulk delete (73) and how
    # many messages it covers (a grouped message-delete entry's count grows)
    channel_id: Snowflake | None = None
    count: Count | None = None


class AutoModerationData(_Checked, rename="camel"):
    _snowflakes = ("rule_id", "user_id", "channel_id", "message_id")
    rule_id: Snowflake | None = None
    rule_name: str | None = None
    rule_trigger_type: int | str | None = None
    action: dict[str, Any] | str | int | None = None
    user_id: Snowflake | None = None
    username: Name | None = None
    channel_id: Snowflake | None = None
    message_id: Snowflake | None = None
    content: str | None = None
    matched_keyword: str | None = None
    matched_content: str | None = None


class InviteCreateData(_Checked, rename="camel"):
    _snowflakes = ("channel_id", "inviter_id")
    _datetimes = ("created_at", "expires_at")
    code: InviteCode
    channel_id: Snowflake | None = None
    inviter_id: Snowflake | None = None
    inviter_username: Name | None = None
    max_uses: Count = 0
    max_age: Count = 0
    temporary: bool = False
    uses: Count = 0
    created_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None


class InviteDeleteData(_Checked, rename="camel"):
    _snowflakes = ("channel_id",)
    code: InviteCode
    channel_id: Snowflake | None = None


class InviteUseData(_Checked, rename="camel"):
    _snowflakes = ("inviter_id", "new_member_id")
    _datetimes = ("account_created_at",)
    code: InviteCode
    new_member_id: Snowflake
    new_member_username: Name = ""
    inviter_id: Snowflake | None = None
    inviter_username: Name | None = None
    uses: Count | None = None
    max_uses: Count | None = None
    vanity: bool = False
    account_created_at: AwareDatetime | EpochMs | None = None


MAX_HEARTBEAT_GUILDS = 10_000  # guild ids per COLLECTOR_HEARTBEAT (Discord: ≤ 2,500 a shard)


# --- Collection windows (issue 10) -----------------------------------------------------------
class HeartbeatData(_Checked, rename="camel"):
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


class VoiceChannelRoster(_Checked, rename="camel"):
    _snowflakes = ("channel_id",)
    channel_id: Snowflake
    user_ids: list[Snowflake]
    bot_ids: list[Snowflake] = []  # which of ``user_ids`` are bot accounts


class StateInvite(InviteCreateData, rename="camel"):
    """One of the guild's current invites, as INVITE_CREATE describes it."""


class GuildStateData(_Checked, rename="camel"):
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
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
