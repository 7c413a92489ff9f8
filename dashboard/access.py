"""Who may see a guild's pages (Statbot's model).

- **managers** always: the same check as the API (``guilds.selectors.accessible_guilds``: a
  superuser, the staff assigned to the guild, a Discord login that manages it);
- otherwise the guild's level: ``private`` (nobody else), ``members`` (any signed-in user whom
  Discord reported as a member of the guild at their last login), ``public`` (anyone);
- or a share link opened in this browser session, while it is not revoked.

Member-level pages (the members table, a member's page, the moderation log) are for managers
only unless the guild's owner opted in (``GuildPageSettings.members_pages_opt_in``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from dashboard.models import DiscordMembership, GuildPageSettings, ShareLink
from guilds.api.fields import parse_snowflake
from guilds.models import Guild
from guilds.selectors import accessible_guilds, cached_guild

SESSION_LINKS = "dashboard_share_links"
SETTINGS_CACHE_SECONDS = 30
DEFAULT_SETTINGS = GuildPageSettings(guild_id=0)


class NoAccess(Exception):
    """The caller may not see this guild (or it does not exist: the answer is the same)."""


@dataclass(frozen=True)
class PageAccess:
    guild: Guild
    role: str  # "manager" | "member" | "public" | "link"
    settings: GuildPageSettings
    is_owner: bool

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    @property
    def members_pages(self) -> bool:
        return self.is_manager or self.settings.members_pages_opt_in


def settings_cache_key(guild_id: int) -> str:
    return f"dashboard:settings:{guild_id}"


def page_settings(guild_id: int) -> GuildPageSettings:
    found: GuildPageSettings | None = cache.get(settings_cache_key(guild_id))
    if found is None:
        found = GuildPageSettings.objects.filter(guild_id=guild_id).first() or GuildPageSettings(
            guild_id=guild_id
        )
        cache.set(settings_cache_key(guild_id), found, SETTINGS_CACHE_SECONDS)
    return found


def forget_settings(guild_id: int) -> None:
    cache.delete(settings_cache_key(guild_id))


def discord_uid(user: Any) -> int | None:
    if not getattr(user, "is_authenticated", False):
        return None
    from allauth.socialaccount.models import SocialAccount

    uid = (
        SocialAccount.objects.filter(user=user, provider="discord")
        .values_list("uid", flat=True)
        .first()
    )
    return parse_snowflake(uid) if uid else None


def access_for(user: Any, session: Any, guild_id: str | int) -> PageAccess:
    """The caller's access to the guild's pages; ``NoAccess`` when they have none."""
    wanted = parse_snowflake(str(guild_id))
    if wanted is None:
        raise NoAccess
    guild = cached_guild(wanted)
    if guild is None:
        raise NoAccess
    settings = page_settings(wanted)
    signed_in = getattr(user, "is_authenticated", False)
    owner = False
    if signed_in:
        owner = bool(user.is_superuser) or (
            guild.owner_id is not None and discord_uid(user) == guild.owner_id
        )
    if signed_in and accessible_guilds(user).filter(guild_id=wanted).exists():
        role = "manager"
    elif settings.level == "public":
        role = "public"
    elif (
        settings.level == "members"
        and signed_in
        and DiscordMembership.objects.filter(user=user, guild_id=wanted).exists()
    ):
        role = "member"
    elif _session_link(session, wanted):
        role = "link"
    else:
        raise NoAccess
    return PageAccess(guild=guild, role=role, settings=settings, is_owner=owner)


def _session_link(session: Any, guild_id: int) -> bool:
    ids = session.get(SESSION_LINKS, []) if session is not None else []
    if not ids:
        return False
    return ShareLink.objects.filter(pk__in=ids, guild_id=guild_id, revoked_at__isnull=True).exists()


# --- share links --------------------------------------------------------------------------------
def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_share_link(guild_id: int, name: str = "", user: Any = None) -> tuple[ShareLink, str]:
    """A new link; the clear secret is returned once and never stored."""
    secret = secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        guild_id=guild_id,
        name=name[:100],
        prefix=secret[:8],
        secret_hash=hash_secret(secret),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    return link, secret


def open_share_link(session: Any, secret: str) -> ShareLink | None:
    """Remember a valid link in the session; None for an unknown or revoked one."""
    link = ShareLink.objects.filter(
        secret_hash=hash_secret(secret), revoked_at__isnull=True
    ).first()
    if link is None:
        return None
    ids = [i for i in session.get(SESSION_LINKS, []) if i != link.pk]
    session[SESSION_LINKS] = [*ids[-19:], link.pk]
    return link


def revoke_share_link(link: ShareLink) -> None:
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])


# --- memberships (the "members" level) ------------------------------------------------------------
def member_guild_ids(guilds: object) -> set[int]:
    ids: set[int] = set()
    if not isinstance(guilds, list):
        return ids
    for guild in guilds:
        if isinstance(guild, dict):
            found = parse_snowflake(str(guild.get("id", "")))
            if found is not None:
                ids.add(found)
    return ids


def replace_memberships(user: Any, guild_ids: set[int]) -> None:
    DiscordMembership.objects.filter(user=user).exclude(guild_id__in=guild_ids).delete()
    DiscordMembership.objects.bulk_create(
        [DiscordMembership(user=user, guild_id=g) for g in sorted(guild_ids)],
        ignore_conflicts=True,
    )
