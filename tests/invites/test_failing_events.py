"""An invite or membership event that passed ingest but fails at processing (a row stored
before today's bounds, a value the database refuses, a bug) is rolled back alone, logged and
skipped: none of its writes stay (an inviter uncredited, a join without its lifecycle), the
rest of its chunk and the later batches of its shard are applied, nothing stays pending.
Legacy rows are simulated by installing the old, unbounded schemas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from guildstats_contract.actions import InviteCreateData, InviteUseData, MemberAddData
from guildstats_contract.payloads import DATA_SCHEMAS

from invites.models import GuildGrowthDaily, Invite, InviterStats, MemberJoin, MemberLifecycle
from pipeline.models import IngestBatch
from tests.conftest import on_postgres
from tests.factories import invite_create, invite_use, member_add, member_remove, ms, snowflake

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)


class LegacyInviteCreateData(InviteCreateData, rename="camel"):
    inviter_username: str | None = None
    max_uses: int = 0
    max_age: int = 0
    uses: int = 0


class LegacyInviteUseData(InviteUseData, rename="camel"):
    inviter_username: str | None = None
    uses: int | None = None
    max_uses: int | None = None


class LegacyMemberAddData(MemberAddData, rename="camel"):
    account_created_at: datetime | int | None = None  # naive datetimes were accepted


@pytest.fixture(autouse=True)
def _legacy_schemas(guildstats_settings, monkeypatch):
    guildstats_settings(RAW_RETENTION_DAYS=100_000)
    for type_, module_name, legacy in (
        ("INVITE_CREATE", "InviteCreateData", LegacyInviteCreateData),
        ("INVITE_USE", "InviteUseData", LegacyInviteUseData),
        ("GUILD_MEMBER_ADD", "MemberAddData", LegacyMemberAddData),
    ):
        monkeypatch.setitem(DATA_SCHEMAS, type_, legacy)
        monkeypatch.setattr(f"invites.services.joins.{module_name}", legacy)


def at(**delta: float) -> int:
    return ms(ORIGIN + timedelta(**delta))


def send(ingest, events: list[dict[str, Any]]) -> None:
    status, ack = ingest(events)
    assert (status, ack["rejected"], ack["accepted"]) == (200, [], len(events)), ack


def counts(g: str) -> dict[int, tuple[int, int, int]]:
    return {
        r.inviter_id: (r.regular, r.leaves, r.fakes)
        for r in InviterStats.objects.filter(guild_id=int(g))
    }


def check_skipped_alone(ingest, g: str, bad: list[dict[str, Any]], bad_member: str) -> None:
    """``bad`` (failing events, the first about ``bad_member``) between good events, in one
    batch, then a later batch: the good ones are applied, the bad ones leave nothing."""
    inviter, first, second, third = snowflake(), snowflake(), snowflake(), snowflake()
    send(
        ingest,
        [
            member_add(g, first, at(), inviter=inviter, code="good"),
            *bad,
            member_add(g, second, at(minutes=2), inviter=inviter, code="good"),
        ],
    )
    send(
        ingest,
        [
            member_add(g, third, at(minutes=3), inviter=inviter, code="good"),
            member_remove(g, first, at(minutes=4)),
        ],
    )
    assert counts(g) == {int(inviter): (3, 1, 0)}
    assert Invite.objects.get(guild_id=int(g), code="good").uses == 3
    assert not MemberJoin.objects.filter(guild_id=int(g), user_id=int(bad_member)).exists()
    assert not MemberLifecycle.objects.filter(guild_id=int(g), user_id=int(bad_member)).exists()
    growth = GuildGrowthDaily.objects.get(guild_id=int(g))
    assert (growth.joins, growth.leaves) == (3, 1)
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()


def test_a_count_too_large_for_the_database_is_skipped_with_all_its_writes(ingest):
    """INVITE_USE joins the member, credits the inviter and counts the use, then fails on
    Discord's ``uses`` (SQLite: OverflowError; PostgreSQL: integer out of range): the join,
    the credit and the lifecycle row go with it."""
    g, other, member = snowflake(), snowflake(), snowflake()
    bad = [invite_use(g, "bad", other, member, at(minutes=1), uses=2**64)]
    check_skipped_alone(ingest, g, bad, member)
    assert not Invite.objects.filter(guild_id=int(g), code="bad").exists()


@pytest.mark.postgres
def test_values_out_of_the_column_bounds_are_skipped_on_postgres(ingest):
    """The review's cases: each DataError aborted the chunk's transaction, so the shard never
    got past it."""
    assert on_postgres()
    g, other, member = snowflake(), snowflake(), snowflake()
    bad = [
        invite_use(g, "use", other, member, at(minutes=1), uses=3_000_000_000),
        invite_create(g, "uses", other, at(minutes=1), uses=2**40),
        invite_create(g, "age", other, at(minutes=1), maxAge=2**33),
        invite_create(g, "max", other, at(minutes=1), maxUses=2**31),
        invite_create(g, "name", other, at(minutes=1), inviterUsername="x" * 300),
        invite_use(g, "long", other, snowflake(), at(minutes=1), inviterUsername="x" * 300),
    ]
    check_skipped_alone(ingest, g, bad, member)
    assert set(Invite.objects.filter(guild_id=int(g)).values_list("code", flat=True)) == {"good"}


def test_a_naive_account_time_from_a_legacy_row_leaves_the_inviter_credited(ingest):
    """INVITE_USE credits the inviter; the add of the same join (a naive accountCreatedAt,
    stored before ingest refused it) took the credit back, then crashed re-classifying the
    join: the inviter stayed uncredited while the join said regular. Now the add is rolled
    back alone."""
    g, inviter, member = snowflake(), snowflake(), snowflake()
    send(
        ingest,
        [
            invite_use(g, "abc", inviter, member, at()),
            member_add(
                g, member, at(seconds=1), inviter=inviter, accountCreatedAt="2020-01-01T00:00:00"
            ),
            member_add(g, snowflake(), at(seconds=2), inviter=inviter, code="abc"),
        ],
    )
    join = MemberJoin.objects.get(guild_id=int(g), user_id=int(member))
    assert (join.kind, join.member_add_event_id) == ("regular", None)
    assert counts(g) == {int(inviter): (2, 0, 0)}
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
