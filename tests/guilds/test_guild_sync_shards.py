"""GUILD_SYNC per shard and per bot: a sync marks inactive only the unlisted guilds of its own
Discord shard (``(guild_id >> 22) % shardCount == shardId``) and bot token; without
``shardCount`` it covers every guild of its bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from guilds.models import BotToken, Guild
from guilds.services import create_bot_token
from tests.factories import GuildFactory, event, ms

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(ORIGIN, tick=False):
        yield


def at(**delta: float) -> int:
    return ms(ORIGIN + timedelta(**delta))


def on_shard(shard: int, n: int, count: int = 2) -> str:
    """A guild id on Discord shard ``shard`` of ``count`` (its creation time picks the shard)."""
    return str(((1_000_000 + n * count + shard) << 22) | 7)


def sync(guild_ids: list[str], ts: int, *, shard: int | None, count: int | None) -> dict:
    data: dict[str, Any] = {"guilds": [{"id": g, "name": f"g{g[-4:]}"} for g in guild_ids]}
    if count is not None:
        data["shardCount"] = count
    extra = {} if shard is None else {"shardId": shard}
    return event("GUILD_SYNC", guild_ids[0], ts, data=data, **extra)


def registry() -> dict[int, tuple[bool, str | None, int | None]]:
    """guild -> (active, the bot token's name, shard)."""
    return {
        g.guild_id: (g.is_active, g.bot_token.name if g.bot_token else None, g.shard_id)
        for g in Guild.objects.select_related("bot_token")
    }


def accepted(ingest, events: list[dict], **kwargs: Any) -> None:
    status, ack = ingest(events, **kwargs)
    assert (status, ack["rejected"], ack["accepted"]) == (200, [], len(events)), ack


def test_two_shards_syncing_alternately_keep_each_others_guilds(ingest):
    a1, a2, b1, b2 = on_shard(0, 1), on_shard(0, 2), on_shard(1, 1), on_shard(1, 2)
    accepted(ingest, [sync([a1, a2], at(), shard=0, count=2)])
    accepted(ingest, [sync([b1, b2], at(seconds=1), shard=1, count=2)])
    accepted(ingest, [sync([a1, a2], at(minutes=1), shard=0, count=2)])
    accepted(ingest, [sync([b1, b2], at(minutes=1, seconds=1), shard=1, count=2)])
    bot = "test bot"
    assert registry() == {
        int(a1): (True, bot, 0),
        int(a2): (True, bot, 0),
        int(b1): (True, bot, 1),
        int(b2): (True, bot, 1),
    }


def test_a_guild_missing_from_its_own_shards_list_is_deactivated(ingest):
    a1, a2, b1 = on_shard(0, 1), on_shard(0, 2), on_shard(1, 1)
    legacy_a, legacy_b = on_shard(0, 3), on_shard(1, 3)  # rows from before bot tokens were kept
    accepted(ingest, [sync([b1], at(), shard=1, count=2)])
    GuildFactory(guild_id=int(legacy_a))
    GuildFactory(guild_id=int(legacy_b))
    accepted(ingest, [sync([a1, a2], at(seconds=1), shard=0, count=2)])
    accepted(ingest, [sync([a1], at(minutes=1), shard=0, count=2)])  # left a2
    assert registry() == {
        int(a1): (True, "test bot", 0),
        int(a2): (False, "test bot", 0),
        int(b1): (True, "test bot", 1),
        int(legacy_a): (False, None, None),  # shard 0, no bot recorded: shard 0's to judge
        int(legacy_b): (True, None, None),  # shard 1: untouched by shard 0
    }


def test_two_bot_tokens_do_not_interfere(ingest):
    _row, other = create_bot_token("other bot")
    mine, theirs, shared = on_shard(0, 1), on_shard(0, 2), on_shard(0, 3)
    accepted(ingest, [sync([mine, shared], at(), shard=0, count=1)])
    accepted(ingest, [sync([theirs], at(seconds=1), shard=0, count=1)], token=other)
    assert registry() == {
        int(mine): (True, "test bot", 0),
        int(shared): (True, "test bot", 0),
        int(theirs): (True, "other bot", 0),
    }
    # the other bot now also lists the shared guild: it becomes the guild's last lister
    accepted(ingest, [sync([theirs, shared], at(minutes=1), shard=0, count=1)], token=other)
    accepted(ingest, [sync([mine], at(minutes=2), shard=0, count=1)])
    assert registry() == {
        int(mine): (True, "test bot", 0),
        int(shared): (True, "other bot", 0),  # not this bot's to deactivate any more
        int(theirs): (True, "other bot", 0),
    }
    accepted(ingest, [sync([theirs], at(minutes=3), shard=0, count=1)], token=other)
    assert registry()[int(shared)] == (False, "other bot", 0)
    assert BotToken.objects.count() == 2


def test_a_legacy_sync_without_shard_count_deactivates_the_unlisted_guilds_of_its_bot(ingest):
    _row, other = create_bot_token("other bot")
    kept, gone, theirs = on_shard(0, 1), on_shard(1, 1), on_shard(1, 2)
    legacy = GuildFactory(guild_id=int(on_shard(1, 3)))
    accepted(ingest, [sync([kept, gone], at(), shard=None, count=None)])
    accepted(ingest, [sync([theirs], at(seconds=1), shard=None, count=None)], token=other)
    accepted(ingest, [sync([kept], at(minutes=1), shard=None, count=None)])
    assert registry() == {
        int(kept): (True, "test bot", None),
        int(gone): (False, "test bot", None),  # any shard: the sync covers the whole bot
        int(theirs): (True, "other bot", None),
        legacy.guild_id: (False, None, None),
    }


def test_several_shards_without_a_shard_id_deactivate_nothing(ingest):
    a1, b1 = on_shard(0, 1), on_shard(1, 1)
    accepted(ingest, [sync([a1, b1], at(), shard=None, count=None)])
    accepted(ingest, [sync([a1], at(minutes=1), shard=None, count=2)])
    assert registry() == {int(a1): (True, "test bot", None), int(b1): (True, "test bot", None)}


@pytest.mark.parametrize(
    ("count", "reason"),
    [
        (0, "data: Expected `int` >= 1 - at `$.data.shardCount`"),
        (2**16 + 1, "data: Expected `int` <= 65536 - at `$.data.shardCount`"),
        ("2", "data: Expected `int | null`, got `str` - at `$.data.shardCount`"),
    ],
)
def test_a_bad_shard_count_is_rejected_with_a_reason(ingest, count, reason):
    _status, ack = ingest([sync([on_shard(0, 1)], at(), shard=0, count=count)])
    assert (ack["accepted"], ack["rejected"]) == (0, [{"index": 0, "error": reason}])
