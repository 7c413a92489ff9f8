"""The invites API: top inviters (regular / leaves / fakes / bonus / total), active invites,
growth and retention; 400 naming the field; guild scoping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from guilds.services import create_api_key
from invites.models import InviterStats
from stats.models import MemberStats
from tests.factories import invite_create, member_add, member_remove, message, ms, snowflake

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
GUILD, OTHER = "720000000000000001", "720000000000000002"
ALICE, BOB, CAROL = "3001", "3002", "3003"


@pytest.fixture(autouse=True)
def _frozen_now(guildstats_settings):
    guildstats_settings(RAW_RETENTION_DAYS=100_000)
    with time_machine.travel(NOW, tick=False):
        yield


def ago(**delta: float) -> int:
    return ms(NOW - timedelta(**delta))


@pytest.fixture
def key(db: None) -> str:
    return create_api_key("invites", [int(GUILD)])[1]


def get(key: str, path: str):
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}").get(f"/api/guilds/{GUILD}/invites/{path}")


def test_invite_stats(key, ingest):
    members = [snowflake() for _ in range(5)]
    _status, ack = ingest(
        [
            invite_create(GUILD, "alice1", ALICE, ago(days=3), maxUses=10),
            invite_create(GUILD, "bob1", BOB, ago(days=3)),
            invite_create(GUILD, "expired", BOB, ago(days=3), maxAge=3600),
            invite_create(GUILD, "usedup", CAROL, ago(days=3), maxUses=1),
            invite_create(GUILD, "gone", CAROL, ago(days=3)),
            {
                "type": "INVITE_DELETE",
                "guildId": GUILD,
                "timestamp": ago(days=2),
                "data": {"code": "gone"},
            },
            member_add(GUILD, members[0], ago(days=2), inviter=ALICE, code="alice1"),
            member_add(GUILD, members[1], ago(days=2), inviter=ALICE, code="alice1"),
            member_add(GUILD, members[2], ago(days=2), inviter=BOB, code="bob1"),
            member_add(GUILD, members[3], ago(days=2), inviter=CAROL, code="usedup"),
            member_add(GUILD, BOB, ago(days=2), inviter=BOB, code="bob1"),  # self-invite
            member_add(GUILD, members[4], ago(days=2), vanity=True),
            member_remove(GUILD, members[1], ago(days=1)),
        ]
    )
    assert ack["rejected"] == []
    InviterStats.objects.filter(guild_id=int(GUILD), inviter_id=int(CAROL)).update(bonus=4)
    response = get(key, "stats")
    assert response.status_code == 200
    body = response.json()
    assert [
        (i["inviterId"], i["regular"], i["leaves"], i["fakes"], i["bonus"], i["total"])
        for i in body["topInviters"]
    ] == [
        (CAROL, 1, 0, 0, 4, 5),
        (ALICE, 2, 1, 0, 0, 1),
        (BOB, 2, 0, 1, 0, 1),
    ]
    assert [(i["code"], i["uses"], i["maxUses"]) for i in body["activeInvites"]] == [
        ("alice1", 2, 10),
        ("bob1", 2, 0),
    ]
    assert body["activeInvites"][0]["inviterId"] == ALICE
    assert (body["vanityJoins"], body["unattributedJoins"], body["fakeAccountDays"]) == (1, 0, 7)
    limited = get(key, "stats?limit=1").json()["topInviters"]
    assert [i["inviterId"] for i in limited] == [CAROL]


@pytest.mark.parametrize(
    ("path", "field"),
    [("stats?limit=0", "limit"), ("stats?limit=x", "limit"), ("growth?days=0", "days")],
)
def test_bad_parameters_answer_400_naming_the_field(key, path, field):
    response = get(key, path)
    assert (response.status_code, list(response.json())) == (400, [field])


def test_growth_and_retention(key, ingest):
    """Four members joined 40 days ago; one left, one stayed silent, one was last seen a day
    after joining, one is still active. One joined 3 days ago and is active."""
    left, silent, early, active, recent = (snowflake() for _ in range(5))
    channel = snowflake()
    _status, ack = ingest(
        [
            *(member_add(GUILD, m, ago(days=40)) for m in (left, silent, early, active)),
            member_add(GUILD, recent, ago(days=3)),
            member_remove(GUILD, left, ago(days=2)),
        ]
    )
    assert ack["rejected"] == []
    # activity straight into the counters (raw events this old are past the default horizon)
    MemberStats.objects.create(
        guild_id=int(GUILD), user_id=int(early), last_seen=NOW - timedelta(days=38, hours=12)
    )
    MemberStats.objects.create(guild_id=int(GUILD), user_id=int(left), last_seen=NOW)
    _status, ack = ingest(
        [message(GUILD, active, channel, ago(hours=1)), message(GUILD, recent, channel, ago())]
    )
    response = get(key, "growth?days=3")
    assert response.status_code == 200
    body = response.json()
    assert body["days"] == [
        {"day": "2026-03-18", "joins": 0, "leaves": 1, "net": -1},
        {"day": "2026-03-19", "joins": 0, "leaves": 0, "net": 0},
        {"day": "2026-03-20", "joins": 0, "leaves": 0, "net": 0},
    ]
    assert body["totals"] == {"joins": 5, "leaves": 1, "net": 4}
    assert body["retention"] == {
        "day1": {"eligible": 5, "retained": 3, "share": 0.6},  # early, active, recent
        "day7": {"eligible": 4, "retained": 1, "share": 0.25},  # active
        "day30": {"eligible": 4, "retained": 1, "share": 0.25},
    }


def test_scoping(key, ingest):
    ingest([member_add(OTHER, snowflake(), ago(), inviter=ALICE)])
    other_key = create_api_key("other", [int(OTHER)])[1]
    for path in ("stats", "growth"):
        assert get(key, path).status_code == 200
        assert get(other_key, path).status_code == 404
        response = Client().get(f"/api/guilds/{GUILD}/invites/{path}")
        assert response.status_code in (401, 403)
    assert get(key, "stats").json()["topInviters"] == []


def test_retention_counts_only_members_whose_join_was_seen(key, ingest):
    """A leave of a member who joined before we tracked the guild creates a lifecycle row
    (first join from ``joinedAt``) but is in no cohort. Seen exactly N days after the first
    join counts as retained."""
    before_tracking, stays = snowflake(), snowflake()
    ghost = member_remove(GUILD, before_tracking, ago(days=1))
    ghost["data"]["joinedAt"] = (NOW - timedelta(days=60)).isoformat()
    _status, ack = ingest([member_add(GUILD, stays, ago(days=40)), ghost])
    assert ack["rejected"] == []
    MemberStats.objects.create(
        guild_id=int(GUILD), user_id=int(stays), last_seen=NOW - timedelta(days=10)
    )  # exactly 30 days after the join
    MemberStats.objects.create(guild_id=int(GUILD), user_id=int(before_tracking), last_seen=NOW)
    MemberStats.objects.create(guild_id=int(OTHER), user_id=int(stays), last_seen=NOW)
    body = get(key, "growth?days=1").json()
    assert body["retention"] == {
        "day1": {"eligible": 1, "retained": 1, "share": 1.0},
        "day7": {"eligible": 1, "retained": 1, "share": 1.0},
        "day30": {"eligible": 1, "retained": 1, "share": 1.0},
    }
    MemberStats.objects.filter(guild_id=int(GUILD), user_id=int(stays)).update(
        last_seen=NOW - timedelta(days=10, microseconds=1)
    )  # a microsecond short of 30 days; the other guild's activity does not count
    cache.clear()
    body = get(key, "growth?days=1").json()
    assert body["retention"]["day30"] == {"eligible": 1, "retained": 0, "share": 0.0}
    assert body["retention"]["day7"]["retained"] == 1


def test_retention_is_computed_in_the_database(key, ingest, django_assert_max_num_queries):
    members = [snowflake() for _ in range(30)]
    _status, ack = ingest([member_add(GUILD, m, ago(days=40)) for m in members])
    assert ack["rejected"] == []
    MemberStats.objects.bulk_create(
        MemberStats(guild_id=int(GUILD), user_id=int(m), last_seen=NOW) for m in members[:20]
    )
    from invites.selectors import retention

    with django_assert_max_num_queries(1):
        result = retention(int(GUILD), NOW)
    assert result["day30"] == {"eligible": 30, "retained": 20, "share": 0.6667}
