"""The collector's invite attribution (GUILD_MEMBER_ADD ``inviteAttribution``): invite, vanity,
ambiguous (credited to nobody, with its candidates), unknown (with a reason); a late INVITE_USE
still completes the join; legacy bots keep the old rules; the stats API counts each kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from guilds.services import create_api_key
from invites.models import Invite, InviterStats, MemberJoin
from tests.factories import invite_create, invite_use, member_add, ms, old_account

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
GUILD = "721000000000000001"
ALICE, BOB = "3001", "3002"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def ago(**delta: float) -> int:
    return ms(NOW - timedelta(**delta))


def accepted(ingest, events: list[dict[str, Any]]) -> None:
    status, ack = ingest(events)
    assert (status, ack["rejected"], ack["accepted"]) == (200, [], len(events)), ack


def joins() -> list[tuple[Any, ...]]:
    return list(
        MemberJoin.objects.filter(guild_id=int(GUILD))
        .order_by("joined_at", "id")
        .values_list(
            "user_id",
            "inviter_id",
            "invite_code",
            "kind",
            "attribution",
            "attribution_reason",
            "invite_candidates",
        )
    )


def counts() -> dict[int, tuple[int, int, int]]:
    return {
        row.inviter_id: (row.regular, row.leaves, row.fakes)
        for row in InviterStats.objects.filter(guild_id=int(GUILD))
    }


def test_each_attribution_kind_is_recorded_and_only_invites_are_credited(ingest):
    by_invite, vanity, ambiguous, unknown, legacy = (old_account() for _ in range(5))
    accepted(
        ingest,
        [
            invite_create(GUILD, "alice1", ALICE, ago(hours=3)),
            member_add(
                GUILD,
                by_invite,
                ago(hours=2),
                inviter=ALICE,
                code="alice1",
                inviteAttribution="invite",
            ),
            invite_use(GUILD, "alice1", ALICE, by_invite, ago(hours=2), uses=1),  # the same join
            member_add(
                GUILD,
                vanity,
                ago(hours=1, minutes=50),
                inviteAttribution="vanity",
                vanity=True,
                inviteType="vanity",
            ),
            member_add(
                GUILD,
                ambiguous,
                ago(hours=1, minutes=40),
                inviteAttribution="ambiguous",
                inviteCandidates=["alice1", "bob1"],
                inviterId=BOB,  # whatever else it carries, an ambiguous join credits no one
            ),
            member_add(
                GUILD,
                unknown,
                ago(hours=1, minutes=30),
                inviteAttribution="unknown",
                attributionReason="missing_permission",
            ),
            member_add(GUILD, legacy, ago(hours=1, minutes=20), inviter=BOB, code="bob1"),
        ],
    )
    assert joins() == [
        (int(by_invite), int(ALICE), "alice1", "regular", "invite", "", []),
        (int(vanity), None, "vanity", "vanity", "vanity", "", []),
        (int(ambiguous), None, "", "ambiguous", "ambiguous", "", ["alice1", "bob1"]),
        (int(unknown), None, "", "unknown", "unknown", "missing_permission", []),
        (int(legacy), int(BOB), "bob1", "regular", "", "", []),  # a legacy bot: as before
    ]
    assert counts() == {int(ALICE): (1, 0, 0), int(BOB): (1, 0, 0)}
    assert dict(Invite.objects.values_list("code", "uses")) == {"alice1": 1, "bob1": 1}


def test_a_late_invite_use_completes_an_ambiguous_join(ingest):
    member = old_account()
    accepted(
        ingest,
        [
            member_add(
                GUILD,
                member,
                ago(minutes=5),
                inviteAttribution="ambiguous",
                inviteCandidates=["alice1", "bob1"],
            )
        ],
    )
    assert joins() == [(int(member), None, "", "ambiguous", "ambiguous", "", ["alice1", "bob1"])]
    accepted(ingest, [invite_use(GUILD, "alice1", ALICE, member, ago(minutes=4, seconds=10))])
    assert joins() == [
        (int(member), int(ALICE), "alice1", "regular", "ambiguous", "", ["alice1", "bob1"])
    ]
    assert counts() == {int(ALICE): (1, 0, 0)}


def test_an_unknown_join_without_a_reason_and_a_use_too_late_to_complete_it(ingest):
    member = old_account()
    accepted(ingest, [member_add(GUILD, member, ago(minutes=5), inviteAttribution="unknown")])
    accepted(ingest, [invite_use(GUILD, "alice1", ALICE, member, ago(minutes=3))])  # 2 min later
    assert [row[:6] for row in joins()] == [
        (int(member), None, "", "unknown", "unknown", ""),
        (int(member), int(ALICE), "alice1", "regular", "", ""),  # another join, as before
    ]


def test_the_stats_api_counts_ambiguous_and_unknown_joins(ingest):
    key = create_api_key("invites", [int(GUILD)])[1]
    accepted(
        ingest,
        [
            member_add(GUILD, old_account(), ago(hours=3), inviteAttribution="ambiguous"),
            member_add(GUILD, old_account(), ago(hours=2), inviteAttribution="ambiguous"),
            member_add(
                GUILD,
                old_account(),
                ago(hours=1),
                inviteAttribution="unknown",
                attributionReason="rate_limited",
            ),
            member_add(GUILD, old_account(), ago(minutes=50)),  # legacy, no inviter: unknown
            member_add(GUILD, old_account(), ago(minutes=40), inviteAttribution="vanity"),
        ],
    )
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get(f"/api/guilds/{GUILD}/invites/stats")
    assert response.status_code == 200
    assert response.json() == {
        "guildId": GUILD,
        "topInviters": [],
        "activeInvites": [],
        "vanityJoins": 1,
        "ambiguousJoins": 2,
        "unknownJoins": 2,
        "unattributedJoins": 4,
        "fakeAccountDays": 7,
    }


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            {"inviteAttribution": "guess"},
            "data: Invalid enum value 'guess' - at `$.data.inviteAttribution`",
        ),
        (
            {"inviteAttribution": "unknown", "attributionReason": "offline"},
            "data: Invalid enum value 'offline' - at `$.data.attributionReason`",
        ),
        (
            {"inviteAttribution": "ambiguous", "inviteCandidates": [f"c{n}" for n in range(26)]},
            "data: Expected `array` of length <= 25 - at `$.data.inviteCandidates`",
        ),
        (
            {"inviteAttribution": "ambiguous", "inviteCandidates": ["y" * 101]},
            "data: Expected `str` of length <= 100 - at `$.data.inviteCandidates[0]`",
        ),
        (
            {"inviteAttribution": "ambiguous", "inviteCandidates": "abc"},
            "data: Expected `array | null`, got `str` - at `$.data.inviteCandidates`",
        ),
    ],
)
def test_a_bad_attribution_is_rejected_with_a_reason(ingest, data, reason):
    _status, ack = ingest([member_add(GUILD, old_account(), ago(minutes=1), **data)])
    assert (ack["accepted"], ack["rejected"]) == (0, [{"index": 0, "error": reason}])
    assert joins() == []
