"""Pages for people (before the dashboard exists): the home page and the Discord sign-in."""

from __future__ import annotations

from allauth.socialaccount.providers.discord.views import oauth2_login
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from guilds.selectors import accessible_guilds


def discord_configured() -> bool:
    app = settings.SOCIALACCOUNT_PROVIDERS["discord"]["APPS"][0]
    return bool(app["client_id"] and app["secret"])


def home(request: HttpRequest) -> HttpResponse:
    """Signed in: the caller's guilds; anonymous: the ways to sign in."""
    guilds = (
        accessible_guilds(request.user).order_by("name", "guild_id")
        if (request.user.is_authenticated)
        else []
    )
    return render(
        request,
        "guilds/home.html",
        {"guilds": guilds, "discord": discord_configured()},
    )


def discord_login(request: HttpRequest) -> HttpResponse:
    """allauth's "Login with Discord", or a page saying it is not configured (allauth would send
    the browser to Discord with an empty client id)."""
    if discord_configured():
        return oauth2_login(request)
    return render(request, "guilds/discord_not_configured.html", status=503)
