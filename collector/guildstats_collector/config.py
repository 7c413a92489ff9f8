"""The collector's settings: defaults from seed 001, every one overridable by environment.

Seed 001's ``ENABLED_LISTENERS`` becomes ``GUILDSTATS_DISABLED_EVENTS`` /
``GUILDSTATS_ENABLED_EVENTS`` (comma-separated event types), its ``EventBatcher`` table
becomes ``GUILDSTATS_BATCH`` (``TYPE=size/wait_ms,…``) and its ``MetricsConfig`` the
``GUILDSTATS_AGGREGATE_*`` variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from guildstats_contract import events as contract

# --- Event types: the contract's (guildstats_contract, shared with the server), grouped by
# how soon the collector sends them
MODERATION_TYPES = contract.MODERATION_TYPES | contract.MEMBER_TYPES
INVITE_TYPES = contract.INVITE_TYPES
GUILD_TYPES = contract.GUILD_TYPES | contract.STATE_TYPES
COVERAGE_TYPES = contract.COVERAGE_TYPES
SNAPSHOT_TYPES = contract.SNAPSHOT_TYPES
# a guild's directory: its snapshot and every change of its channels, roles, emojis, members
DIRECTORY_TYPES = contract.DIRECTORY_TYPES
# the activity the collector sends raw (edits and reaction clears are not counted by the server)
ACTIVITY_TYPES = frozenset(
    {"MESSAGE_CREATE", "MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE"}
) | (contract.VOICE_TYPES & {"VOICE_CHANNEL_JOIN", "VOICE_CHANNEL_LEAVE", "VOICE_CHANNEL_MOVE"})
ALL_TYPES = (
    MODERATION_TYPES
    | INVITE_TYPES
    | GUILD_TYPES
    | COVERAGE_TYPES
    | SNAPSHOT_TYPES
    | ACTIVITY_TYPES
    | DIRECTORY_TYPES
)
# Sent at once (seed 001: maxSize 1, maxWait 0): a moderator expects the case within a second.
# A directory chunk too: each is large, and goes to the spool before the next is built.
IMMEDIATE_TYPES = (
    MODERATION_TYPES | INVITE_TYPES | GUILD_TYPES | COVERAGE_TYPES | {"GUILD_DIRECTORY"}
)


@dataclass(frozen=True)
class BatchPolicy:
    """Seed 001's ``BatchConfig``: a frame is due when ``max_size`` events of a type wait, or
    when the oldest waiting event of that type has waited ``max_wait`` seconds."""

    max_size: int
    max_wait: float


DEFAULT_POLICY = BatchPolicy(max_size=50, max_wait=10.0)  # seed: default { 50, SLOW = 10 s }
SEED_POLICIES: dict[str, BatchPolicy] = {
    **{t: BatchPolicy(1, 0.0) for t in IMMEDIATE_TYPES},
    "METRICS_SNAPSHOT": BatchPolicy(1, 0.0),  # already one per minute
    "MEMBER_ACTIVITY_SNAPSHOT": BatchPolicy(1, 0.0),  # already one per 5 minutes
}


@dataclass(frozen=True)
class AggregateSettings:
    """Seed 001's ``MetricsConfig`` (``DEFAULT_METRICS_CONFIG``), for aggregated mode."""

    enabled: bool = False
    snapshot_interval: float = 60.0
    member_activity_interval: float = 300.0
    max_top_members: int = 20
    max_top_channels: int = 10
    max_top_emojis: int = 15
    track_messages: bool = True
    track_voice: bool = True
    track_reactions: bool = True
    track_detailed_members: bool = True


