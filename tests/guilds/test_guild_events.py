"""GUILD_SYNC / CREATE / UPDATE / DELETE maintain the guild registry; stats are never deleted."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from guilds.models import BotToken, Guild
from guilds.services import authenticate_bot, hash_token
from stats.models import MemberStats
from tests.factories import GuildFactory, event, message, ms, snowflake

pytestmark = pytest.mark.django_db(transaction=True)


def registry() -> dict[int, tuple]:
    return {
        g.guild_id: (g.name, g.owner_id, g.member_count, g.premium_tier, g.is_active, g.features)
        for g in Guild.objects.all()
    }


def test_create_update_delete(ingest):
    g, owner, new_owner = snowflake(), snowflake(), snowflake()
    G = int(g)
    ingest(
        [
            event(
                "GUILD_CREATE",
                g,
                ms(ago=30),
                data={
                    "id": g,
                    "name": "Cafe",
                    "icon": None,
                    "ownerId": owner,
                    "memberCount": 42,
                    "features": ["COMMUNITY"],
                    "premiumTier": 1,
                    "premiumSubscriptionCount": 3,
                    "joinedAt": "2026-11-01T10:00:00.000Z",
                },
            )
        ]
    )
    assert registry() == {G: ("Cafe", int(owner), 42, 1, True, ["COMMUNITY"])}
    assert Guild.objects.get().joined_at.isoformat() == "2026-11-01T10:00:00+00:00"

    ingest(
        [
            event(
                "GUILD_UPDATE",
                g,
                ms(ago=20),
                data={
                    "id": g,
                    "changes": {
                        "name": {"old": "Cafe", "new": "Café"},
                        "ownerId": {"old": owner, "new": new_owner},
                        "memberCount": {"old": 42, "new": 43},
                    },
                },
            )
        ]
    )
    assert registry() == {G: ("Café", int(new_owner), 43, 1, True, ["COMMUNITY"])}

    ingest([message(g, snowflake(), snowflake(), ms(ago=15))])
    ingest([event("GUILD_DELETE", g, ms(ago=10), data={"id": g})])
    assert registry()[G][4] is False
    assert MemberStats.objects.filter(guild_id=G).count() == 1  # stats kept


def test_sync_marks_unlisted_guilds_inactive(ingest):
    kept = GuildFactory(name="kept")
    gone = GuildFactory(name="gone")
    new = snowflake()
    _status, ack = ingest(
        [
            event(
                "GUILD_SYNC",
                str(kept.guild_id),
                ms(),
                data={
                    "guilds": [
                        {
                            "id": str(kept.guild_id),
                            "name": "kept v2",
                            "icon": None,
                            "ownerId": snowflake(),
                            "memberCount": 10,
                            "features": [],
                            "premiumTier": 0,
                            "premiumSubscriptionCount": 0,
                        },
                        {
                            "id": new,
                            "name": "new",
                            "icon": "abc",
                            "ownerId": snowflake(),
                            "memberCount": 5,
                            "features": ["PARTNERED"],
                            "premiumTier": 2,
                            "premiumSubscriptionCount": 7,
                        },
                    ]
                },
            )
        ]
    )
    assert ack["accepted"] == 1
    active = dict(Guild.objects.values_list("guild_id", "is_active"))
    assert active == {kept.guild_id: True, gone.guild_id: False, int(new): True}
    assert Guild.objects.get(guild_id=kept.guild_id).name == "kept v2"


def test_create_bot_token_command_prints_a_token_stored_hashed(capsys):
    call_command("create_bot_token", "my bot")
    token = capsys.readouterr().out.strip()
    row = BotToken.objects.get()
    assert row.name == "my bot"
    assert row.token_hash == hash_token(token) and token not in row.token_hash
    assert authenticate_bot(f"Bot {token}") == row
    assert authenticate_bot(f"Bearer {token}") is None
    assert authenticate_bot("Bot ") is None
