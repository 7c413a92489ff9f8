"""Invite attribution: credit only when the diff says exactly one, say why otherwise."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from guildstats_collector.invites import FetchFailed, InviteState, InviteTracker

pytestmark = pytest.mark.asyncio

GUILD = SimpleNamespace(id=1300000000000000100)
OWNER = 1300000000000000201


def inv(code: str, uses: int, max_uses: int = 0) -> InviteState:
    return InviteState(code, uses, max_uses, OWNER, "owner")


class Discord:
    def __init__(self, invites: dict[str, InviteState], vanity: int | None = None) -> None:
        self.invites, self.vanity = invites, vanity
        self.fail: FetchFailed | None = None

    async def __call__(self, guild):
        await asyncio.sleep(0)
        if self.fail:
            raise self.fail
        return dict(self.invites), self.vanity


async def tracker(discord: Discord) -> InviteTracker:
    t = InviteTracker(discord)
    assert await t.refresh(GUILD) is not None
    return t


async def test_one_invite_up_by_one_is_credited():
    discord = Discord({"a": inv("a", 3), "b": inv("b", 5)})
    t = await tracker(discord)
    discord.invites = {"a": inv("a", 4), "b": inv("b", 5)}
    found = await t.attribute(GUILD)
    assert found.member_add_fields() == {
        "inviteAttribution": "invite",
        "inviteCode": "a",
        "inviterId": str(OWNER),
        "inviterUsername": "owner",
    }
    assert found.invite_use_fields() == {
        "code": "a",
        "inviterId": str(OWNER),
        "inviterUsername": "owner",
        "uses": 4,
        "maxUses": None,
    }


async def test_a_new_invite_used_once_is_credited():
    discord = Discord({})
    t = await tracker(discord)
    t.created(GUILD.id, inv("n", 0))
    discord.invites = {"n": inv("n", 1)}
    assert (await t.attribute(GUILD)).invite.code == "n"


async def test_the_vanity_url():
    discord = Discord({"a": inv("a", 3)}, vanity=10)
    t = await tracker(discord)
    discord.vanity = 11
    assert (await t.attribute(GUILD)).member_add_fields() == {
        "inviteAttribution": "vanity",
        "vanity": True,
        "inviteType": "vanity",
    }


async def test_an_invite_gone_at_its_last_use():
    discord = Discord({"last": inv("last", 4, max_uses=5), "b": inv("b", 1)})
    t = await tracker(discord)
    t.deleted(GUILD.id, "last")  # Discord deletes it when the 5th use is made
    discord.invites = {"b": inv("b", 1)}
    found = await t.attribute(GUILD)
    assert (found.kind, found.invite.code, found.invite.uses) == ("invite", "last", 5)


async def test_an_invite_deleted_by_hand_explains_nothing():
    discord = Discord({"x": inv("x", 1, max_uses=10)})
    t = await tracker(discord)
    t.deleted(GUILD.id, "x")
    discord.invites = {}
    found = await t.attribute(GUILD)
    assert found.member_add_fields() == {
        "inviteAttribution": "unknown",
        "attributionReason": "not_found",
    }


async def test_two_candidates_are_ambiguous():
    discord = Discord({"a": inv("a", 1), "b": inv("b", 1)})
    t = await tracker(discord)
    discord.invites = {"a": inv("a", 2), "b": inv("b", 2)}
    first = await t.attribute(GUILD)
    assert first.member_add_fields() == {
        "inviteAttribution": "ambiguous",
        "inviteCandidates": ["a", "b"],
    }
    # the second of the two joins sees no new rise: ambiguous too, not unknown
    second = await t.attribute(GUILD)
    assert second.kind == "ambiguous"
    third = await t.attribute(GUILD)
    assert third.kind == "unknown"


async def test_one_invite_up_by_two_is_ambiguous():
    discord = Discord({"a": inv("a", 1)})
    t = await tracker(discord)
    discord.invites = {"a": inv("a", 3)}
    assert (await t.attribute(GUILD)).kind == "ambiguous"


async def test_concurrent_joins_are_diffed_one_at_a_time():
    discord = Discord({"a": inv("a", 1), "b": inv("b", 1)})
    t = await tracker(discord)

    async def join(code: str):
        discord.invites = {**discord.invites, code: inv(code, discord.invites[code].uses + 1)}
        return await t.attribute(GUILD)

    results = await asyncio.gather(join("a"), join("b"))
    # both rises land before the first fetch returns: neither join may take a single credit
    assert [r.kind for r in results] == ["ambiguous", "ambiguous"]
    assert results[0].candidates == ("a", "b")


@pytest.mark.parametrize("reason", ["missing_permission", "rate_limited", "fetch_failed"])
async def test_a_failed_fetch_is_unknown_with_the_reason(reason):
    discord = Discord({"a": inv("a", 1)})
    t = await tracker(discord)
    discord.fail = FetchFailed(reason)
    assert (await t.attribute(GUILD)).member_add_fields() == {
        "inviteAttribution": "unknown",
        "attributionReason": reason,
    }


async def test_no_cache_yet_is_unknown():
    discord = Discord({"a": inv("a", 1)})
    t = InviteTracker(discord)
    assert (await t.attribute(GUILD)).kind == "unknown"
    discord.invites = {"a": inv("a", 2)}
    assert (await t.attribute(GUILD)).kind == "invite"  # the first fetch became the cache
