"""Coverage in the API: the activity points' ``covered`` flag and the dashboard's ``coverage``,
from collection windows made by COLLECTOR_HEARTBEAT events sent through the ingest; null for a
guild that never had a window, and for the time before its first one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guilds.services import create_api_key
from tests.api.conftest import GUILD, ORIGIN, OTHER_GUILD
from tests.factories import SnapshotFactory, ms

pytestmark = pytest.mark.django_db(transaction=True)

THIRD = "700000000000000003"  # in the heartbeats, not in the API key


def utc(hour: int, minute: int = 0, day: int = 20) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def beat(state: str, since: datetime, ts: datetime, *, interval: int = 600) -> dict[str, Any]:
    return {
        "type": "COLLECTOR_HEARTBEAT",
        "guildId": GUILD,
        "timestamp": ms(ts),
        "shardId": 0,
        "id": f"hb-{state}-{ts:%H%M}",
        "data": {
            "state": state,
            "since": ms(since),
            "intervalSeconds": interval,
            "shardCount": 1,
            "guildIds": [GUILD, THIRD],
        },
    }


@pytest.fixture
def collected(frozen, ingest):
    """Now is Friday 20 March 2026, 12:00 UTC. The collector started at 08:00, stopped at
    09:30, started again at 11:10 and was last heard of at 11:55 (alive, every 10 minutes:
    covered until 12:15). Hour 10 has activity but no collector: it was imported, say."""
    status, ack = ingest(
        [
            beat("start", utc(8), utc(8)),
            beat("alive", utc(8), utc(9)),
            beat("stop", utc(9), utc(9, 30)),
            beat("start", utc(11, 10), utc(11, 10)),
            beat("alive", utc(11, 10), utc(11, 55)),
        ]
    )
    assert (status, ack["accepted"], ack["rejected"]) == (200, 5, [])
    SnapshotFactory(
        guild_id=int(GUILD), period_type="hourly", period_start=utc(10), total_messages=4
    )


@pytest.fixture
def client(api):
    return api(create_api_key("dashboard", [int(GUILD), int(OTHER_GUILD)])[1])


def get(client, guild: str, path: str) -> Any:
    response = client.get(f"/api/guilds/{guild}/stats/{path}")
    assert response.status_code == 200, response.content
    return response.json()


def point(hour: int, covered: bool | None, messages: int = 0) -> dict[str, Any]:
    return {
        "timestamp": f"2026-03-20T{hour:02}:00:00.000Z",
        "totalMessages": messages,
        "totalVoiceMinutes": 0,
        "totalReactions": 0,
        "uniqueActiveUsers": 0,
        "covered": covered,
    }


def test_hourly_points_say_whether_a_collector_was_running(client, collected):
    body = get(client, GUILD, "activity?period=today&granularity=hour")
    assert body["dataPoints"] == [
        *(point(h, None) for h in range(8)),  # before the first window: unknown
        point(8, True),
        point(9, True),  # collected until 09:30
        point(10, False, messages=4),  # counts are still shown; the point is not covered
        point(11, True),
        point(12, True),  # the live window reaches 12:15, two intervals past 11:55
        *(point(h, False) for h in range(13, 24)),
    ]


def test_daily_points_before_the_first_window_are_unknown(client, collected):
    body = get(client, GUILD, "activity?period=week&granularity=day")
    assert [(p["timestamp"][:10], p["covered"]) for p in body["dataPoints"]] == [
        *((f"2026-03-{day}", None) for day in range(14, 20)),
        ("2026-03-20", True),
    ]


def test_a_guild_without_windows_has_null_everywhere(client, collected):
    body = get(client, OTHER_GUILD, "activity?period=today&granularity=hour")
    assert {p["covered"] for p in body["dataPoints"]} == {None}
    assert get(client, OTHER_GUILD, "dashboard?period=today")["coverage"] == {
        "covered": None,
        "coveredSeconds": None,
        "periodSeconds": None,
        "trackedSince": None,
        "gaps": [],
    }


def test_the_dashboard_reports_the_periods_coverage(client, collected):
    body = get(client, GUILD, "dashboard?period=today")
    assert body["coverage"] == {
        "covered": False,
        "coveredSeconds": 4 * 3600 - 100 * 60,  # 08:00-12:00 but 09:30-11:10
        "periodSeconds": 4 * 3600,  # from the first window to now
        "trackedSince": "2026-03-20T08:00:00.000Z",
        "gaps": [{"start": "2026-03-20T09:30:00.000Z", "end": "2026-03-20T11:10:00.000Z"}],
    }
    assert get(client, GUILD, "dashboard?period=all")["coverage"] == body["coverage"]


def test_a_fully_covered_period(client, frozen, ingest):
    start = ORIGIN - timedelta(days=2)
    _status, ack = ingest(
        [
            beat("start", start, start),
            beat("alive", start, ORIGIN - timedelta(minutes=1)),
        ]
    )
    assert ack["accepted"] == 2
    assert get(client, GUILD, "dashboard?period=today")["coverage"] == {
        "covered": True,
        "coveredSeconds": 12 * 3600,
        "periodSeconds": 12 * 3600,
        "trackedSince": "2026-03-18T12:00:00.000Z",
        "gaps": [],
    }
    week = get(client, GUILD, "dashboard?period=week")["coverage"]
    assert (week["covered"], week["periodSeconds"]) == (True, 2 * 86400)


def test_the_csv_export_has_the_covered_column(client, collected):
    response = client.get(
        f"/api/guilds/{GUILD}/stats/activity?period=today&granularity=hour&format=csv"
    )
    lines = response.content.decode().splitlines()
    assert lines[0].endswith(",uniqueActiveUsers,covered")
    assert lines[8:12] == [
        "2026-03-20T07:00:00.000Z,0,0,0,0,",  # unknown: empty
        "2026-03-20T08:00:00.000Z,0,0,0,0,true",
        "2026-03-20T09:00:00.000Z,0,0,0,0,true",
        "2026-03-20T10:00:00.000Z,4,0,0,0,false",
    ]
