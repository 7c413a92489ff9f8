"""Late reports through the ingest endpoint: an INVITE_USE processed after the member's leave
(or rejoin) completes the join the member was in at its time, and counts nothing twice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from invites.models import GuildGrowthDaily, Invite, MemberJoin, MemberLifecycle
from tests.factories import invite_use, member_add, member_remove, snowflake
from tests.invites.helpers import ORIGIN, accepted, at, counts, joins

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


def lifecycle(g: str, member: str) -> tuple[int, int, int, bool]:
    life = MemberLifecycle.objects.get(guild_id=int(g), user_id=int(member))
    return (life.join_count, life.rejoin_count, life.leave_count, life.is_present)


def test_an_invite_use_processed_after_the_leave_completes_the_join_that_left(ingest):
    """The add (no inviter), then the leave, then the INVITE_USE stamped between them: one
    join, which has left; credited to the inviter, then counted as a leave."""
    g, inviter, member = snowflake(), snowflake(), snowflake()
    accepted(ingest, [member_add(g, member, at())])
    accepted(ingest, [member_remove(g, member, at(seconds=5))])
    accepted(ingest, [invite_use(g, "abc", inviter, member, at(seconds=1))])
    assert joins(g) == [(int(member), int(inviter), "regular", "", ORIGIN + timedelta(seconds=5))]
    assert MemberJoin.objects.get(guild_id=int(g)).leave_counted
    assert counts(g) == {int(inviter): (1, 1, 0, 0, 0)}
    assert lifecycle(g, member) == (1, 0, 1, False)
    growth = GuildGrowthDaily.objects.get(guild_id=int(g))
    assert (growth.joins, growth.leaves) == (1, 1)
    assert Invite.objects.get(guild_id=int(g), code="abc").uses == 1


def test_a_late_invite_use_of_a_join_whose_inviter_was_known_counts_nothing_twice(ingest):
    g, inviter, member = snowflake(), snowflake(), snowflake()
    accepted(ingest, [member_add(g, member, at(), inviter=inviter, code="abc")])
    accepted(ingest, [member_remove(g, member, at(seconds=5))])
    accepted(ingest, [invite_use(g, "abc", inviter, member, at(seconds=1), uses=1)])
    assert len(joins(g)) == 1
    assert Invite.objects.get(guild_id=int(g), code="abc").uses == 1
    assert counts(g) == {int(inviter): (1, 1, 0, 0, 0)}
    assert lifecycle(g, member) == (1, 0, 1, False)


def test_a_late_invite_use_goes_to_the_join_the_member_was_in_at_its_time(ingest):
    """Join, leave 10 s later, rejoin 10 s after that (through bob): alice's INVITE_USE,
    processed last, completes the first join; a report after a leave never reopens a join."""
    g, alice, bob, member = snowflake(), snowflake(), snowflake(), snowflake()
    accepted(
        ingest,
        [
            member_add(g, member, at()),
            member_remove(g, member, at(seconds=10)),
            member_add(g, member, at(seconds=20), inviter=bob, code="bob"),
        ],
    )
    accepted(ingest, [invite_use(g, "alice", alice, member, at(seconds=1))])
    assert joins(g) == [
        (int(member), int(alice), "regular", "", ORIGIN + timedelta(seconds=10)),
        (int(member), int(bob), "regular", "", None),
    ]
    assert counts(g)[int(alice)] == (1, 1, 0, 0, 0)
    assert lifecycle(g, member) == (2, 1, 1, True)
    # an INVITE_USE stamped after the leave, with no join after it: a join of its own
    g2 = snowflake()
    accepted(ingest, [member_add(g2, member, at()), member_remove(g2, member, at(seconds=5))])
    accepted(ingest, [invite_use(g2, "late", alice, member, at(seconds=6))])
    assert [row[4] for row in joins(g2)] == [ORIGIN + timedelta(seconds=5), None]
