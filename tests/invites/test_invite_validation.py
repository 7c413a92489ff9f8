"""Invite events through the ingest endpoint: malformed payloads, values out of their
columns' bounds and naive datetimes refused with a reason; datetimes with a time zone and
epoch milliseconds accepted."""

from __future__ import annotations

import pytest

from invites.models import Invite
from tests.factories import event, invite_create, member_add, ms, snowflake
from tests.invites.helpers import ORIGIN, accepted, at, joins

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


BAD_PAYLOADS = [
    ("INVITE_CREATE", {}, "code"),
    ("INVITE_CREATE", {"code": ""}, "$.data.code"),
    ("INVITE_CREATE", {"code": "a", "maxUses": -1}, "$.data.maxUses"),
    ("INVITE_CREATE", {"code": "a", "inviterId": "x"}, "inviterId is not a valid snowflake"),
    ("INVITE_CREATE", {"code": "a", "expiresAt": "soon"}, "$.data.expiresAt"),
    ("INVITE_DELETE", {"code": 5}, "$.data.code"),
    ("INVITE_USE", {"code": "a"}, "newMemberId"),
    ("INVITE_USE", {"code": "a", "newMemberId": "1", "uses": "2"}, "$.data.uses"),
    ("GUILD_MEMBER_ADD", {"bot": "no"}, "$.data.bot"),
    ("GUILD_MEMBER_ADD", {"inviterId": "0"}, "inviterId is not a valid snowflake"),
    ("GUILD_MEMBER_ADD", {"accountCreatedAt": "long ago"}, "$.data.accountCreatedAt"),
]


@pytest.mark.parametrize(("type_", "data", "reason"), BAD_PAYLOADS)
def test_malformed_invite_events_are_rejected_with_a_reason(ingest, type_, data, reason):
    g = snowflake()
    good = member_add(g, snowflake(), at())
    bad = event(type_, g, at(), user=snowflake(), data=data)
    status, ack = ingest([good, bad])
    assert (status, ack["accepted"]) == (200, 1)
    [rejection] = ack["rejected"]
    assert rejection["index"] == 1
    assert rejection["error"].startswith("data: ") and reason in rejection["error"]
    assert len(joins(g)) == 1


def test_member_events_need_the_member_id(ingest):
    g = snowflake()
    _status, ack = ingest(
        [
            event("GUILD_MEMBER_ADD", g, at(), data={}),
            event("GUILD_MEMBER_REMOVE", g, at(), data={}),
        ]
    )
    assert ack["accepted"] == 0
    assert [r["error"] for r in ack["rejected"]] == [
        "GUILD_MEMBER_ADD requires userId",
        "GUILD_MEMBER_REMOVE requires userId",
    ]


LONG_NAME = "x" * 256  # the name columns are varchar(255)
NAIVE = "2020-01-01T00:00:00"  # no time zone: which instant is it?
OUT_OF_BOUNDS_PAYLOADS = [
    ("INVITE_CREATE", {"code": "a", "uses": 2**40}, "$.data.uses"),
    ("INVITE_CREATE", {"code": "a", "maxUses": 2**31}, "$.data.maxUses"),
    ("INVITE_CREATE", {"code": "a", "maxAge": 2**33}, "$.data.maxAge"),
    ("INVITE_CREATE", {"code": "a", "inviterUsername": LONG_NAME}, "inviterUsername"),
    ("INVITE_CREATE", {"code": "a" * 101}, "$.data.code"),
    ("INVITE_CREATE", {"code": "a", "createdAt": NAIVE}, "$.data.createdAt"),
    ("INVITE_CREATE", {"code": "a", "expiresAt": NAIVE}, "$.data.expiresAt"),
    ("INVITE_USE", {"code": "a", "newMemberId": "1", "uses": 3_000_000_000}, "$.data.uses"),
    ("INVITE_USE", {"code": "a", "newMemberId": "1", "maxUses": 2**31}, "$.data.maxUses"),
    ("INVITE_USE", {"code": "a", "newMemberId": "1", "inviterUsername": LONG_NAME}, "inviter"),
    ("INVITE_USE", {"code": "a", "newMemberId": "1", "newMemberUsername": LONG_NAME}, "newMem"),
    ("INVITE_USE", {"code": "a", "newMemberId": "1", "accountCreatedAt": NAIVE}, "accountCr"),
    ("GUILD_MEMBER_ADD", {"username": LONG_NAME}, "$.data.username"),
    ("GUILD_MEMBER_ADD", {"inviterUsername": LONG_NAME}, "$.data.inviterUsername"),
    ("GUILD_MEMBER_ADD", {"accountCreatedAt": NAIVE}, "$.data.accountCreatedAt"),
    ("GUILD_MEMBER_ADD", {"accountCreatedAt": -1}, "$.data.accountCreatedAt"),
    ("GUILD_MEMBER_ADD", {"accountCreatedAt": 10**17}, "$.data.accountCreatedAt"),
    ("GUILD_MEMBER_REMOVE", {"username": LONG_NAME}, "$.data.username"),
    ("GUILD_MEMBER_REMOVE", {"joinedAt": NAIVE}, "$.data.joinedAt"),
]


@pytest.mark.parametrize(("type_", "data", "reason"), OUT_OF_BOUNDS_PAYLOADS)
def test_values_out_of_column_bounds_and_naive_datetimes_are_rejected_at_ingest(
    ingest, type_, data, reason
):
    """Too long or large for the column failed the event on PostgreSQL (and wedged its shard);
    a naive datetime crashed the join's accounting. Both are refused, naming the field."""
    test_malformed_invite_events_are_rejected_with_a_reason(ingest, type_, data, reason)


def test_a_naive_datetime_is_rejected_with_a_reason_saying_so(ingest):
    g = snowflake()
    _status, ack = ingest([member_add(g, snowflake(), at(), accountCreatedAt=NAIVE)])
    [rejection] = ack["rejected"]
    assert "timezone" in rejection["error"] and "accountCreatedAt" in rejection["error"]


def test_datetimes_with_a_time_zone_and_epoch_milliseconds_are_accepted(ingest):
    g, inviter = snowflake(), snowflake()
    members = [snowflake() for _ in range(3)]
    accepted(
        ingest,
        [
            member_add(
                g, members[0], at(), inviter=inviter, accountCreatedAt="2020-01-01T00:00:00Z"
            ),
            member_add(
                g, members[1], at(), inviter=inviter, accountCreatedAt="2026-03-27T11:00:00+02:00"
            ),  # an hour before the join: young
            member_add(g, members[2], at(), inviter=inviter, accountCreatedAt=ms(ORIGIN)),
            invite_create(g, "tz", inviter, at(), createdAt="2026-03-27T12:00:00+02:00"),
        ],
    )
    assert [row[2:4] for row in joins(g)] == [
        ("regular", ""),
        ("fake", "young_account"),
        ("fake", "young_account"),
    ]
    assert Invite.objects.get(guild_id=int(g), code="tz").invite_created_at == ORIGIN
