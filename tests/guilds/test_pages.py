"""The home page and "Login with Discord" when no Discord application is configured."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from guilds.models import Guild, GuildAccess

pytestmark = pytest.mark.django_db


def discord_app(settings, client_id: str, secret: str) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {
        "discord": {
            "APPS": [{"client_id": client_id, "secret": secret}],
            "SCOPE": ["identify", "guilds"],
        }
    }


def test_anonymous_home_offers_the_ways_to_sign_in(settings):
    discord_app(settings, "", "")
    page = Client().get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Login with Discord is not configured" in text
    assert 'href="/accounts/login/?next=/"' in text
    discord_app(settings, "123", "s3cret")
    assert 'href="/accounts/discord/login/"' in Client().get("/").content.decode()


def test_a_signed_in_member_sees_their_guilds_only():
    mine = Guild.objects.create(guild_id=111, name="Mine")
    Guild.objects.create(guild_id=222, name="Theirs")
    user = User.objects.create_user("alice", password="pw")
    GuildAccess.objects.create(user=user, guild_id=mine.guild_id)
    client = Client()
    client.force_login(user)
    text = client.get("/").content.decode()
    assert "Mine" in text and 'href="/guilds/111/"' in text
    assert "Theirs" not in text and "/guilds/222/" not in text


def test_discord_login_without_an_application_says_so(settings):
    discord_app(settings, "", "")
    page = Client().get("/accounts/discord/login/")
    assert page.status_code == 503
    assert "Discord login is not configured" in page.content.decode()
    assert "DISCORD_CLIENT_ID" in page.content.decode()


def test_discord_login_with_an_application_goes_to_discord(settings):
    discord_app(settings, "123456", "s3cret")
    start = Client().get("/accounts/discord/login/")
    assert start.status_code == 302
    assert start["Location"].startswith("https://discord.com/api/oauth2/authorize?")
    assert "client_id=123456" in start["Location"]
