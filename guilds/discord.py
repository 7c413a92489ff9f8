"""Discord's side of "Login with Discord": which guilds the user may manage.

allauth (its Discord provider) runs the OAuth2 flow and keeps the access token; at each login we
ask Discord for the user's guilds and keep those where the user has Manage Server or
Administrator (permission bits 0x20 and 0x8).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from allauth.socialaccount.adapter import get_adapter
from django.db import transaction

from guilds.models import GuildAccess

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

GUILDS_URL = "https://discord.com/api/users/@me/guilds"
ADMINISTRATOR = 0x8
MANAGE_GUILD = 0x20


def manageable_guild_ids(guilds: object) -> set[int]:
    """Ids of the guilds in Discord's /users/@me/guilds answer that the user may manage."""
    ids: set[int] = set()
    if not isinstance(guilds, list):
        return ids
    for guild in guilds:
        if not isinstance(guild, dict):
            continue
        try:
            permissions = int(guild.get("permissions", 0))
            guild_id = int(guild["id"])
        except (KeyError, TypeError, ValueError):
            continue
        if guild.get("owner") is True or permissions & (ADMINISTRATOR | MANAGE_GUILD):
            ids.add(guild_id)
    return ids


def fetch_user_guilds(access_token: str) -> object:
    with get_adapter().get_requests_session() as session:
        response = session.get(
            GUILDS_URL, headers={"Authorization": f"Bearer {access_token}"}, timeout=10
        )
        response.raise_for_status()
        return response.json()


def sync_guild_access(user: User, access_token: str) -> set[int]:
    """Replace the user's guild access with what Discord says now; on a Discord error keep the
    previous access (a failed refresh must not lock moderators out)."""
    try:
        ids = manageable_guild_ids(fetch_user_guilds(access_token))
    except Exception:  # network or HTTP error: keep what we had
        log.warning("could not refresh Discord guilds of %s", user, exc_info=True)
        return set(GuildAccess.objects.filter(user=user).values_list("guild_id", flat=True))
    with transaction.atomic():
        GuildAccess.objects.filter(user=user).exclude(guild_id__in=ids).delete()
        GuildAccess.objects.bulk_create(
            [GuildAccess(user=user, guild_id=g) for g in sorted(ids)], ignore_conflicts=True
        )
    return ids
