"""The moderation and invite payloads: bans, leaves and joins, message deletes, audit entries,
auto-moderation, invites (seed 001 shapes; docs/moderation.md documents ours where the seed is
silent)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from guildstats_contract.fields import (
    AwareDatetime,
    Checked,
    Count,
    EpochMs,
    InviteCode,
    Name,
    Snowflake,
)
from guildstats_contract.ids import is_snowflake as _is_snowflake


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
class BanData(Checked, rename="camel"):
    """GUILD_BAN_ADD / GUILD_BAN_REMOVE (seed BanEventData / UnbanEventData)."""

    _snowflakes = ("target_user_id", "moderator_id")
    target_user_id: Snowflake
    target_username: Name = ""
    target_discriminator: str | None = None
    target_avatar: str | None = None
    moderator_id: Snowflake | None = None
    moderator_username: Name | None = None
    reason: str | None = None


class MemberRemoveData(Checked, rename="camel"):
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


class MemberAddData(Checked, rename="camel"):
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


class DeletedBy(Checked, rename="camel"):
    _snowflakes = ("user_id",)
    user_id: Snowflake
    username: Name = ""


class MessageDeleteData(Checked, rename="camel"):
    _snowflakes = ("message_id", "channel_id", "author_id")
    message_id: Snowflake | None = None
    channel_id: Snowflake | None = None
    author_id: Snowflake | None = None
    author_username: Name | None = None
    content: str | None = None
    has_attachments: bool = False
    attachment_count: Count = 0
    deleted_by: DeletedBy | None = None


class MessageDeleteBulkData(Checked, rename="camel"):
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


class AuditLogData(Checked, rename="camel"):
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


class AutoModerationData(Checked, rename="camel"):
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


class InviteCreateData(Checked, rename="camel"):
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


class InviteDeleteData(Checked, rename="camel"):
    _snowflakes = ("channel_id",)
    code: InviteCode
    channel_id: Snowflake | None = None


class InviteUseData(Checked, rename="camel"):
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
