"""The Discord sign-in ("Login with Discord", or a page saying it is not configured). The home
page, Django's own login and the guild pages are the dashboard app's (``dashboard.views``)."""

from __future__ import annotations

from allauth.socialaccount.providers.discord.views import oauth2_login
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def discord_configured() -> bool:
    app = settings.SOCIALACCOUNT_PROVIDERS["discord"]["APPS"][0]
    return bool(app["client_id"] and app["secret"])


def discord_login(request: HttpRequest) -> HttpResponse:
    """allauth's "Login with Discord", or a page saying it is not configured (allauth would send
    the browser to Discord with an empty client id)."""
    if discord_configured():
        response: HttpResponse = oauth2_login(request)  # allauth's views are untyped
        return response
    return render(request, "guilds/discord_not_configured.html", status=503)
