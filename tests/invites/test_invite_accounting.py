"""Invites, who invited whom and inviter accounting through the ingest endpoint: regular,
leaves, fakes (self-invites, young accounts, rejoins), bonus, vanity joins; the member
lifecycle and daily growth."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from invites.models import GuildGrowthDaily, Invite, InviterStats, InviteSettings, MemberLifecycle
from invites.services.accounting import snowflake_time
from tests.factories import (
    GuildFactory,
    event,
    invite_create,
    invite_use,
    member_add,
    member_remove,
    snowflake,
)
from tests.invites.helpers import ORIGIN, accepted, account_created, at, counts, joins

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


def test_invites_are_created_used_and_deleted(ingest):
    g, inviter, member = snowflake(), snowflake(), snowflake()
    accepted(
        ingest,
        [
            invite_create(g, "abc", inviter, at(), maxUses=10, maxAge=3600),
            invite_create(g, "forever", inviter, at(minutes=1)),
            member_add(g, member, at(minutes=2), inviter=inviter, code="abc"),
            event("INVITE_DELETE", g, at(minutes=3), data={"code": "forever"}),
        ],
    )
    abc = Invite.objects.get(guild_id=int(g), code="abc")
    assert (abc.inviter_id, abc.uses, abc.max_uses, abc.max_age) == (int(inviter), 1, 10, 3600)
    assert abc.channel_id == 300000000000000001
    assert abc.invite_created_at == ORIGIN
    assert abc.expires_at == ORIGIN + timedelta(hours=1)
    assert abc.deleted_at is None
    forever = Invite.objects.get(guild_id=int(g), code="forever")
    assert (forever.expires_at, forever.deleted_at) == (None, ORIGIN + timedelta(minutes=3))


def test_invite_use_and_member_add_of_one_join_count_once(ingest):
    """The bot sends INVITE_USE then GUILD_MEMBER_ADD for one join (seed example 3)."""
    g, inviter, member = snowflake(), snowflake(), snowflake()
    accepted(
        ingest,
        [
            invite_create(g, "abc", inviter, at()),
            invite_use(g, "abc", inviter, member, at(minutes=1), uses=1, maxUses=0),
            member_add(g, member, at(minutes=1, seconds=1), inviter=inviter, code="abc"),
        ],
    )
    assert counts(g) == {int(inviter): (1, 0, 0, 0, 1)}
    assert joins(g) == [(int(member), int(inviter), "regular", "", None)]
    assert Invite.objects.get(guild_id=int(g), code="abc").uses == 1
    assert MemberLifecycle.objects.get(guild_id=int(g), user_id=int(member)).join_count == 1
    assert GuildGrowthDaily.objects.get(guild_id=int(g)).joins == 1


def test_a_member_add_without_inviter_is_completed_by_a_later_invite_use(ingest):
    g, inviter, member = snowflake(), snowflake(), snowflake()
    accepted(ingest, [member_add(g, member, at())])
    assert joins(g) == [(int(member), None, "unknown", "", None)]
    accepted(ingest, [invite_use(g, "xyz", inviter, member, at(seconds=5), uses=3)])
    assert joins(g) == [(int(member), int(inviter), "regular", "", None)]
    assert counts(g) == {int(inviter): (1, 0, 0, 0, 1)}
    assert Invite.objects.get(guild_id=int(g), code="xyz").uses == 3  # Discord's count wins


def test_leaves_fakes_and_bonus_add_up(ingest):
    """Alice invites herself (fake), a two-day-old account (fake), a member who then leaves
    (leave) and two who stay; an admin grants a bonus of 3.
    total = regular + bonus - leaves - fakes = 5 + 3 - 1 - 2."""
    g, alice = snowflake(), snowflake()
    stays1, stays2, leaver = snowflake(), snowflake(), snowflake()
    young = account_created(ORIGIN - timedelta(days=2))
    accepted(
        ingest,
        [
            member_add(g, stays1, at(minutes=1), inviter=alice, code="a"),
            member_add(g, stays2, at(minutes=2), inviter=alice, code="a"),
            member_add(g, leaver, at(minutes=3), inviter=alice, code="a"),
            member_add(g, young, at(minutes=4), inviter=alice, code="a"),
            member_add(g, alice, at(minutes=5), inviter=alice, code="a"),
            member_remove(g, leaver, at(hours=1)),
            member_remove(g, young, at(hours=2)),  # a fake's leave is not charged again
        ],
    )
    InviterStats.objects.filter(guild_id=int(g), inviter_id=int(alice)).update(bonus=3)
    assert counts(g) == {int(alice): (5, 1, 2, 3, 5)}
    kinds = {row[0]: row[2:4] for row in joins(g)}
    assert kinds == {
        int(stays1): ("regular", ""),
        int(stays2): ("regular", ""),
        int(leaver): ("regular", ""),
        int(young): ("fake", "young_account"),
        int(alice): ("fake", "self_invite"),
    }
    assert Invite.objects.get(guild_id=int(g), code="a").uses == 5


def test_the_fake_account_age_is_configurable_per_guild(ingest, guildstats_settings):
    guild = GuildFactory()
    g, inviter = str(guild.guild_id), snowflake()
    ten_days = account_created(ORIGIN - timedelta(days=10))
    other = account_created(ORIGIN - timedelta(days=10))
    accepted(ingest, [member_add(g, ten_days, at(), inviter=inviter)])  # default 7 days
    InviteSettings.objects.create(guild_id=int(g), fake_account_days=30)
    accepted(ingest, [member_add(g, other, at(minutes=1), inviter=inviter)])
    assert [row[2:4] for row in joins(g)] == [("regular", ""), ("fake", "young_account")]
    guildstats_settings(INVITE_FAKE_ACCOUNT_DAYS=1)  # the default for guilds without a row
    g2, young_by_data = snowflake(), snowflake()
    accepted(
        ingest,
        [
            member_add(
                g2,
                young_by_data,  # an old id, but the bot says the account is 12 hours old
                at(),
                inviter=inviter,
                accountCreatedAt=(ORIGIN - timedelta(hours=12)).isoformat(),
            )
        ],
    )
    assert [row[2:4] for row in joins(g2)] == [("fake", "young_account")]


def test_snowflake_time():
    assert snowflake_time(175928847299117063) == datetime(2016, 4, 30, 11, 18, 25, 796000, UTC)


def test_a_rejoin_of_a_member_already_counted_is_fake_and_the_lifecycle_counts_it(ingest):
    g, alice, bob, member = snowflake(), snowflake(), snowflake(), snowflake()
    accepted(
        ingest,
        [
            member_add(g, member, at(), inviter=alice),
            member_remove(g, member, at(days=1)),
            member_add(g, member, at(days=2), inviter=bob),
        ],
    )
    assert counts(g) == {int(alice): (1, 1, 0, 0, 0), int(bob): (1, 0, 1, 0, 0)}
    assert [row[1:4] for row in joins(g)] == [
        (int(alice), "regular", ""),
        (int(bob), "fake", "rejoin"),
    ]
    life = MemberLifecycle.objects.get(guild_id=int(g), user_id=int(member))
    assert (life.first_joined_at, life.last_joined_at, life.left_at) == (
        ORIGIN,
        ORIGIN + timedelta(days=2),
        ORIGIN + timedelta(days=1),
    )
    assert (life.join_count, life.rejoin_count, life.leave_count, life.is_present) == (
        2,
        1,
        1,
        True,
    )


def test_vanity_and_bot_joins_are_credited_to_nobody(ingest):
    g, member, bot, inviter = snowflake(), snowflake(), snowflake(), snowflake()
    accepted(
        ingest,
        [
            member_add(g, member, at(), vanity=True, inviteCode="myserver"),
            member_add(g, bot, at(minutes=1), inviter=inviter, bot=True),
            member_remove(g, member, at(minutes=2)),
        ],
    )
    assert counts(g) == {}
    assert [row[2] for row in joins(g)] == ["vanity", "bot"]
    assert not Invite.objects.filter(guild_id=int(g)).exists()


def test_a_join_reported_twice_by_the_same_source_counts_once(ingest):
    g, inviter, member = snowflake(), snowflake(), snowflake()
    accepted(ingest, [member_add(g, member, at(), inviter=inviter) | {"id": "first"}])
    accepted(ingest, [member_add(g, member, at(seconds=2), inviter=inviter) | {"id": "again"}])
    accepted(ingest, [member_remove(g, member, at(minutes=1)) | {"id": "leave-1"}])
    accepted(ingest, [member_remove(g, member, at(minutes=1, seconds=3)) | {"id": "leave-2"}])
    assert counts(g) == {int(inviter): (1, 1, 0, 0, 0)}
    assert GuildGrowthDaily.objects.get(guild_id=int(g)).joins == 1
    assert GuildGrowthDaily.objects.get(guild_id=int(g)).leaves == 1


def test_growth_per_day_follows_the_guild_timezone(ingest):
    guild = GuildFactory(timezone="America/New_York")
    g = str(guild.guild_id)
    a, b, c = snowflake(), snowflake(), snowflake()
    accepted(
        ingest,
        [
            member_add(g, a, at()),  # 27th, 06:00 in New York
            member_add(g, b, at(hours=15)),  # 28th 01:00 UTC = 27th 21:00 in New York
            member_add(g, c, at(hours=20)),  # 28th
            member_remove(g, a, at(hours=21)),
            member_remove(g, snowflake(), at(hours=22)),  # joined before we tracked
        ],
    )
    rows = {
        r.day: (r.joins, r.leaves, r.net) for r in GuildGrowthDaily.objects.filter(guild_id=int(g))
    }
    assert rows == {date(2026, 3, 27): (2, 0, 2), date(2026, 3, 28): (1, 2, -1)}
