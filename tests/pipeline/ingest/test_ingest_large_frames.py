"""Frames large enough for PostgreSQL's direct COPY into ``events`` (``core.sql``: a frame of
new events is copied straight in; one the unique index refuses, a resend, takes the
``ON CONFLICT DO NOTHING`` path). The same tests run on SQLite, which has only the second."""

from __future__ import annotations

import pytest

from core.sql import PG_COPY_MIN_ROWS
from pipeline.models import Event, IngestBatch
from tests.factories import message, ms, snowflake
from tests.stats import tables

pytestmark = pytest.mark.django_db(transaction=True)

SIZE = PG_COPY_MIN_ROWS + 70
BASE = ms(ago=3600)  # one origin for every frame of the module: a resend has the same times


def frame(guild: str, user: str, channel: str, first: int, count: int) -> list[dict]:
    """Messages ``first`` to ``first + count``: the same numbers are the same events."""
    return [
        {**message(guild, user, channel, BASE + i), "messageId": str(int(guild) + i)}
        for i in range(first, first + count)
    ]


def stored() -> list[tuple]:
    return list(Event.objects.order_by("timestamp").values_list("guild_id", "user_id", "timestamp"))


def messages_of(guild: str, user: str) -> int:
    return tables.all_members()[(int(guild), int(user))][0]


def test_a_large_frame_is_stored_whole_then_its_resend_changes_nothing(ingest):
    guild, user, channel = snowflake(), snowflake(), snowflake()
    batch = frame(guild, user, channel, 0, SIZE)
    status, ack = ingest(batch)
    assert (status, ack["accepted"], ack["duplicates"], ack["rejected"]) == (200, SIZE, 0, [])
    first = stored()
    assert len(first) == SIZE
    assert messages_of(guild, user) == SIZE

    status, ack = ingest(batch)
    assert (status, ack["accepted"], ack["duplicates"]) == (200, 0, SIZE)
    assert stored() == first
    assert messages_of(guild, user) == SIZE
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()


def test_a_frame_overlapping_a_stored_one_stores_only_its_new_events(ingest):
    guild, user, channel = snowflake(), snowflake(), snowflake()
    ingest(frame(guild, user, channel, 0, SIZE))
    # the bot's spool resends the second half with as many new events after it
    status, ack = ingest(frame(guild, user, channel, SIZE // 2, SIZE))
    new = SIZE // 2
    assert (status, ack["accepted"], ack["duplicates"]) == (200, new, SIZE - new)
    assert len(stored()) == SIZE + new
    assert messages_of(guild, user) == SIZE + new


def test_the_same_event_twice_in_a_large_frame_is_stored_once(ingest):
    guild, user, channel = snowflake(), snowflake(), snowflake()
    batch = frame(guild, user, channel, 0, SIZE)
    status, ack = ingest([*batch, batch[7]])
    assert (status, ack["accepted"], ack["duplicates"]) == (200, SIZE, 1)
    assert len(stored()) == SIZE
    assert messages_of(guild, user) == SIZE


def test_a_resend_that_is_new_for_one_guild_only_counts_that_guild(ingest, guildstats_settings):
    guildstats_settings(PROCESSING_SHARDS=2)
    old, new = snowflake(), snowflake()
    while int(new) % 2 == int(old) % 2:  # the two guilds in different shards of the frame
        new = snowflake()
    user, channel = snowflake(), snowflake()
    ingest(frame(old, user, channel, 0, SIZE))
    status, ack = ingest([*frame(old, user, channel, 0, SIZE), *frame(new, user, channel, 0, SIZE)])
    assert (status, ack["accepted"], ack["duplicates"]) == (200, SIZE, SIZE)
    assert (messages_of(old, user), messages_of(new, user)) == (SIZE, SIZE)
    assert sorted(Event.objects.values_list("guild_id", flat=True).distinct()) == sorted(
        [int(old), int(new)]
    )
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()


@pytest.mark.postgres
def test_postgres_copies_new_frames_straight_in_and_falls_back_only_on_a_conflict(
    ingest, monkeypatch
):
    from core import sql

    outcomes: list[bool] = []
    copy = sql._copy_unless_conflict

    def spy(*args, **kwargs):
        outcomes.append(copy(*args, **kwargs))
        return outcomes[-1]

    monkeypatch.setattr(sql, "_copy_unless_conflict", spy)
    guild, user, channel = snowflake(), snowflake(), snowflake()
    ingest(frame(guild, user, channel, 0, SIZE))
    ingest(frame(guild, user, channel, SIZE, SIZE))
    status, ack = ingest(frame(guild, user, channel, SIZE // 2, SIZE))  # half of it stored
    assert outcomes == [True, True, False]
    assert (status, ack["accepted"], ack["duplicates"]) == (200, 0, SIZE)
    assert len(stored()) == 2 * SIZE
    assert messages_of(guild, user) == 2 * SIZE
