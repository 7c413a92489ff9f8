"""The stats API: exact responses at a pinned time, period arithmetic, validation, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from guilds.services import create_api_key
from tests.api.conftest import GUILD, ORIGIN
from tests.factories import message, ms, reaction, voice_join, voice_leave

pytestmark = pytest.mark.django_db(transaction=True)

ALICE, BOB, CAROL, DAVE = "1001", "1002", "1003", "1004"
CHANNEL, VOICE = "2001", "2002"

# no directory in these tests: names are null (tests/directory/test_names.py has them)
NO_NAME = {"displayName": None, "username": None, "avatarUrl": None}
NO_CHANNEL_NAME = {"name": None, "type": None, "deleted": False, "category": None}


def at(**delta: float) -> int:
    return ms(ORIGIN - timedelta(**delta))


@pytest.fixture
def activity(frozen, ingest):
    """Today is Friday 20 March 2026 (UTC guild). Yesterday, 3 days ago and 10 days ago too."""
    status, ack = ingest(
        [
            message(GUILD, ALICE, CHANNEL, at(hours=1)),
            message(GUILD, ALICE, CHANNEL, at(hours=2)),
            message(GUILD, ALICE, CHANNEL, at(hours=3)),
            message(GUILD, ALICE, CHANNEL, at(days=3)),
            message(GUILD, ALICE, CHANNEL, at(days=3, minutes=1)),
            message(GUILD, ALICE, CHANNEL, at(days=10)),
            message(GUILD, BOB, CHANNEL, at(hours=6)),
            voice_join(GUILD, BOB, VOICE, at(hours=5)),
            voice_leave(GUILD, BOB, VOICE, at(hours=4, minutes=30)),
            reaction(GUILD, BOB, ALICE, at(hours=4), channel=CHANNEL),
            message(GUILD, CAROL, CHANNEL, at(days=1)),
            message(GUILD, CAROL, CHANNEL, at(days=1, minutes=1)),
            message(GUILD, DAVE, CHANNEL, at(days=1, minutes=2)),
            message(GUILD, DAVE, CHANNEL, at(days=1, minutes=3)),
        ]
    )
    assert (status, ack["accepted"]) == (200, 14)


def test_dashboard_today(api, key_for_guild, activity):
    response = api(key_for_guild).get(f"/api/guilds/{GUILD}/stats/dashboard?period=today")
    assert response.status_code == 200
    assert response.json() == {
        "guildId": GUILD,
        "period": "today",
        "totalMessages": 4,
        "totalVoiceMinutes": 30,
        "totalReactions": 1,
        "uniqueActiveUsers": 2,
        "messagesChange": 0.0,  # 4 yesterday (carol 2, dave 2)
        "voiceMinutesChange": None,  # nothing yesterday: no percentage, never infinity
        "reactionsChange": None,
        "activeUsersChange": 0.0,
        "topMembers": [
            {"userId": ALICE, "totalMessages": 3, "totalVoiceMinutes": 0, **NO_NAME},
            {"userId": BOB, "totalMessages": 1, "totalVoiceMinutes": 30, **NO_NAME},
        ],
        "periodStart": "2026-03-20T00:00:00.000Z",
        "periodEnd": "2026-03-21T00:00:00.000Z",
        "coverage": {  # no collector heartbeats: unknown
            "covered": None,
            "coveredSeconds": None,
            "periodSeconds": None,
            "trackedSince": None,
            "gaps": [],
        },
    }


def test_dashboard_week_and_all(api, key_for_guild, activity):
    week = api(key_for_guild).get(f"/api/guilds/{GUILD}/stats/dashboard?period=week").json()
    assert {
        k: week[k]
        for k in (
            "totalMessages",
            "uniqueActiveUsers",
            "messagesChange",
            "activeUsersChange",
            "periodStart",
            "periodEnd",
        )
    } == {
        "totalMessages": 10,
        "uniqueActiveUsers": 4,
        "messagesChange": 900.0,  # previous 7 days: alice's 1 message
        "activeUsersChange": 300.0,
        "periodStart": "2026-03-14T00:00:00.000Z",
        "periodEnd": "2026-03-21T00:00:00.000Z",
    }
    assert [m["userId"] for m in week["topMembers"]] == [ALICE, CAROL, DAVE]
    everything = api(key_for_guild).get(f"/api/guilds/{GUILD}/stats/dashboard?period=all").json()
    assert (everything["totalMessages"], everything["messagesChange"]) == (11, None)
    assert everything["periodStart"] is None


def test_leaderboard_ranks_ties_and_badges(api, key_for_guild, activity):
    body = (
        api(key_for_guild)
        .get(f"/api/guilds/{GUILD}/stats/leaderboard?category=overall&period=all")
        .json()
    )
    assert body == {
        "guildId": GUILD,
        "category": "overall",
        "period": "all",
        "entries": [
            {
                "rank": 1,
                "userId": BOB,
                "score": 32,
                "totalMessages": 1,
                "totalVoiceMinutes": 30,
                "totalReactions": 1,
                "badge": "gold",
                **NO_NAME,
            },
            {
                "rank": 2,
                "userId": ALICE,
                "score": 6,
                "totalMessages": 6,
                "totalVoiceMinutes": 0,
                "totalReactions": 0,
                "badge": "silver",
                **NO_NAME,
            },
            {
                "rank": 3,
                "userId": CAROL,
                "score": 2,
                "totalMessages": 2,
                "totalVoiceMinutes": 0,
                "totalReactions": 0,
                "badge": "bronze",
                **NO_NAME,
            },
            {
                "rank": 3,
                "userId": DAVE,
                "score": 2,
                "totalMessages": 2,
                "totalVoiceMinutes": 0,
                "totalReactions": 0,
                "badge": "bronze",
                **NO_NAME,
            },
        ],
        "updatedAt": "2026-03-20T12:00:00.000Z",
    }
    today = (
        api(key_for_guild)
        .get(f"/api/guilds/{GUILD}/stats/leaderboard?category=messages&period=today&limit=1")
        .json()
    )
    assert [(e["rank"], e["userId"], e["score"]) for e in today["entries"]] == [(1, ALICE, 3)]
    voice = (
        api(key_for_guild)
        .get(f"/api/guilds/{GUILD}/stats/leaderboard?category=voice&period=week")
        .json()
    )
    assert [(e["userId"], e["score"]) for e in voice["entries"]] == [(BOB, 30)]


def test_members_page_sorting_and_filters(api, key_for_guild, activity):
    client = api(key_for_guild)
    body = client.get(f"/api/guilds/{GUILD}/stats/members?pageSize=2").json()
    assert body["pagination"] == {"total": 4, "page": 1, "pageSize": 2, "totalPages": 2}
    assert body["members"][0] == {
        **NO_NAME,
        "userId": ALICE,
        "guildId": GUILD,
        "totalMessages": 6,
        "totalVoiceMinutes": 0,
        "totalVoiceSeconds": 0,
        "totalReactionsGiven": 0,
        "totalReactionsReceived": 1,
        "lastMessageAt": "2026-03-20T11:00:00.000Z",
        "lastVoiceAt": None,
        "lastSeen": "2026-03-20T11:00:00.000Z",
        "joinedAt": None,
    }
    assert [m["userId"] for m in body["members"]] == [ALICE, CAROL]  # tie carol/dave: by id
    page2 = client.get(f"/api/guilds/{GUILD}/stats/members?pageSize=2&page=2").json()
    assert [m["userId"] for m in page2["members"]] == [DAVE, BOB]

    def ids(query: str) -> list[str]:
        return [
            m["userId"]
            for m in client.get(f"/api/guilds/{GUILD}/stats/members?{query}").json()["members"]
        ]

    assert ids("sortBy=voice") == [BOB, ALICE, CAROL, DAVE]
    assert ids("sortBy=messages&sortOrder=asc") == [BOB, CAROL, DAVE, ALICE]
    assert ids("sortBy=lastSeen") == [ALICE, BOB, CAROL, DAVE]  # carol 12:00, dave 11:58
    assert ids("minMessages=2") == [ALICE, CAROL, DAVE]
    assert ids("minVoiceMinutes=30") == [BOB]
    assert ids("activeOnly=true&sortBy=messages") == [ALICE, CAROL, DAVE, BOB]


def test_overview(api, key_for_guild, activity):
    body = api(key_for_guild).get(f"/api/guilds/{GUILD}/stats/overview").json()
    assert body["today"] == {
        "totalMessages": 4,
        "totalVoiceMinutes": 30,
        "totalReactions": 1,
        "uniqueActiveUsers": 2,
    }
    assert body["month"]["totalMessages"] == 11
    assert body["topChannels"] == [
        {"channelId": CHANNEL, "messages": 10, "voiceMinutes": 0, **NO_CHANNEL_NAME},
        {"channelId": VOICE, "messages": 0, "voiceMinutes": 30, **NO_CHANNEL_NAME},
    ]
    assert [m["userId"] for m in body["topMembers"]] == [ALICE, CAROL, DAVE, BOB]


def test_periods_follow_the_guild_timezone(api, key_for_guild, frozen, ingest):
    from guilds.models import Guild

    ingest([message(GUILD, ALICE, CHANNEL, at(hours=13))])  # 23:00 UTC on the 19th
    Guild.objects.filter(guild_id=int(GUILD)).update(timezone="Asia/Tokyo")  # UTC+9
    # the message was sent at 08:00 on the 20th in Tokyo, but days are assigned when counted:
    # in UTC it was the 19th, so "today" in Tokyo (the 20th) has no messages yet
    body = api(key_for_guild).get(f"/api/guilds/{GUILD}/stats/dashboard?period=today").json()
    assert (body["periodStart"], body["periodEnd"]) == (
        "2026-03-19T15:00:00.000Z",
        "2026-03-20T15:00:00.000Z",
    )


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("dashboard?period=year", "period"),
        ("members?pageSize=101", "pageSize"),
        ("members?page=0", "page"),
        ("members?sortBy=name", "sortBy"),
        ("members?sortOrder=up", "sortOrder"),
        ("members?minMessages=-1", "minMessages"),
        ("members?minVoiceMinutes=abc", "minVoiceMinutes"),
        ("members?activeOnly=maybe", "activeOnly"),
        ("leaderboard?category=karma", "category"),
        ("leaderboard?limit=0", "limit"),
        ("leaderboard?limit=1000", "limit"),
        ("leaderboard?period=Week", "period"),
        # bounded, as the schema says (10¹⁹ used to overflow the database: 500)
        ("members?page=10000000000000000000", "page"),
        ("members?page=1000001", "page"),
        ("members?minMessages=1000000001", "minMessages"),
        ("members?minVoiceMinutes=99999999999999999999", "minVoiceMinutes"),
        ("members?page=%D9%A7", "page"),  # an Arabic-Indic 7: int() reads it, the schema not
        ("members?page=1.0", "page"),
        # empty is not "not given"
        ("dashboard?period=", "period"),
        ("members?pageSize=", "pageSize"),
        ("members?activeOnly=", "activeOnly"),
        # a format the endpoint does not render (DRF answers 404)
        ("members?format=xml", "format"),
        ("members?format=", "format"),
        ("dashboard?format=csv", "format"),
    ],
)
def test_bad_parameters_answer_400_naming_the_field(api, key_for_guild, path, field):
    response = api(key_for_guild).get(f"/api/guilds/{GUILD}/stats/{path}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.parametrize("endpoint", ["dashboard", "members", "leaderboard", "overview"])
def test_query_counts_are_bounded(
    api, key_for_guild, activity, endpoint, django_assert_max_num_queries
):
    client = api(key_for_guild)
    with django_assert_max_num_queries(14):  # names: one query for members, one for channels
        assert client.get(f"/api/guilds/{GUILD}/stats/{endpoint}").status_code == 200


def test_schema_and_docs(api, key_for_guild):
    from drf_spectacular.validation import validate_schema

    schema = api(key_for_guild).get("/api/schema/?format=json")
    assert schema.status_code == 200
    document = schema.json()
    validate_schema(document)
    assert {p.rstrip("/") for p in document["paths"]} >= {
        "/api/guilds",
        *(
            f"/api/guilds/{{guild_id}}/stats/{e}"
            for e in ("dashboard", "members", "leaderboard", "overview", "activity", "heatmap")
        ),
    }
    assert api(key_for_guild).get("/api/docs/").status_code == 200


def test_members_csv_export_has_every_matching_member(api, key_for_guild, activity):
    response = api(key_for_guild).get(
        f"/api/guilds/{GUILD}/stats/members?format=csv&minMessages=2&pageSize=1"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="guild-{GUILD}-members.csv"'
    lines = response.content.decode().splitlines()
    assert lines[0].split(",")[:3] == ["userId", "guildId", "totalMessages"]
    assert [line.split(",")[0] for line in lines[1:]] == [ALICE, CAROL, DAVE]
    assert lines[1].split(",")[2] == "6"


def test_an_empty_csv_export_is_a_csv_file(api, key_for_guild, activity):
    response = api(key_for_guild).get(
        f"/api/guilds/{GUILD}/stats/members?format=csv&minMessages=1000"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines() == [
        "userId,guildId,totalMessages,totalVoiceMinutes,totalVoiceSeconds,totalReactionsGiven,"
        "totalReactionsReceived,lastMessageAt,lastVoiceAt,lastSeen,joinedAt,displayName,username,"
        "avatarUrl"
    ]


def test_dashboard_is_cached_for_a_while(api, key_for_guild, activity, frozen, ingest, settings):
    import time

    assert settings.API_CACHE_SECONDS <= 60
    settings.API_CACHE_SECONDS = 1
    client = api(key_for_guild)
    url = f"/api/guilds/{GUILD}/stats/dashboard?period=today"
    assert client.get(url).json()["totalMessages"] == 4
    ingest([message(GUILD, ALICE, CHANNEL, at(minutes=1))])
    assert client.get(url).json()["totalMessages"] == 4  # served from the cache
    frozen.shift(timedelta(seconds=2))  # the local-memory cache's clock ...
    time.sleep(1.1)  # ... and Redis's, which no test can freeze
    assert client.get(url).json()["totalMessages"] == 5  # stale for API_CACHE_SECONDS at most


def test_callers_are_rate_limited(api, key_for_guild, settings, frozen):
    from rest_framework.settings import api_settings

    from guilds.api.throttling import CountingRateThrottle as UserRateThrottle

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/min"},
    }
    api_settings.reload()
    UserRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        client = api(key_for_guild)
        codes = [client.get(f"/api/guilds/{GUILD}/stats/overview").status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        refused = client.get(f"/api/guilds/{GUILD}/stats/overview")
        assert refused["Retry-After"] == "60"  # the pinned origin is a minute's first instant
        other = create_api_key("other", [int(GUILD)])[1]  # another caller has its own budget
        assert api(other).get(f"/api/guilds/{GUILD}/stats/overview").status_code == 200
        frozen.shift(timedelta(seconds=60))  # the next window: a new budget
        codes = [client.get(f"/api/guilds/{GUILD}/stats/overview").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
    finally:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"user": "600/min"},
        }
        api_settings.reload()
        UserRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def test_the_schema_generates_without_warnings(tmp_path):
    """Every endpoint's parameters and responses are described (drf-spectacular warns when it
    has to guess), and the document validates against the OpenAPI 3 specification."""
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert "/api/guilds/{guild_id}/moderation/cases" in (tmp_path / "s.yml").read_text()
