"""Who sees what: API keys x guilds x every endpoint (404 outside the caller's scope)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from guilds.models import ApiKey, Guild
from guilds.services import create_api_key, hash_token
from tests.api.conftest import GUILD, OTHER_GUILD

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "dashboard",
    "members",
    "leaderboard",
    "overview",
    "activity",
    "activity?format=csv",
    "heatmap",
]


@pytest.fixture
def keys():
    both = create_api_key("both", [int(GUILD), int(OTHER_GUILD)])[1]
    first = create_api_key("first", [int(GUILD)])[1]
    revoked_row, revoked = create_api_key("revoked", [int(GUILD)])
    ApiKey.objects.filter(pk=revoked_row.pk).update(revoked_at=timezone.now())
    return {"both": both, "first": first, "revoked": revoked}


def get(path: str, key: str | None = None) -> int:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return Client().get(path, **headers).status_code


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_matrix(keys, endpoint):
    url = "/api/guilds/{}/stats/" + endpoint
    assert get(url.format(GUILD), keys["both"]) == 200
    assert get(url.format(OTHER_GUILD), keys["both"]) == 200
    assert get(url.format(GUILD), keys["first"]) == 200
    assert get(url.format(OTHER_GUILD), keys["first"]) == 404  # exists, but not yours
    assert get(url.format("799999999999999999"), keys["both"]) == 404  # does not exist
    assert get(url.format("99999999999999999999"), keys["both"]) == 404  # not a snowflake
    assert get(url.format(GUILD), keys["revoked"]) == 401
    assert get(url.format(GUILD), "gsk_not-a-key") == 401
    assert get(url.format(GUILD)) == 401


@pytest.mark.parametrize(
    "guild",
    ["%C2%B2", f"0{GUILD}", "0", "-1", "9223372036854775808", "%20" + GUILD, "1e5"],
)
@pytest.mark.parametrize("path", ["stats/dashboard", "moderation/recent", "invites/stats"])
def test_anything_but_a_discord_id_answers_404(keys, guild, path):
    """A superscript two ("²".isdigit() is true, int("²") raises) used to answer 500."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {keys['both']}"}
    response = Client().get(f"/api/guilds/{guild}/{path}", **headers)
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


def test_guild_list_shows_only_the_callers_guilds(keys):
    Guild.objects.filter(guild_id=int(GUILD)).update(name="First")
    response = Client().get("/api/guilds/", HTTP_AUTHORIZATION=f"Bearer {keys['first']}")
    assert response.status_code == 200
    assert response.json() == [
        {
            "guildId": GUILD,
            "name": "First",
            "icon": None,
            "memberCount": 0,
            "isActive": True,
            "timezone": "UTC",
        }
    ]
    both = Client().get("/api/guilds", HTTP_AUTHORIZATION=f"Bearer {keys['both']}").json()
    assert [g["guildId"] for g in both] == [GUILD, OTHER_GUILD]


def test_superuser_session_sees_every_guild_and_staff_none(keys):
    admin = User.objects.create_superuser("root", "r@example.com", "pw")
    staff = User.objects.create_user("mod", "m@example.com", "pw", is_staff=True)
    client = Client()
    client.force_login(admin)
    assert client.get(f"/api/guilds/{OTHER_GUILD}/stats/dashboard").status_code == 200
    client.force_login(staff)
    assert client.get(f"/api/guilds/{OTHER_GUILD}/stats/dashboard").status_code == 404


def test_create_api_key_command(capsys):
    call_command("create_api_key", "grafana", "--guild", GUILD, "--guild", OTHER_GUILD)
    key = capsys.readouterr().out.strip()
    row = ApiKey.objects.get(name="grafana")
    assert row.key_hash == hash_token(key)
    assert sorted(row.guilds.values_list("guild_id", flat=True)) == [int(GUILD), int(OTHER_GUILD)]
    assert get(f"/api/guilds/{OTHER_GUILD}/stats/members", key) == 200
    assert ApiKey.objects.get(pk=row.pk).last_used_at is not None


def test_whoami_names_the_credentials(keys):
    response = Client().get("/api/whoami", HTTP_AUTHORIZATION=f"Bearer {keys['first']}")
    assert (response.status_code, response.json()) == (200, {"kind": "apiKey", "name": "first"})
    assert get("/api/whoami", keys["revoked"]) == 401
    assert get("/api/whoami") == 401
    client = Client()
    client.force_login(User.objects.create_user("mod", "m@example.com", "pw", is_staff=True))
    assert client.get("/api/whoami/").json() == {"kind": "user", "name": "mod"}


def test_guild_list_is_cached_by_the_callers_guilds(keys, settings):
    """With the answer cache on, the list is served from the cache (a rename shows when the
    entry expires) and keyed by the caller's guilds (a regrant shows at once)."""
    from django.core.cache import cache

    settings.API_CACHE_SECONDS = 30
    cache.clear()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {keys['first']}"}
    Guild.objects.filter(guild_id=int(GUILD)).update(name="Before")

    def names() -> list[tuple[str, str]]:
        return [(g["guildId"], g["name"]) for g in Client().get("/api/guilds/", **headers).json()]

    assert names() == [(GUILD, "Before")]
    Guild.objects.filter(guild_id=int(GUILD)).update(name="After")  # a bulk update: no signal
    assert names() == [(GUILD, "Before")]  # cached
    key = ApiKey.objects.get(name="first")
    key.guilds.add(Guild.objects.get(guild_id=int(OTHER_GUILD)))  # a regrant
    assert names() == [
        (GUILD, "After"),
        (OTHER_GUILD, Guild.objects.get(guild_id=int(OTHER_GUILD)).name),
    ]
    cache.clear()  # the entry expired
    settings.API_CACHE_SECONDS = 0
    assert names()[0] == (GUILD, "After")
