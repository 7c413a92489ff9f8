"""No snapshot row counts twice, whatever the granularity and the zone's offset (issue "Numbers
that are wrong today", item 4).

The rows are made here the way the fillers make them: 5-minute rows, hourly rows aligned to
UTC and daily rows over the guild's local day, without zero rows; each granularity is filled in
time order (a finished hour or day may not be rolled up yet, never one before a rolled-up one).
In a zone whose offset is not a whole hour (Asia/Kolkata, UTC+5:30) an hourly row straddles two
local hours, and the last one of a local day straddles two days."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from guilds.models import Guild
from tests.api.conftest import GUILD, ORIGIN
from tests.factories import SnapshotFactory

pytestmark = pytest.mark.django_db

FIVE = timedelta(minutes=5)
HOUR = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def get(api, key: str, path: str) -> Any:
    response = api(key).get(f"/api/guilds/{GUILD}/stats/{path}")
    assert response.status_code == 200, response.content
    return response.json()


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_kolkata_message_late_yesterday_counts_once(api, key_for_guild, frozen):
    """23:45 local yesterday (18:15 UTC) is in yesterday's daily row, in the hourly row of
    18:00-19:00 UTC (which ends at 00:30 today) and in a 5-minute row; today is not rolled up."""
    Guild.objects.filter(guild_id=int(GUILD)).update(timezone="Asia/Kolkata")
    SnapshotFactory(
        guild_id=int(GUILD),
        period_type="daily",
        period_start=utc(2026, 3, 18, 18, 30),
        period_end=utc(2026, 3, 19, 18, 30),
        total_messages=1,
        unique_active_users=1,
    )
    SnapshotFactory(
        guild_id=int(GUILD),
        period_type="hourly",
        period_start=utc(2026, 3, 19, 18),
        total_messages=1,
        unique_active_users=1,
    )
    SnapshotFactory(
        guild_id=int(GUILD),
        period_type="5min",
        period_start=utc(2026, 3, 19, 18, 15),
        total_messages=1,
        unique_active_users=1,
    )
    by = {
        granularity: get(api, key_for_guild, f"activity?period=week&granularity={granularity}")
        for granularity in ("hour", "day", "week")
    }
    assert [p["totalMessages"] for p in by["week"]["dataPoints"]] == [0, 1]  # Sat-Sun, Mon-Fri
    days = {p["timestamp"]: p["totalMessages"] for p in by["day"]["dataPoints"]}
    assert days["2026-03-18T18:30:00.000Z"] == 1  # Thursday 19th, local
    assert sum(days.values()) == 1
    hours = {p["timestamp"]: p["totalMessages"] for p in by["hour"]["dataPoints"]}
    assert hours["2026-03-19T17:30:00.000Z"] == 1  # 23:00 local
    assert sum(hours.values()) == 1


# --- property-style: every granularity, every zone the tests use -------------------------------

ZONES = {  # zone -> the pinned "now" (Paris: the week of the spring DST change)
    "UTC": ORIGIN,
    "Europe/Paris": utc(2026, 3, 31, 10, 7),
    "Asia/Kolkata": ORIGIN + timedelta(minutes=7),  # 17:37 local
    "Asia/Tokyo": ORIGIN,
}
LOCAL_TIMES = [  # awkward local times, on every day of the period
    time(0, 0),
    time(0, 10),
    time(0, 29, 59),
    time(0, 30),
    time(1, 55),
    time(2, 30),  # does not exist on the Paris spring DST day: folded by zoneinfo
    time(3, 0),
    time(5, 30),
    time(11, 59, 59),
    time(12, 0),
    time(17, 30),
    time(17, 35),
    time(18, 30),
    time(23, 0),
    time(23, 30),
    time(23, 45),
    time(23, 59, 59),
]


def messages_in(zone: ZoneInfo, now: datetime, days: int) -> list[datetime]:
    today = now.astimezone(zone).date()
    moments = []
    for back in range(days + 1):  # and the day before the period, which must not count
        day = today - timedelta(days=back)
        for at in LOCAL_TIMES:
            moments.append(datetime.combine(day, at, zone).astimezone(UTC))
    # around the current moment: the current hour, the current 5 minutes
    moments += [now - timedelta(minutes=40), now - timedelta(minutes=3), now - timedelta(seconds=1)]
    return sorted(m for m in moments if m < now)


def floor(moment: datetime, step: timedelta) -> datetime:
    epoch = utc(2000, 1, 1)
    return epoch + (moment - epoch) // step * step


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, zone).astimezone(UTC)


def make_rows(zone: ZoneInfo, now: datetime, moments: list[datetime], lag_days: int) -> None:
    """The rows the fillers would have written by ``now``: 5-minute rows of finished buckets and
    of the current one, hourly rows of finished UTC hours, daily rows of local days finished at
    least ``lag_days`` days ago (0: yesterday is rolled up; 1: yesterday is not)."""
    per: dict[tuple[str, datetime], int] = Counter()
    for moment in moments:
        per[("5min", floor(moment, FIVE))] += 1
        hour = floor(moment, HOUR)
        if hour + HOUR <= now:
            per[("hourly", hour)] += 1
        day = moment.astimezone(zone).date()
        if day < now.astimezone(zone).date() - timedelta(days=lag_days):
            per[("daily", local_midnight(day, zone))] += 1
    for (kind, start), count in per.items():
        end = (
            local_midnight(start.astimezone(zone).date() + timedelta(days=1), zone)
            if kind == "daily"
            else start + (FIVE if kind == "5min" else HOUR)
        )
        SnapshotFactory(
            guild_id=int(GUILD),
            period_type=kind,
            period_start=start,
            period_end=end,
            total_messages=count,
            total_reactions=count,
            unique_active_users=1,
        )


def counts_per_point(body: dict[str, Any], moments: list[datetime]) -> list[int]:
    starts = [parse(p["timestamp"]) for p in body["dataPoints"]] + [parse(body["periodEnd"])]
    return [
        sum(1 for m in moments if starts[at] <= m < starts[at + 1]) for at in range(len(starts) - 1)
    ]


@pytest.mark.parametrize("lag_days", [0, 1], ids=["yesterday-rolled-up", "yesterday-not"])
@pytest.mark.parametrize("zone_name", list(ZONES))
@pytest.mark.parametrize(("period", "days"), [("week", 7), ("month", 30)])
def test_no_row_counts_twice(api, key_for_guild, zone_name, period, days, lag_days):
    zone, now = ZoneInfo(zone_name), ZONES[zone_name]
    Guild.objects.filter(guild_id=int(GUILD)).update(timezone=zone_name)
    moments = messages_in(zone, now, days)
    make_rows(zone, now, moments, lag_days)
    with time_machine.travel(now, tick=False):
        by = {
            granularity: get(
                api, key_for_guild, f"activity?period={period}&granularity={granularity}"
            )
            for granularity in ("hour", "day", "week")
        }
        heat = get(api, key_for_guild, f"heatmap?period={period}")
    start = parse(by["day"]["periodStart"])
    in_period = [m for m in moments if m >= start]
    assert len(in_period) < len(moments)  # the day before the period is left out
    for granularity, body in by.items():
        points = body["dataPoints"]
        got = [p["totalMessages"] for p in points]
        assert got == counts_per_point(body, moments), granularity  # each point exactly
        assert sum(got) == len(in_period), granularity
        assert sum(p["totalReactions"] for p in points) == len(in_period), granularity
    # the day points sum to the week point they form, the hour points to their day
    days_at = {parse(p["timestamp"]): p["totalMessages"] for p in by["day"]["dataPoints"]}
    for coarse, fine in (("week", days_at), ("day", None)):
        body = by[coarse]
        starts = [parse(p["timestamp"]) for p in body["dataPoints"]] + [parse(body["periodEnd"])]
        finer = fine or {
            parse(p["timestamp"]): p["totalMessages"] for p in by["hour"]["dataPoints"]
        }
        for at, p in enumerate(body["dataPoints"]):
            inside = [v for ts, v in finer.items() if starts[at] <= ts < starts[at + 1]]
            assert p["totalMessages"] == sum(inside), (coarse, p["timestamp"])
    assert sum(c["totalMessages"] for c in heat["cells"]) == len(in_period)
