"""The members list's joinedAt comes from the member lifecycle (the first join seen)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.conftest import GUILD, ORIGIN
from tests.factories import member_add, message, ms

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


def test_joined_at_is_the_first_join(ingest, api, key_for_guild, frozen):
    joined, rejoined = ORIGIN - timedelta(days=3), ORIGIN - timedelta(days=1)
    member, stranger = "710000000000000001", "710000000000000002"
    member_left = {
        "type": "GUILD_MEMBER_REMOVE",
        "guildId": GUILD,
        "timestamp": ms(ORIGIN - timedelta(days=2)),
        "userId": member,
        "data": {"userId": member},
    }
    _status, ack = ingest(
        [
            member_add(GUILD, member, ms(joined)),
            member_left,
            member_add(GUILD, member, ms(rejoined)),
            message(GUILD, member, "720000000000000001", ms(ORIGIN - timedelta(hours=1))),
            message(GUILD, stranger, "720000000000000001", ms(ORIGIN - timedelta(hours=1))),
        ]
    )
    assert ack["rejected"] == []
    rows = api(key_for_guild).get(f"/api/guilds/{GUILD}/stats/members").json()["members"]
    assert {r["userId"]: r["joinedAt"] for r in rows} == {
        member: "2026-03-17T12:00:00.000Z",
        stranger: None,  # never seen joining
    }