@dataclass(frozen=True)
class Settings:
    guildstats_url: str = "http://127.0.0.1:8000"
    bot_token: str = ""
    discord_token: str = ""
    spool_path: str = "guildstats-spool.sqlite3"
    # event types switched off (seed 001 ENABLED_LISTENERS: false); MESSAGE_UPDATE has no
    # listener, the server does not count edits
    disabled_types: frozenset[str] = frozenset()
    policies: Mapping[str, BatchPolicy] = field(default_factory=lambda: dict(SEED_POLICIES))
    default_policy: BatchPolicy = DEFAULT_POLICY
    # frames stay well inside the server's limits (1 MiB, 5,000 events by default)
    frame_max_events: int = 1000
    frame_max_bytes: int = 512 * 1024
    # the spool's caps: past one, the oldest events are dropped and counted, never silently
    spool_max_events: int = 2_000_000
    spool_max_bytes: int = 1024 * 1024 * 1024
    spool_max_age: float = 7 * 86400.0  # the server refuses events older than its retention
    send_content: bool = False  # message content is never sent unless configured
    heartbeat_interval: float = 60.0
    request_timeout: float = 30.0
    backoff_base: float = 0.5
    backoff_cap: float = 60.0
    members_intent: bool = True  # privileged: joins, leaves, member cache
    # joins that arrive before the guild's invites are cached wait this long for them
    invite_cache_wait: float = 30.0
    # after message deletes, read the guild's recent message-delete audit entries over REST at
    # most this often (Discord grows a grouped entry's count without a new gateway event); 0: off
    audit_poll_interval: float = 10.0
    # the guilds' directory (names of channels, roles, emojis, members): snapshots and changes
    directory: bool = True
    aggregate: AggregateSettings = field(default_factory=AggregateSettings)

    def enabled(self, event_type: str) -> bool:
        if not self.directory and event_type in DIRECTORY_TYPES:
            return False
        if self.aggregate.enabled and event_type in replaced_by_snapshots(self.aggregate):
            return False
        return event_type not in self.disabled_types

    def policy(self, event_type: str) -> BatchPolicy:
        return self.policies.get(event_type, self.default_policy)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        disabled = set(_types(env.get("GUILDSTATS_DISABLED_EVENTS", "")))
        enabled = _types(env.get("GUILDSTATS_ENABLED_EVENTS", ""))
        if enabled:
            disabled = set(ALL_TYPES) - set(enabled)
        policies = dict(SEED_POLICIES)
        policies.update(parse_batch_spec(env.get("GUILDSTATS_BATCH", "")))
        aggregate = AggregateSettings(
            enabled=_bool(env, "GUILDSTATS_AGGREGATE", False),
            snapshot_interval=_float(env, "GUILDSTATS_AGGREGATE_SNAPSHOT_INTERVAL_MS", 60000)
            / 1000,
            member_activity_interval=_float(
                env, "GUILDSTATS_AGGREGATE_MEMBER_ACTIVITY_INTERVAL_MS", 300000
            )
            / 1000,
            max_top_members=int(_float(env, "GUILDSTATS_AGGREGATE_MAX_TOP_MEMBERS", 20)),
            max_top_channels=int(_float(env, "GUILDSTATS_AGGREGATE_MAX_TOP_CHANNELS", 10)),
            max_top_emojis=int(_float(env, "GUILDSTATS_AGGREGATE_MAX_TOP_EMOJIS", 15)),
            track_messages=_bool(env, "GUILDSTATS_AGGREGATE_TRACK_MESSAGES", True),
            track_voice=_bool(env, "GUILDSTATS_AGGREGATE_TRACK_VOICE", True),
            track_reactions=_bool(env, "GUILDSTATS_AGGREGATE_TRACK_REACTIONS", True),
            track_detailed_members=_bool(env, "GUILDSTATS_AGGREGATE_TRACK_DETAILED_MEMBERS", True),
        )
        defaults = cls()
        return cls(
            guildstats_url=env.get("GUILDSTATS_URL", defaults.guildstats_url).rstrip("/"),
            bot_token=env.get("GUILDSTATS_BOT_TOKEN", ""),
            discord_token=env.get("DISCORD_TOKEN", ""),
            spool_path=env.get("GUILDSTATS_SPOOL_PATH", defaults.spool_path),
            disabled_types=frozenset(disabled),
            policies=policies,
            default_policy=parse_policy(env["GUILDSTATS_BATCH_DEFAULT"])
            if env.get("GUILDSTATS_BATCH_DEFAULT")
            else DEFAULT_POLICY,
            frame_max_events=int(_float(env, "GUILDSTATS_FRAME_MAX_EVENTS", 1000)),
            frame_max_bytes=int(_float(env, "GUILDSTATS_FRAME_MAX_BYTES", 512 * 1024)),
            spool_max_events=int(_float(env, "GUILDSTATS_SPOOL_MAX_EVENTS", 2_000_000)),
            spool_max_bytes=int(_float(env, "GUILDSTATS_SPOOL_MAX_BYTES", 1024**3)),
            spool_max_age=_float(env, "GUILDSTATS_SPOOL_MAX_AGE_HOURS", 168) * 3600,
            send_content=_bool(env, "GUILDSTATS_SEND_CONTENT", False),
            heartbeat_interval=_float(env, "GUILDSTATS_HEARTBEAT_SECONDS", 60),
            request_timeout=_float(env, "GUILDSTATS_REQUEST_TIMEOUT_SECONDS", 30),
            members_intent=_bool(env, "GUILDSTATS_MEMBERS_INTENT", True),
            invite_cache_wait=_float(env, "GUILDSTATS_INVITE_CACHE_WAIT_SECONDS", 30),
            audit_poll_interval=_float(env, "GUILDSTATS_AUDIT_POLL_SECONDS", 10),
            directory=_bool(env, "GUILDSTATS_DIRECTORY", True),
            aggregate=aggregate,
        )


def replaced_by_snapshots(aggregate: AggregateSettings) -> frozenset[str]:
    """In aggregated mode the tracked activity goes into snapshots instead of raw events."""
    replaced: set[str] = set()
    if aggregate.track_messages:
        replaced.add("MESSAGE_CREATE")
    if aggregate.track_reactions:
        replaced |= {"MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE"}
    if aggregate.track_voice:
        replaced |= {"VOICE_CHANNEL_JOIN", "VOICE_CHANNEL_LEAVE", "VOICE_CHANNEL_MOVE"}
    return frozenset(replaced)


def parse_policy(text: str) -> BatchPolicy:
    """``size/wait_ms``, e.g. ``100/5000``."""
    size, _, wait = text.strip().partition("/")
    policy = BatchPolicy(max_size=int(size), max_wait=float(wait or 0) / 1000)
    if policy.max_size < 1 or policy.max_wait < 0:
        raise ValueError(f"batch policy {text!r}: size must be ≥ 1 and wait ≥ 0")
    return policy


def parse_batch_spec(text: str) -> dict[str, BatchPolicy]:
    """``MESSAGE_CREATE=100/5000,VOICE_CHANNEL_JOIN=1/0`` → per-type policies."""
    policies: dict[str, BatchPolicy] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, spec = item.partition("=")
        if not sep:
            raise ValueError(f"GUILDSTATS_BATCH entry {item!r} is not TYPE=size/wait_ms")
        policies[name.strip().upper()] = parse_policy(spec)
    return policies


def _types(text: str) -> list[str]:
    names = [part.strip().upper() for part in text.split(",") if part.strip()]
    unknown = sorted(set(names) - ALL_TYPES)
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}")
    return names


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    return float(value) if value not in (None, "") else float(default)
