"""An event that passed ingest but fails at processing (a row stored before today's bounds, a
value the database refuses, a bug) is rolled back alone, logged and skipped: the rest of its
chunk and the later batches of its shard are applied, nothing stays pending, and it takes no
case number. Legacy rows are simulated by installing the old, unbounded schemas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from guildstats_contract.actions import BanData
from guildstats_contract.payloads import DATA_SCHEMAS

from moderation.models import ModerationCase
from pipeline.models import IngestBatch
from tests.conftest import on_postgres
from tests.factories import audit_entry, ban, ms, snowflake

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)


class LegacyBanData(BanData, rename="camel"):
    """BanData before names were bounded and nested snowflakes checked."""

    _snowflakes = ("target_user_id",)
    target_username: str = ""
    moderator_username: str | None = None


@pytest.fixture(autouse=True)
def _legacy_ban_schema(guildstats_settings, monkeypatch):
    guildstats_settings(RAW_RETENTION_DAYS=100_000)
    monkeypatch.setitem(DATA_SCHEMAS, "GUILD_BAN_ADD", LegacyBanData)
    monkeypatch.setattr("moderation.services.reports.BanData", LegacyBanData)


def at(**delta: float) -> int:
    return ms(ORIGIN + timedelta(**delta))


def cases(guild: str) -> list[tuple[Any, ...]]:
    return list(
        ModerationCase.objects.filter(guild_id=int(guild))
        .order_by("case_number")
        .values_list("case_number", "action", "target_user_id")
    )


def send(ingest, events: list[dict[str, Any]]) -> None:
    status, ack = ingest(events)
    assert (status, ack["rejected"], ack["accepted"]) == (200, [], len(events)), ack


def check_good_events_applied(ingest, g: str, bad: dict[str, Any]) -> None:
    good = [snowflake() for _ in range(4)]
    send(
        ingest,
        [
            ban(g, good[0], at()),
            bad,
            ban(g, good[1], at(seconds=2)),
            audit_entry(g, "MEMBER_KICK", at(seconds=3), target=good[2]),
        ],
    )
    send(ingest, [ban(g, good[3], at(minutes=1))])  # a later batch of the same shard
    assert cases(g) == [
        (1, "BAN", int(good[0])),
        (2, "BAN", int(good[1])),
        (3, "KICK", int(good[2])),
        (4, "BAN", int(good[3])),
    ]
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()


def test_an_id_too_large_for_bigint_is_skipped_without_a_gap_in_the_numbers(ingest):
    """SQLite: OverflowError; PostgreSQL: DataError (bigint out of range)."""
    g = snowflake()
    bad = ban(g, snowflake(), at(seconds=1))
    bad["data"]["moderatorId"] = "9" * 25
    check_good_events_applied(ingest, g, bad)


@pytest.mark.postgres
def test_a_name_too_long_for_its_column_is_skipped_on_postgres(ingest):
    """varchar(255): the DataError aborted the chunk's transaction and wedged the shard."""
    assert on_postgres()
    g = snowflake()
    bad = ban(g, snowflake(), at(seconds=1))
    bad["data"]["targetUsername"] = "x" * 300
    check_good_events_applied(ingest, g, bad)


def test_a_failing_event_keeps_no_part_of_its_writes(ingest, monkeypatch):
    """A failure after the case was written (here: a bug in the merge) leaves no case."""
    from moderation.services import cases as services

    g, target = snowflake(), snowflake()

    def broken_merge(case: ModerationCase, report: services.Report) -> None:
        case.reason = "half-merged"
        case.save()
        raise RuntimeError("bug")

    monkeypatch.setattr(services, "_merge", broken_merge)
    send(
        ingest,
        [
            ban(g, target, at(), reason="spam"),
            audit_entry(g, "MEMBER_BAN_ADD", at(seconds=1), target=target, reason="audit"),
            ban(g, snowflake(), at(seconds=2)),
        ],
    )
    assert [c[1:] for c in cases(g)] == [("BAN", int(target)), ("BAN", cases(g)[1][2])]
    assert ModerationCase.objects.get(guild_id=int(g), case_number=1).reason == "spam"
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
