"""The admin revokes bot tokens; a revoked token no longer ingests."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from guilds.models import BotToken
from tests.factories import message, ms, snowflake

pytestmark = pytest.mark.django_db(transaction=True)


def test_revoking_a_token_in_the_admin_stops_its_ingest(ingest, bot_token):
    admin_user = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin_user)
    token = BotToken.objects.get()
    assert client.get("/admin/guilds/bottoken/").status_code == 200
    assert ingest([message(snowflake(), snowflake(), snowflake(), ms())])[0] == 200
    response = client.post(
        "/admin/guilds/bottoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ingest([message(snowflake(), snowflake(), snowflake(), ms())])[0] == 401


def test_stats_admin_pages_render(ingest):
    admin_user = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin_user)
    ingest([message(snowflake(), snowflake(), snowflake(), ms())])
    for path in (
        "stats/memberstats",
        "stats/memberdailystats",
        "stats/channeldailystats",
        "pipeline/ingestbatch",
        "pipeline/event",
        "pipeline/quarantinedevent",
        "stats/voicesession",
        "privacy/memberoptout",
        "privacy/privacyaudit",
    ):
        assert client.get(f"/admin/{path}/").status_code == 200, path
    assert client.get("/admin/guilds/guild/").status_code == 200


def test_an_api_key_created_in_the_admin_is_shown_once_and_revoking_it_stops_it_at_once():
    from django.contrib.messages import get_messages

    from guilds.models import ApiKey, Guild

    admin_user = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin_user)
    mine, other = (Guild.objects.create(guild_id=int(snowflake())) for _ in range(2))
    response = client.post(
        "/admin/guilds/apikey/add/", {"name": "dashboard", "guilds": [mine.pk]}, follow=True
    )
    assert response.status_code == 200
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    key = next(m for m in shown if m.startswith("API key for dashboard: ")).split()[4]
    row = ApiKey.objects.get()
    assert (row.prefix, list(row.guilds.values_list("guild_id", flat=True))) == (
        key[:12],
        [mine.guild_id],
    )
    assert key not in row.key_hash  # only a hash is stored

    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get(f"/api/guilds/{mine.guild_id}/stats/overview").status_code == 200
    assert api.get(f"/api/guilds/{other.guild_id}/stats/overview").status_code == 404
    # the key is now cached; giving it another guild or revoking it applies to the next call
    row.guilds.add(other)
    assert api.get(f"/api/guilds/{other.guild_id}/stats/overview").status_code == 200
    client.post("/admin/guilds/apikey/", {"action": "revoke", "_selected_action": [row.pk]})
    assert api.get(f"/api/guilds/{mine.guild_id}/stats/overview").status_code == 401
