"""The bot event contract (seed 001 ``BotEventDto``) and its validation.

Validation runs once per event on the ingest hot path, so it uses msgspec (compiled, strict
schema conversion) rather than a DRF serializer per event. Each failure becomes a short reason
for the ack plus a low-cardinality code for /metrics.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from guildstats_contract.fields import camel
from guildstats_contract.ids import is_snowflake as _is_snowflake
from guildstats_contract.payloads import DATA_SCHEMAS, HeartbeatData
from guildstats_contract.snapshots import SnapshotPeriod

# Snowflakes and type names are checked in parse_event with str methods: a msgspec ``pattern``
# runs Python's re per field, which cost more than the rest of the decoding put together.
Snowflake = str
TYPE_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
ClientId = Annotated[str, Meta(min_length=1, max_length=64)]
# Discord shard ids are small; the column is an integer (a larger value used to wrap in COPY).
ShardId = Annotated[int, Meta(ge=0, le=2**31 - 1)]


class BotEvent(Struct, rename="camel"):
    """One event as a bot sends it. Unknown extra fields are ignored, not refused."""

    type: str
    guild_id: Snowflake
    timestamp: int
    user_id: Snowflake | None = None
    channel_id: Snowflake | None = None
    message_id: Snowflake | None = None
    role_id: Snowflake | None = None
    shard_id: ShardId | None = None
    data: dict[str, Any] | None = None
    id: ClientId | None = None


# --- Event types -----------------------------------------------------------------------------
# The one definition of every type set; the apps register handlers for them (core.registry).
MODERATION_TYPES = frozenset(  # actions that open moderation cases
    {
        "GUILD_BAN_ADD",
        "GUILD_BAN_REMOVE",
        "GUILD_MEMBER_REMOVE",  # a kick (wasKicked)
        "MESSAGE_DELETE",
        "MESSAGE_DELETE_BULK",
        "GUILD_AUDIT_LOG_ENTRY_CREATE",
        "AUTO_MODERATION_ACTION_EXECUTION",
    }
)
MEMBER_TYPES = frozenset({"GUILD_MEMBER_ADD", "GUILD_MEMBER_REMOVE"})  # joins and leaves
INVITE_TYPES = frozenset({"INVITE_CREATE", "INVITE_DELETE", "INVITE_USE"})
GUILD_TYPES = frozenset({"GUILD_SYNC", "GUILD_CREATE", "GUILD_DELETE", "GUILD_UPDATE"})
# a guild's state at a (re)connect: voice roster, member count, invites (payloads)
STATE_TYPES = frozenset({"GUILD_STATE"})
SNAPSHOT_TYPES = frozenset({"METRICS_SNAPSHOT", "MEMBER_ACTIVITY_SNAPSHOT"})
# the collector's "I was collecting these guilds from since to timestamp" (collection windows)
COVERAGE_TYPES = frozenset({"COLLECTOR_HEARTBEAT"})
MESSAGE_TYPES = frozenset({"MESSAGE_CREATE", "MESSAGE_UPDATE"})
VOICE_TYPES = frozenset(
    {
        "VOICE_STATE_UPDATE",
        "VOICE_CHANNEL_JOIN",
        "VOICE_CHANNEL_LEAVE",
        "VOICE_CHANNEL_MOVE",
        "VOICE_MUTE",
        "VOICE_UNMUTE",
        "VOICE_SELF_MUTE",
        "VOICE_SELF_DEAFEN",
    }
)
REACTION_TYPES = frozenset(
    {
        "MESSAGE_REACTION_ADD",
        "MESSAGE_REACTION_REMOVE",
        "MESSAGE_REACTION_REMOVE_ALL",
        "MESSAGE_REACTION_REMOVE_EMOJI",
    }
)
# A guild's directory: names of channels, roles, emojis and members (directory.py). Seed 001
# listed the first twelve under "catégories futures".
DIRECTORY_TYPES = frozenset(
    {
        "GUILD_DIRECTORY",
        "GUILD_MEMBER_UPDATE",
        "ROLE_CREATE",
        "ROLE_DELETE",
        "ROLE_UPDATE",
        "CHANNEL_CREATE",
        "CHANNEL_DELETE",
        "CHANNEL_UPDATE",
        "THREAD_CREATE",
        "THREAD_UPDATE",
        "THREAD_DELETE",
        "EMOJI_CREATE",
        "EMOJI_DELETE",
        "EMOJI_UPDATE",
    }
)
# Seed 001 "catégories futures" still without a processor: defined by the contract, stored.
FUTURE_TYPES = frozenset({"XP_GAIN", "LEVEL_UP", "PRESENCE_UPDATE"})
KNOWN_TYPES = (
    MODERATION_TYPES
    | MEMBER_TYPES
    | INVITE_TYPES
    | GUILD_TYPES
    | STATE_TYPES
    | SNAPSHOT_TYPES
    | COVERAGE_TYPES
    | MESSAGE_TYPES
    | VOICE_TYPES
    | REACTION_TYPES
    | DIRECTORY_TYPES
    | FUTURE_TYPES
)
# Known types that are stored and never processed: edits and reaction removals are not
# counted (removals are never subtracted), future types have no processor yet.
RAW_ONLY_TYPES = (
    FUTURE_TYPES
    | (MESSAGE_TYPES - {"MESSAGE_CREATE"})
    | (REACTION_TYPES - {"MESSAGE_REACTION_ADD"})
)

# Fields without which an event of that type cannot be counted.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "MESSAGE_CREATE": ("user_id", "channel_id"),
    "MESSAGE_REACTION_ADD": ("user_id",),
    "MESSAGE_REACTION_REMOVE": ("user_id",),
    "VOICE_STATE_UPDATE": ("user_id",),
    "VOICE_CHANNEL_JOIN": ("user_id", "channel_id"),
    "VOICE_CHANNEL_LEAVE": ("user_id",),
    "VOICE_CHANNEL_MOVE": ("user_id", "channel_id"),
    # the member who joined / left / was actioned (seed: "userId … pour indexation")
    "GUILD_MEMBER_ADD": ("user_id",),
    "GUILD_MEMBER_REMOVE": ("user_id",),
    "AUTO_MODERATION_ACTION_EXECUTION": ("user_id",),
    # the directory's changes name what they change
    "GUILD_MEMBER_UPDATE": ("user_id",),
    "CHANNEL_CREATE": ("channel_id",),
    "CHANNEL_UPDATE": ("channel_id",),
    "CHANNEL_DELETE": ("channel_id",),
    "THREAD_CREATE": ("channel_id",),
    "THREAD_UPDATE": ("channel_id",),
    "THREAD_DELETE": ("channel_id",),
    "ROLE_CREATE": ("role_id",),
    "ROLE_UPDATE": ("role_id",),
    "ROLE_DELETE": ("role_id",),
}


class Rejection(Exception):
    """An event that cannot be accepted; ``code`` labels /metrics, ``message`` goes to the bot."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Envelope(Struct):
    """The seed's Socket.IO-style frame: ``{"event": "to-backend", "data": [events]}``."""

    data: list[msgspec.Raw]
    event: str | None = None


