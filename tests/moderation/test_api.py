"""The moderation API: filters, pagination, recent cases, a member's history, 400 naming the
field, guild scoping (API keys, Discord logins, superusers) and the OpenAPI schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from guilds.models import GuildAccess
from guilds.services import create_api_key
from tests.factories import audit_entry, ban, member_add, member_remove, ms, snowflake

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]

ORIGIN = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
GUILD, OTHER = "710000000000000001", "710000000000000002"
ALICE, BOB, MOD, MOD2 = "1001", "1002", "2001", "2002"


def at(**delta: float) -> int:
    return ms(ORIGIN + timedelta(**delta))


@pytest.fixture
def key(db: None) -> str:
    return create_api_key("mods", [int(GUILD)])[1]


def client(key: str | None) -> Client:
    return Client(**({"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}))


@pytest.fixture
def history(ingest):
    """Six cases in GUILD, one in OTHER."""
    _status, ack = ingest(
        [
            member_add(GUILD, ALICE, at(days=-10), inviter=BOB),
            ban(GUILD, ALICE, at(), moderator=MOD, reason="spam"),  # 1
            ban(GUILD, ALICE, at(hours=1), moderator=MOD, removed=True),  # 2
            audit_entry(GUILD, "MEMBER_KICK", at(hours=2), target=BOB, executor=MOD2),  # 3
            member_remove(GUILD, ALICE, at(hours=3), kicked_by=MOD2, reason="again"),  # 4
            audit_entry(GUILD, "MEMBER_TIMEOUT_ADD", at(hours=4), target=BOB, executor=MOD),  # 5
            {
                "type": "AUTO_MODERATION_ACTION_EXECUTION",  # 6
                "guildId": GUILD,
                "userId": BOB,
                "timestamp": at(hours=5),
                "data": {"ruleName": "links"},
            },
            ban(OTHER, ALICE, at()),
        ]
    )
    assert ack["accepted"] == 8 and ack["rejected"] == []


def numbers(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [c["caseNumber"] for c in response.json()["cases"]]


def test_cases_newest_first_with_every_field(key, history):
    response = client(key).get(f"/api/guilds/{GUILD}/moderation/cases")
    body = response.json()
    assert numbers(response) == [6, 5, 4, 3, 2, 1]
    assert body["pagination"] == {"total": 6, "page": 1, "pageSize": 20, "totalPages": 1}
    assert body["cases"][-1] == {
        "caseNumber": 1,
        "guildId": GUILD,
        "action": "BAN",
        "actionLabel": "Ban",
        "targetUserId": ALICE,
        "targetUsername": "user1001",
        "targetName": "user1001",  # the directory's (from the join), else the case's
        "moderatorId": MOD,
        "moderatorUsername": "mod2001",
        "moderatorName": "mod2001",
        "reason": "spam",
        "details": {},
        "timestamp": "2026-03-20T12:00:00.000Z",
        "sources": ["event"],
    }
    assert body["cases"][0]["moderatorId"] is None  # auto-moderation: the system


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=BAN", [1]),
        ("action=kick", [4, 3]),
        (f"targetUserId={BOB}", [6, 5, 3]),
        (f"moderatorId={MOD2}", [4, 3]),
        ("moderatorId=system", [6]),
        ("since=2026-03-20T13:00:00Z", [6, 5, 4, 3, 2]),
        ("until=2026-03-20T14:00:00Z", [2, 1]),
        (f"since={at(hours=2)}&until={at(hours=4)}", [4, 3]),  # epoch milliseconds
        (f"action=KICK&targetUserId={ALICE}", [4]),
        ("pageSize=2&page=2", [4, 3]),
        ("pageSize=4&page=3", []),
    ],
)
def test_case_filters_and_pages(key, history, query, expected):
    assert numbers(client(key).get(f"/api/guilds/{GUILD}/moderation/cases?{query}")) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("action=nuke", "action"),
        ("targetUserId=abc", "targetUserId"),
        ("targetUserId=-5", "targetUserId"),
        ("targetUserId=99999999999999999999", "targetUserId"),
        ("moderatorId=bot", "moderatorId"),
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        ("since=2026-03-21&until=2026-03-20", "until"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("pageSize=101", "pageSize"),
        ("since=99999999999999999999", "since"),
    ],
)
def test_bad_parameters_answer_400_naming_the_field(key, history, query, field):
    response = client(key).get(f"/api/guilds/{GUILD}/moderation/cases?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_recent_is_the_latest_fifty(key, ingest):
    _status, ack = ingest([ban(GUILD, snowflake(), at(minutes=i)) for i in range(55)])
    assert ack["accepted"] == 55
    cases = client(key).get(f"/api/guilds/{GUILD}/moderation/recent").json()["cases"]
    assert [c["caseNumber"] for c in cases] == list(range(55, 5, -1))


def test_a_members_history(key, history):
    response = client(key).get(f"/api/guilds/{GUILD}/moderation/users/{ALICE}")
    assert response.status_code == 200
    body = response.json()
    assert [c["caseNumber"] for c in body["cases"]] == [1, 2, 4]  # oldest first
    assert body["totals"] == {"BAN": 1, "KICK": 1, "UNBAN": 1}
    assert body["casesAsModerator"] == 0
    assert body["membership"] == {
        "firstJoinedAt": "2026-03-10T12:00:00.000Z",
        "lastJoinedAt": "2026-03-10T12:00:00.000Z",
        "leftAt": "2026-03-20T15:00:00.000Z",
        "joinCount": 1,
        "rejoinCount": 0,
        "leaveCount": 1,
        "isPresent": False,
        "invitedBy": BOB,
        "inviteCode": None,
    }
    moderator = client(key).get(f"/api/guilds/{GUILD}/moderation/users/{MOD}").json()
    assert (moderator["cases"], moderator["casesAsModerator"], moderator["membership"]) == (
        [],
        3,
        None,
    )
    bad = client(key).get(f"/api/guilds/{GUILD}/moderation/users/abc")
    assert (bad.status_code, list(bad.json())) == (400, ["userId"])


PATHS = ["cases", "recent", f"users/{ALICE}"]


@pytest.mark.parametrize("path", PATHS)
def test_scoping(key, history, path):
    url = f"/api/guilds/{{}}/moderation/{path}"
    assert client(key).get(url.format(GUILD)).status_code == 200
    assert client(key).get(url.format(OTHER)).status_code == 404  # exists, not in scope
    assert client(key).get(url.format("123")).status_code == 404
    assert client(None).get(url.format(GUILD)).status_code in (401, 403)
    assert client("gsk_wrong").get(url.format(GUILD)).status_code == 401

    discord_user = User.objects.create_user("discord-mod")
    GuildAccess.objects.create(user=discord_user, guild_id=int(OTHER))
    session = Client()
    session.force_login(discord_user)
    assert session.get(url.format(OTHER)).status_code == 200
    assert session.get(url.format(GUILD)).status_code == 404

    root = Client()
    root.force_login(User.objects.create_superuser("root", "r@example.com", "pw"))
    assert root.get(url.format(OTHER)).status_code == 200
    assert root.get(url.format(GUILD)).status_code == 200


def test_only_the_guilds_own_cases_are_listed(key, history):
    root = Client()
    root.force_login(User.objects.create_superuser("root", "r@example.com", "pw"))
    assert numbers(root.get(f"/api/guilds/{OTHER}/moderation/cases")) == [1]


def test_documented_in_the_openapi_schema(key):
    response = client(key).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/guilds/{guild_id}/moderation/cases",
        "/api/guilds/{guild_id}/moderation/recent",
        "/api/guilds/{guild_id}/moderation/users/{user_id}",
        "/api/guilds/{guild_id}/invites/stats",
        "/api/guilds/{guild_id}/invites/growth",
    ):
        assert any(p.rstrip("/") == path for p in paths), (path, sorted(paths))
    cases = next(v for p, v in paths.items() if p.startswith("/api/guilds/{guild_id}/moderation/c"))
    names = {p["name"] for p in cases["get"]["parameters"]}
    assert {"action", "targetUserId", "moderatorId", "since", "until", "page", "pageSize"} <= names
