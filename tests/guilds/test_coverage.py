"""COLLECTOR_HEARTBEAT events become per-guild collection windows: heartbeats' spans are
unioned (touching within 5 s merges), so duplicates, replays and any arrival order give the same
windows; a live window stays open two intervals past its newest heartbeat, a stopped one ends
at its stop; a 2,500-guild heartbeat costs a handful of queries."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guilds.models import CollectionWindow
from tests.factories import ms

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
G1, G2, G3 = "730000000000000001", "730000000000000002", "730000000000000003"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(ORIGIN + timedelta(hours=1), tick=False):
        yield


def at(seconds: float) -> int:
    return ms(ORIGIN + timedelta(seconds=seconds))


def beat(
    state: str,
    since: float,
    ts: float,
    guilds: list[str],
    *,
    interval: int = 60,
    shard: int = 0,
    **data: Any,
) -> dict[str, Any]:
    return {
        "type": "COLLECTOR_HEARTBEAT",
        "guildId": guilds[0],
        "timestamp": at(ts),
        "shardId": shard,
        "id": f"hb-{shard}-{state}-{since}-{ts}",
        "data": {
            "state": state,
            "since": at(since),
            "intervalSeconds": interval,
            "shardCount": 1,
            "guildIds": guilds,
            **data,
        },
    }


def windows() -> list[tuple[int, float, float, float]]:
    """(guild, start, end, open until), in seconds from the origin."""

    def s(value: datetime) -> float:
        return (value - ORIGIN).total_seconds()

    return [
        (w.guild_id, s(w.started_at), s(w.ended_at), s(w.open_until))
        for w in CollectionWindow.objects.order_by("guild_id", "started_at")
    ]


def accepted(ingest, events: list[dict[str, Any]]) -> dict[str, Any]:
    status, ack = ingest(events)
    assert (status, ack["rejected"]) == (200, []), ack
    return ack


# A session: start at 0, alive at 60 and 120, stop at 150 (G1, G2); a restart at 152 (within
# the merge gap) that stays alive to 212; then a crash (no stop), a new start at 400.
SESSION = [
    beat("start", 0, 0, [G1, G2]),
    beat("alive", 0, 60, [G1, G2]),
    beat("alive", 60, 120, [G1, G2]),
    beat("stop", 120, 150, [G1, G2]),
    beat("start", 152, 152, [G1]),
    beat("alive", 152, 212, [G1]),
    beat("start", 400, 400, [G1, G3], interval=30),
]
EXPECTED = [
    (int(G1), 0.0, 212.0, 332.0),  # alive: open two intervals past its newest heartbeat
    (int(G1), 400.0, 400.0, 460.0),
    (int(G2), 0.0, 150.0, 150.0),  # stopped: ends at the stop
    (int(G3), 400.0, 400.0, 460.0),
]


def test_a_session_of_heartbeats_makes_merged_windows(ingest):
    for event in SESSION:
        accepted(ingest, [event])
    assert windows() == EXPECTED


def test_duplicates_replays_and_any_order_change_nothing(ingest):
    accepted(ingest, list(reversed(SESSION)))  # one frame, newest first
    assert windows() == EXPECTED
    ack = accepted(ingest, SESSION)  # the same client ids again: duplicates
    assert ack["duplicates"] == len(SESSION)
    resent = [{**e, "id": e["id"] + "-again"} for e in SESSION]  # resent under new ids
    accepted(ingest, resent[3:] + resent[:3])
    assert windows() == EXPECTED


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_a_spool_replayed_out_of_order_gives_the_same_window(ingest, order):
    """Four heartbeats of one shard, sent one frame each in every order: one window."""
    beats = [
        beat("start", 0, 0, [G1]),
        beat("alive", 0, 60, [G1]),
        beat("alive", 60, 120, [G1]),
        beat("alive", 120, 180, [G1]),
    ]
    for index in order:
        accepted(ingest, [beats[index]])
    assert windows() == [(int(G1), 0.0, 180.0, 300.0)]


def test_a_heartbeat_bridging_two_windows_merges_them(ingest):
    accepted(ingest, [beat("alive", 0, 60, [G1, G2]), beat("stop", 300, 360, [G1, G2])])
    assert windows() == [
        (int(G1), 0.0, 60.0, 180.0),
        (int(G1), 300.0, 360.0, 360.0),
        (int(G2), 0.0, 60.0, 180.0),
        (int(G2), 300.0, 360.0, 360.0),
    ]
    accepted(ingest, [beat("alive", 58, 302, [G1])])  # the delayed heartbeat in between
    assert windows() == [
        (int(G1), 0.0, 360.0, 360.0),  # the newest heartbeat is still the stop
        (int(G2), 0.0, 60.0, 180.0),
        (int(G2), 300.0, 360.0, 360.0),
    ]


def test_a_big_shard_costs_a_handful_of_queries(ingest):
    guilds = [str(740000000000000000 + n) for n in range(2500)]
    counts = []
    for event in (
        beat("start", 0, 0, guilds),
        beat("alive", 0, 60, guilds),
        beat("alive", 0, 60, guilds),  # the same span again (a new id): read, no write
    ):
        event = {**event, "id": event["id"] + str(len(counts))}
        with CaptureQueriesContext(connection) as queries:
            accepted(ingest, [event])
        counts.append(sum("collection_windows" in q["sql"] for q in queries.captured_queries))
    assert CollectionWindow.objects.count() == 2500
    assert set(CollectionWindow.objects.values_list("ended_at", "open_until")) == {
        (ORIGIN + timedelta(seconds=60), ORIGIN + timedelta(seconds=180))
    }
    inserts = 1 if connection.vendor == "postgresql" else 2500 * 4 // 999 + 1  # SQLite batches
    assert counts == [1 + inserts, 2, 1]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"state": "paused"}, "data: Invalid enum value 'paused' - at `$.data.state`"),
        ({"intervalSeconds": 0}, "data: Expected `int` >= 1 - at `$.data.intervalSeconds`"),
        ({"intervalSeconds": 3601}, "data: Expected `int` <= 3600 - at `$.data.intervalSeconds`"),
        ({"shardCount": 0}, "data: Expected `int` >= 1 - at `$.data.shardCount`"),
        ({"guildIds": ["0"]}, "data: guildIds must hold valid snowflakes"),
        (
            {"guildIds": [G1] * 10_001},
            "data: Expected `array` of length <= 10000 - at `$.data.guildIds`",
        ),
        (
            {"since": at(61)},
            "data: since must not be after the timestamp nor older than the raw-event "
            "retention - at `$.data.since`",
        ),
        (
            {"since": at(-40 * 86400)},
            "data: since must not be after the timestamp nor older than the raw-event "
            "retention - at `$.data.since`",
        ),
    ],
)
def test_a_malformed_heartbeat_is_rejected_with_a_reason(ingest, data, reason):
    event = beat("alive", 0, 60, [G1])
    event["data"].update(data)
    _status, ack = ingest([event])
    assert (ack["accepted"], ack["rejected"]) == (0, [{"index": 0, "error": reason}])
    assert windows() == []


def test_interval_and_shard_count_default(ingest):
    event = beat("start", 30, 30, [G1])
    del event["data"]["intervalSeconds"], event["data"]["shardCount"]
    accepted(ingest, [event])
    assert windows() == [(int(G1), 30.0, 30.0, 150.0)]
