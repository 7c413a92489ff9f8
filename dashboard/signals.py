"""Receivers: a Discord login records the guilds the user is a member of (the "members"
access level); saved access settings are read afresh."""

from __future__ import annotations

import logging
from typing import Any

from dashboard.access import forget_settings, member_guild_ids, replace_memberships

log = logging.getLogger(__name__)


def record_memberships(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    sociallogin = kwargs.get("sociallogin")
    if sociallogin is None or sociallogin.account.provider != "discord":
        return
    token = getattr(sociallogin, "token", None)
    if token is None or not token.token:
        return
    from guilds.discord import fetch_user_guilds

    try:
        ids = member_guild_ids(fetch_user_guilds(token.token))
    except Exception:  # Discord unreachable: keep the memberships we had
        log.warning("could not refresh Discord memberships of %s", user, exc_info=True)
        return
    replace_memberships(user, ids)


def forget_page_settings(sender: Any, instance: Any, **kwargs: Any) -> None:
    forget_settings(instance.guild_id)
