"""The stretch the 5-minute fill has not reached yet (the current bucket, the grace delay) is in
the activity series as soon as processing applies its events, and reads the same once Beat has
filled it: live, and never counted twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from stats.rollups.fill import fill_snapshots
from tests.api.conftest import GUILD

pytestmark = pytest.mark.django_db(transaction=True)

USERS = ["1001", "1002"]
CHANNEL = "9001"


def at(minute: int, second: int = 0) -> datetime:
    return datetime(2026, 3, 20, 11, 0, tzinfo=UTC) + timedelta(minutes=minute, seconds=second)


def messages(*moments: datetime) -> list[dict]:
    return [
        {
            "type": "MESSAGE_CREATE",
            "guildId": GUILD,
            "userId": USERS[i % 2],
            "channelId": CHANNEL,
            "timestamp": int(moment.timestamp() * 1000),
            "id": f"live-{moment.timestamp()}-{i}",
        }
        for i, moment in enumerate(moments)
    ]


def current_hour(api, key) -> dict:
    response = api(key).get(f"/api/guilds/{GUILD}/stats/activity?period=today&granularity=hour")
    assert response.status_code == 200
    points = {p["timestamp"]: p for p in response.json()["dataPoints"]}
    hour = points["2026-03-20T11:00:00.000Z"]
    return {k: hour[k] for k in ("totalMessages", "uniqueActiveUsers")}


@pytest.fixture(autouse=True)
def _no_answer_cache(settings):
    settings.API_CACHE_SECONDS = 0  # the API's 30 s answer cache is not what this is about


def test_unfilled_buckets_are_read_live_and_the_same_once_filled(api, key_for_guild, ingest):
    with time_machine.travel(at(58), tick=False):
        # nothing filled yet: the last stretch comes from the rollups' engine on read
        assert ingest(messages(at(50), at(51), at(57, 30)))[1]["accepted"] == 3
        assert current_hour(api, key_for_guild) == {"totalMessages": 3, "uniqueActiveUsers": None}

    with time_machine.travel(at(58, 30), tick=False):
        # Beat fills up to 11:55 (2 minutes of grace): the 11:50 bucket is stored, 11:55 is not
        assert fill_snapshots()["5min"] > 0
        assert current_hour(api, key_for_guild) == {"totalMessages": 3, "uniqueActiveUsers": None}
        assert ingest(messages(at(58, 10)))[1]["accepted"] == 1
        assert current_hour(api, key_for_guild) == {"totalMessages": 4, "uniqueActiveUsers": None}

    with time_machine.travel(at(75), tick=False):
        fill_snapshots()  # the hour is filled: one hourly row, its own distinct count
        assert current_hour(api, key_for_guild) == {"totalMessages": 4, "uniqueActiveUsers": 2}
