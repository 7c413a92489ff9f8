"""Which members are bot accounts (read by the counting handlers and the rollups)."""

from __future__ import annotations

from stats.models import MemberStats


def known_bots(guild_ids: set[int]) -> set[tuple[int, int]]:
    """(guild, user) of the members marked as bot accounts in these guilds (partial index)."""
    return set(
        MemberStats.objects.filter(guild_id__in=guild_ids, is_bot=True).values_list(
            "guild_id", "user_id"
        )
    )
