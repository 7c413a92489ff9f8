"""Receivers: allauth's login → our guild access; API key changes → drop the cached key."""

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


def forget_api_key(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A key saved (revoked, renamed), deleted or given other guilds is resolved afresh by
    the next call, in every process (the cache is shared when Redis is configured)."""
    from django.core.cache import cache

    from guilds.services import api_key_cache_key

    key_hash = getattr(instance, "key_hash", None)
    if key_hash:
        cache.delete(api_key_cache_key(key_hash))


def forget_api_key_guilds(sender: Any, instance: Any, pk_set: Any, **kwargs: Any) -> None:
    """The guilds of a key changed (from either side of the relation)."""
    from guilds.models import ApiKey

    if isinstance(instance, ApiKey):
        forget_api_key(ApiKey, instance)
    elif kwargs.get("reverse", False) or pk_set:
        for key in ApiKey.objects.filter(pk__in=pk_set or []):
            forget_api_key(ApiKey, key)


def forget_guild(sender: Any, instance: Any, **kwargs: Any) -> None:
    from django.core.cache import cache

    from guilds.selectors import guild_cache_key

    cache.delete(guild_cache_key(instance.pk))
