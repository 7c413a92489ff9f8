"""Whole-table readers, so tests assert complete state rather than single fields."""

from __future__ import annotations

from stats.models import (
    ChannelDailyStats,
    GuildDailyStats,
    MemberDailyStats,
    MemberStats,
    VoiceSession,
)

COUNTERS = (
    "total_messages",
    "total_voice_seconds",
    "total_reactions_given",
    "total_reactions_received",
)


def members(guild: str | int) -> dict[int, tuple[int, int, int, int]]:
    """user -> (messages, voice seconds, reactions given, reactions received)."""
    rows = MemberStats.objects.filter(guild_id=int(guild)).values_list("user_id", *COUNTERS)
    return {user: tuple(rest) for user, *rest in rows}


def all_members() -> dict[tuple[int, int], tuple[int, int, int, int]]:
    """(guild, user) -> (messages, voice seconds, reactions given, reactions received)."""
    rows = MemberStats.objects.values_list("guild_id", "user_id", *COUNTERS)
    return {(g, u): tuple(rest) for g, u, *rest in rows}


def daily(guild: str | int) -> dict[tuple[str, int], tuple[int, int, int, int]]:
    """(ISO day, user) -> (messages, voice seconds, given, received)."""
    rows = MemberDailyStats.objects.filter(guild_id=int(guild)).values_list(
        "day", "user_id", "messages", "voice_seconds", "reactions_given", "reactions_received"
    )
    return {(day.isoformat(), user): tuple(rest) for day, user, *rest in rows}


def channels(guild: str | int) -> dict[tuple[str, int], tuple[int, int]]:
    """(ISO day, channel) -> (messages, voice seconds)."""
    rows = ChannelDailyStats.objects.filter(guild_id=int(guild)).values_list(
        "day", "channel_id", "messages", "voice_seconds"
    )
    return {(day.isoformat(), channel): (m, v) for day, channel, m, v in rows}


def guild_days(guild: str | int) -> dict[str, tuple[int, int, int]]:
    """ISO day -> (messages, voice seconds, reactions)."""
    rows = GuildDailyStats.objects.filter(guild_id=int(guild)).values_list(
        "day", "messages", "voice_seconds", "reactions"
    )
    return {day.isoformat(): (m, v, r) for day, m, v, r in rows}


def sessions(guild: str | int) -> dict[int, int]:
    """user -> channel of their open voice session."""
    return dict(
        VoiceSession.objects.filter(guild_id=int(guild)).values_list("user_id", "channel_id")
    )


def all_counters() -> tuple:
    """Every counter table, for before/after comparisons."""
    return (
        sorted(
            MemberStats.objects.values_list(
                "guild_id",
                "user_id",
                *COUNTERS,
                "last_message_at",
                "last_voice_at",
                "last_seen",
                "is_bot",
            )
        ),
        sorted(
            MemberDailyStats.objects.values_list(
                "guild_id",
                "day",
                "user_id",
                "messages",
                "voice_seconds",
                "reactions_given",
                "reactions_received",
            )
        ),
        sorted(
            ChannelDailyStats.objects.values_list(
                "guild_id", "day", "channel_id", "messages", "voice_seconds"
            )
        ),
        sorted(VoiceSession.objects.values_list("guild_id", "user_id", "channel_id", "joined_at")),
        sorted(
            GuildDailyStats.objects.values_list(
                "guild_id", "day", "messages", "voice_seconds", "reactions"
            )
        ),
    )
