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
        "memberstats",
        "memberdailystats",
        "channeldailystats",
        "ingestbatch",
        "event",
        "voicesession",
    ):
        assert client.get(f"/admin/stats/{path}/").status_code == 200, path
    assert client.get("/admin/guilds/guild/").status_code == 200
