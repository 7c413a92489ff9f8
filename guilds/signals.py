"""Receivers that connect allauth's login to our guild access."""

from __future__ import annotations

from typing import Any

from guilds.discord import sync_guild_access


def refresh_guild_access(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    sociallogin = kwargs.get("sociallogin")
    if sociallogin is None or sociallogin.account.provider != "discord":
        return
    token = getattr(sociallogin, "token", None)
    if token is not None and token.token:
        sync_guild_access(user, token.token)