# A frame is split into raw event slices first, so one bad event cannot spoil the others; each
# slice is then decoded straight into a BotEvent (no intermediate dict: the fast path).
FRAME_DECODER = msgspec.json.Decoder(list[msgspec.Raw] | Envelope)
_EVENT_DECODER = msgspec.json.Decoder(BotEvent)
_SNOWFLAKE_FIELDS = ("guild_id", "user_id", "channel_id", "message_id", "role_id")


def parse_event(
    raw: bytes, now_ms: int, oldest_ms: int, newest_ms: int, *, check_nul: bool = True
) -> BotEvent:
    """Decode one event's JSON into a valid ``BotEvent`` or raise ``Rejection``.

    ``check_nul``: look for U+0000 (the caller may know that its frame holds none)."""
    try:
        event = _EVENT_DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if text.startswith("Expected `object`") and " - at `" not in text:
            raise Rejection("not_an_object", "event must be a JSON object") from None
        code = "missing_field" if text.startswith("Object missing required") else "invalid_field"
        raise Rejection(code, text) from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        # a slice the frame decoder skipped over can still hold an invalid escape (a lone
        # surrogate) or a non-UTF-8 byte
        raise Rejection("invalid_field", "event holds an invalid string") from None
    except RecursionError:
        raise Rejection("invalid_field", "event is nested too deeply") from None
    if event.type not in KNOWN_TYPES and TYPE_NAME.fullmatch(event.type) is None:
        raise Rejection("invalid_field", "type must be an UPPER_SNAKE_CASE event type")
    for name in _SNOWFLAKE_FIELDS:
        value = getattr(event, name)
        if value is not None and not _is_snowflake(value):
            raise Rejection("invalid_field", f"{camel(name)} is not a valid snowflake")
    if event.timestamp > newest_ms:
        raise Rejection(
            "timestamp_out_of_range",
            f"timestamp is {(event.timestamp - now_ms) / 1000:.0f}s in the future",
        )
    if event.timestamp < oldest_ms:
        raise Rejection("timestamp_out_of_range", "timestamp is older than the raw-event retention")
    required = REQUIRED_FIELDS.get(event.type)
    if required:
        for field in required:
            if getattr(event, field) is None:
                raise Rejection("missing_field", f"{event.type} requires {camel(field)}")
    schema = DATA_SCHEMAS.get(event.type)
    if schema is not None:
        try:
            payload = msgspec.convert(event.data or {}, schema, strict=True)
        except msgspec.ValidationError as exc:
            raise Rejection("invalid_data", f"data: {exc}".replace("`$", "`$.data")) from None
        if isinstance(payload, SnapshotPeriod) and not (
            oldest_ms <= payload.period_start and payload.period_end <= newest_ms
        ):
            raise Rejection(
                "invalid_data", "data: the period must lie within the accepted timestamps"
            )
        if isinstance(payload, HeartbeatData) and not oldest_ms <= payload.since <= event.timestamp:
            raise Rejection(
                "invalid_data",
                "data: since must not be after the timestamp nor older than the raw-event "
                "retention - at `$.data.since`",
            )
    if check_nul and b"\\u0000" in bytes(raw) and _has_nul(msgspec.json.decode(raw)):
        # PostgreSQL text and jsonb cannot hold U+0000: refuse the event rather than fail
        # the whole batch's commit (which the bot would retry forever).
        raise Rejection("invalid_field", "strings must not contain U+0000 (NUL)")
    return event


def _has_nul(value: Any) -> bool:
    """Whether any string (key or value) in ``value`` holds U+0000; iterative, so any depth
    the decoder accepted is fine."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
