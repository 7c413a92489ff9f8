""" "Login with Discord" with Discord's HTTP endpoints mocked at the HTTP layer (responses):
the guilds where the user has Manage Server or Administrator become readable, others 404."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.test import Client

from guilds.models import GuildAccess
from tests.factories import GuildFactory

pytestmark = pytest.mark.django_db

DISCORD = "https://discord.com/api"
MANAGED, ADMINISTERED, OWNED, MEMBER_ONLY = (
    800000000000000001,
    800000000000000002,
    800000000000000003,
    800000000000000004,
)


@pytest.fixture(autouse=True)
def discord_app(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "discord": {
            "APPS": [{"client_id": "client-1", "secret": "secret-1"}],
            "SCOPE": ["identify", "guilds"],
        }
    }


def login_with_discord(client: Client, guilds_answer: list[dict] | int) -> None:
    start = client.get("/accounts/discord/login/")
    assert start.status_code == 302
    authorize = urlparse(start["Location"])
    assert authorize.netloc == "discord.com"
    query = parse_qs(authorize.query)
    assert query["client_id"] == ["client-1"]
    assert set(query["scope"][0].split()) == {"identify", "guilds"}
    state = query["state"][0]

    with responses.RequestsMock() as discord:
        discord.post(
            f"{DISCORD}/oauth2/token",
            json={
                "access_token": "user-token",
                "token_type": "Bearer",
                "expires_in": 604800,
                "refresh_token": "r",
                "scope": "identify guilds",
            },
        )
        discord.get(
            f"{DISCORD}/users/@me",
            json={
                "id": "555000000000000001",
                "username": "alice",
                "discriminator": "0",
                "avatar": None,
                "email": "alice@example.com",
                "verified": True,
            },
        )
        if isinstance(guilds_answer, int):
            discord.get(f"{DISCORD}/users/@me/guilds", status=guilds_answer)
        else:
            discord.get(f"{DISCORD}/users/@me/guilds", json=guilds_answer)
        done = client.get("/accounts/discord/login/callback/", {"code": "abc", "state": state})
        assert done.status_code == 302, done.content
        guild_calls = [c for c in discord.calls if c.request.url.endswith("/users/@me/guilds")]
        assert guild_calls[0].request.headers["Authorization"] == "Bearer user-token"


def test_login_grants_the_guilds_the_user_manages():
    for guild_id in (MANAGED, ADMINISTERED, OWNED, MEMBER_ONLY):
        GuildFactory(guild_id=guild_id)
    client = Client()
    login_with_discord(
        client,
        [
            {"id": str(MANAGED), "name": "a", "owner": False, "permissions": str(0x20)},
            {"id": str(ADMINISTERED), "name": "b", "owner": False, "permissions": "8"},
            {"id": str(OWNED), "name": "c", "owner": True, "permissions": "0"},
            {"id": str(MEMBER_ONLY), "name": "d", "owner": False, "permissions": str(0x400)},
            {"id": "not-a-number", "permissions": "8"},
        ],
    )
    listed = [g["guildId"] for g in client.get("/api/guilds/").json()]
    assert listed == [str(MANAGED), str(ADMINISTERED), str(OWNED)]
    assert client.get(f"/api/guilds/{MANAGED}/stats/dashboard").status_code == 200
    assert client.get(f"/api/guilds/{MEMBER_ONLY}/stats/dashboard").status_code == 404


def test_a_later_login_replaces_access_and_a_discord_failure_keeps_it():
    GuildFactory(guild_id=MANAGED)
    GuildFactory(guild_id=ADMINISTERED)
    client = Client()
    login_with_discord(client, [{"id": str(MANAGED), "owner": False, "permissions": "32"}])
    assert set(GuildAccess.objects.values_list("guild_id", flat=True)) == {MANAGED}
    client.logout()
    login_with_discord(client, [{"id": str(ADMINISTERED), "owner": False, "permissions": "8"}])
    assert set(GuildAccess.objects.values_list("guild_id", flat=True)) == {ADMINISTERED}
    client.logout()
    login_with_discord(client, 502)  # Discord down: keep the previous access
    assert set(GuildAccess.objects.values_list("guild_id", flat=True)) == {ADMINISTERED}
    assert client.get(f"/api/guilds/{ADMINISTERED}/stats/overview").status_code == 200


def test_anonymous_session_sees_nothing():
    GuildFactory(guild_id=MANAGED)
    assert Client().get(f"/api/guilds/{MANAGED}/stats/overview").status_code in (401, 403)
