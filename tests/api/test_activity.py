"""Activity series and heatmap: exact answers at a pinned time, read from snapshot rows made by a
factory (not by the rollups), zero-filled, in the guild's zone, across a DST change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine

from guilds.models import Guild
from stats.models import MemberDailyStats
from tests.api.conftest import GUILD, OTHER_GUILD
from tests.factories import SnapshotFactory

pytestmark = pytest.mark.django_db

A, B, C, D, E = 1001, 1002, 1003, 1004, 1005


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def daily(day: date, **counts: int) -> None:
    start = utc(day.year, day.month, day.day)
    SnapshotFactory(
        guild_id=int(GUILD),
        period_type="daily",
        period_start=start,
        period_end=start + timedelta(days=1),
        **counts,
    )


def snap(kind: str, start: datetime, guild: str = GUILD, **counts: int) -> None:
    SnapshotFactory(guild_id=int(guild), period_type=kind, period_start=start, **counts)


def member_day(day: date, user: int, **counts: int) -> None:
    MemberDailyStats.objects.create(guild_id=int(GUILD), day=day, user_id=user, **counts)


def point(
    ts: str, m: int = 0, v: int = 0, r: int = 0, u: int | None = 0, covered: bool | None = None
) -> dict[str, Any]:
    """A data point; ``covered`` is null for a guild without collection windows."""
    return {
        "timestamp": ts,
        "totalMessages": m,
        "totalVoiceMinutes": v,
        "totalReactions": r,
        "uniqueActiveUsers": u,
        "covered": covered,
    }


@pytest.fixture
def snapshots(frozen, key_for_guild):
    """Friday 20 March 2026, 12:00 UTC, a UTC guild. Days 13, 14 and 17 are rolled up; the 19th
    only hourly (its daily row is not filled yet); today has hours 0 and 10 and two 5-minute
    buckets of the current hour. Rows covered by a coarser row must not count twice."""
    daily(date(2026, 3, 13), total_messages=99, unique_active_users=9)  # before the week
    daily(
        date(2026, 3, 14),
        total_messages=10,
        total_voice_seconds=600,
        total_reactions=2,
        unique_active_users=3,
    )
    daily(date(2026, 3, 17), total_messages=5, total_voice_seconds=90, unique_active_users=1)
    snap("hourly", utc(2026, 3, 14, 9), total_messages=10, unique_active_users=3)  # in the day
    snap("5min", utc(2026, 3, 14, 9, 5), total_messages=10, unique_active_users=3)
    snap("hourly", utc(2026, 3, 19, 10), total_messages=4, unique_active_users=2)
    snap("hourly", utc(2026, 3, 19, 18), total_messages=1, unique_active_users=1)
    snap("hourly", utc(2026, 3, 20, 0), total_messages=2, unique_active_users=1)
    snap(
        "hourly",
        utc(2026, 3, 20, 10),
        total_messages=3,
        total_voice_seconds=1800,
        unique_active_users=2,
    )
    snap("5min", utc(2026, 3, 20, 10, 55), total_messages=3, unique_active_users=2)  # in 10h
    snap("5min", utc(2026, 3, 20, 11, 0), total_messages=1, unique_active_users=1)
    snap("5min", utc(2026, 3, 20, 11, 5), total_reactions=1, unique_active_users=1)
    snap("hourly", utc(2026, 3, 20, 11), OTHER_GUILD, total_messages=50)  # another guild
    # the per-day member counters, for distinct members of runs of days
    member_day(date(2026, 3, 14), A, messages=6)
    member_day(date(2026, 3, 14), B, messages=4)
    member_day(date(2026, 3, 14), E, voice_seconds=600)
    member_day(date(2026, 3, 17), A, messages=5)
    member_day(date(2026, 3, 19), A, messages=4)
    member_day(date(2026, 3, 19), B, messages=1)
    member_day(date(2026, 3, 19), C, reactions_received=1)  # received only: not active
    member_day(date(2026, 3, 20), A, messages=5)
    member_day(date(2026, 3, 20), B, messages=1, reactions_given=1)
    member_day(date(2026, 3, 20), D, voice_seconds=1800)


def get(api, key: str, path: str) -> Any:
    response = api(key).get(f"/api/guilds/{GUILD}/stats/{path}")
    assert response.status_code == 200, response.content
    return response.json()


def test_week_by_day_is_zero_filled(api, key_for_guild, snapshots):
    assert get(api, key_for_guild, "activity?period=week&granularity=day") == {
        "guildId": GUILD,
        "period": "week",
        "granularity": "day",
        "timezone": "UTC",
        "periodStart": "2026-03-14T00:00:00.000Z",
        "periodEnd": "2026-03-21T00:00:00.000Z",
        "dataPoints": [
            point("2026-03-14T00:00:00.000Z", 10, 10, 2, 3),  # the daily row alone
            point("2026-03-15T00:00:00.000Z"),
            point("2026-03-16T00:00:00.000Z"),
            point("2026-03-17T00:00:00.000Z", 5, 2, 0, 1),  # 90 s: 2 minutes, rounded
            point("2026-03-18T00:00:00.000Z"),
            point("2026-03-19T00:00:00.000Z", 5, 0, 0, 2),  # from hours; members A and B
            point("2026-03-20T00:00:00.000Z", 6, 30, 1, 3),  # hours + 5 min; A, B, D
        ],
    }


def test_today_by_hour(api, key_for_guild, snapshots):
    body = get(api, key_for_guild, "activity?period=today&granularity=hour")
    expected = [point(f"2026-03-20T{h:02}:00:00.000Z") for h in range(24)]
    expected[0] = point("2026-03-20T00:00:00.000Z", 2, 0, 0, 1)
    expected[10] = point("2026-03-20T10:00:00.000Z", 3, 30, 0, 2)
    # the current hour is two 5-minute buckets: distinct members do not add up, so null
    expected[11] = point("2026-03-20T11:00:00.000Z", 1, 0, 1, None)
    assert body == {
        "guildId": GUILD,
        "period": "today",
        "granularity": "hour",
        "timezone": "UTC",
        "periodStart": "2026-03-20T00:00:00.000Z",
        "periodEnd": "2026-03-21T00:00:00.000Z",
        "dataPoints": expected,
    }


def test_month_by_week_starts_on_mondays(api, key_for_guild, snapshots):
    body = get(api, key_for_guild, "activity?period=month&granularity=week")
    assert body["dataPoints"] == [
        point("2026-02-19T00:00:00.000Z"),  # the window's first day, a Thursday
        point("2026-02-23T00:00:00.000Z"),
        point("2026-03-02T00:00:00.000Z"),
        point("2026-03-09T00:00:00.000Z", 109, 10, 2, 3),  # 13th and 14th; A, B, E
        point("2026-03-16T00:00:00.000Z", 16, 32, 1, 3),  # 1,890 s; A, B, D
    ]
    assert (body["periodStart"], body["periodEnd"]) == (
        "2026-02-19T00:00:00.000Z",
        "2026-03-21T00:00:00.000Z",
    )


def test_all_starts_at_the_first_snapshot(api, key_for_guild, snapshots):
    body = get(api, key_for_guild, "activity?period=all&granularity=day")
    assert body["periodStart"] == "2026-03-13T00:00:00.000Z"
    assert body["dataPoints"][0] == point("2026-03-13T00:00:00.000Z", 99, 0, 0, 9)
    assert len(body["dataPoints"]) == 8
    assert sum(p["totalMessages"] for p in body["dataPoints"]) == 99 + 10 + 5 + 5 + 6


def test_all_without_any_snapshot_is_today_at_zero(api, key_for_guild, frozen):
    body = get(api, key_for_guild, "activity?period=all&granularity=week")
    assert body["dataPoints"] == [point("2026-03-20T00:00:00.000Z")]


def test_csv_export(api, key_for_guild, snapshots):
    response = api(key_for_guild).get(
        f"/api/guilds/{GUILD}/stats/activity?period=today&granularity=hour&format=csv"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="guild-{GUILD}-activity.csv"'
    lines = response.content.decode().splitlines()
    assert lines[0] == (
        "timestamp,totalMessages,totalVoiceMinutes,totalReactions,uniqueActiveUsers,covered"
    )
    assert len(lines) == 25
    assert lines[11:13] == [
        "2026-03-20T10:00:00.000Z,3,30,0,2,",  # covered null (no windows): empty
        "2026-03-20T11:00:00.000Z,1,0,1,,",  # null: empty
    ]


def test_dst_week_in_paris(api, key_for_guild):
    """Summer time starts on Sunday 29 March 2026 at 02:00 in Paris: a 23-hour day."""
    Guild.objects.filter(guild_id=int(GUILD)).update(timezone="Europe/Paris")
    SnapshotFactory(
        guild_id=int(GUILD),
        period_type="daily",
        period_start=utc(2026, 3, 28, 23),
        period_end=utc(2026, 3, 29, 22),
        total_messages=3,
        unique_active_users=2,
    )
    snap("hourly", utc(2026, 3, 29, 0), total_messages=1, unique_active_users=1)  # 01:00 CET
    snap("hourly", utc(2026, 3, 29, 1), total_messages=2, unique_active_users=2)  # 03:00 CEST
    with time_machine.travel(utc(2026, 3, 31, 10), tick=False):
        days = get(api, key_for_guild, "activity?period=week&granularity=day")
        hours = get(api, key_for_guild, "activity?period=week&granularity=hour")
    assert days == {
        "guildId": GUILD,
        "period": "week",
        "granularity": "day",
        "timezone": "Europe/Paris",
        "periodStart": "2026-03-24T23:00:00.000Z",
        "periodEnd": "2026-03-31T22:00:00.000Z",
        "dataPoints": [
            point("2026-03-24T23:00:00.000Z"),
            point("2026-03-25T23:00:00.000Z"),
            point("2026-03-26T23:00:00.000Z"),
            point("2026-03-27T23:00:00.000Z"),
            point("2026-03-28T23:00:00.000Z", 3, 0, 0, 2),  # 23 hours
            point("2026-03-29T22:00:00.000Z"),
            point("2026-03-30T22:00:00.000Z"),
        ],
    }
    starts = [utc(2026, 3, 24, 23) + timedelta(hours=n) for n in range(7 * 24 - 1)]
    expected = [point(s.isoformat().replace("+00:00", ".000Z")) for s in starts]
    expected[97] = point("2026-03-29T00:00:00.000Z", 1, 0, 0, 1)  # 01:00 local
    expected[98] = point("2026-03-29T01:00:00.000Z", 2, 0, 0, 2)  # 03:00 local: 02:00 skipped
    assert hours["dataPoints"] == expected
    assert len(hours["dataPoints"]) == 167


def test_half_hour_zone_reads_five_minute_rows(api, key_for_guild, frozen):
    """In Kolkata (UTC+5:30) an hourly row straddles two local hours: 5-minute rows are used."""
    Guild.objects.filter(guild_id=int(GUILD)).update(timezone="Asia/Kolkata")
    snap("hourly", utc(2026, 3, 20, 4), total_messages=12, unique_active_users=2)
    snap("5min", utc(2026, 3, 20, 4, 0), total_messages=5, unique_active_users=1)  # 09:30
    snap("5min", utc(2026, 3, 20, 4, 30), total_messages=7, unique_active_users=1)  # 10:00
    body = get(api, key_for_guild, "activity?period=today&granularity=hour")
    expected = [
        point((utc(2026, 3, 19, 18, 30) + timedelta(hours=h)).isoformat()[:19] + ".000Z")
        for h in range(24)
    ]
    expected[9] = point("2026-03-20T03:30:00.000Z", 5, 0, 0, None)
    expected[10] = point("2026-03-20T04:30:00.000Z", 7, 0, 0, None)
    assert body["dataPoints"] == expected
    assert body["periodStart"] == "2026-03-19T18:30:00.000Z"


def cells(**values: tuple[int, int, int]) -> list[dict[str, int]]:
    """168 zero cells, with ``d5h10=(messages, voice minutes, reactions)`` set."""
    return [
        {
            "dayOfWeek": day,
            "hour": hour,
            "totalMessages": values.get(f"d{day}h{hour}", (0, 0, 0))[0],
            "totalVoiceMinutes": values.get(f"d{day}h{hour}", (0, 0, 0))[1],
            "totalReactions": values.get(f"d{day}h{hour}", (0, 0, 0))[2],
        }
        for day in range(1, 8)
        for hour in range(24)
    ]


def test_heatmap(api, key_for_guild, frozen):
    snap("hourly", utc(2026, 3, 20, 10), total_messages=3)  # Friday 10h
    snap("hourly", utc(2026, 3, 13, 10), total_messages=1, total_voice_seconds=60)  # Friday
    snap("hourly", utc(2026, 3, 19, 23), total_reactions=2)  # Thursday 23h
    snap("5min", utc(2026, 3, 20, 11, 0), total_messages=2)  # the current hour
    snap("hourly", utc(2026, 2, 1, 8), total_messages=7)  # a Sunday, before the month
    snap("hourly", utc(2026, 3, 20, 9), OTHER_GUILD, total_messages=50)
    month = get(api, key_for_guild, "heatmap")
    assert month == {
        "guildId": GUILD,
        "period": "month",
        "timezone": "UTC",
        "periodStart": "2026-02-19T00:00:00.000Z",
        "periodEnd": "2026-03-21T00:00:00.000Z",
        "cells": cells(d5h10=(4, 1, 0), d4h23=(0, 0, 2), d5h11=(2, 0, 0)),
    }
    everything = get(api, key_for_guild, "heatmap?period=all")
    assert everything["periodStart"] == "2026-02-01T00:00:00.000Z"
    assert everything["cells"] == cells(
        d5h10=(4, 1, 0), d4h23=(0, 0, 2), d5h11=(2, 0, 0), d7h8=(7, 0, 0)
    )
    assert get(api, key_for_guild, "heatmap?period=week")["cells"] == cells(
        d5h10=(3, 0, 0), d4h23=(0, 0, 2), d5h11=(2, 0, 0)
    )


def test_heatmap_follows_the_guild_timezone(api, key_for_guild, frozen):
    Guild.objects.filter(guild_id=int(GUILD)).update(timezone="Asia/Tokyo")
    snap("hourly", utc(2026, 3, 19, 15), total_messages=1)  # Friday 00:00 in Tokyo
    body = get(api, key_for_guild, "heatmap?period=week")
    assert body["cells"] == cells(d5h0=(1, 0, 0))
    assert body["timezone"] == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("activity?period=year", "period"),
        ("activity?granularity=minute", "granularity"),
        ("activity?period=all&granularity=hour", "granularity"),
        ("activity?period=all&granularity=hour&format=csv", "granularity"),
        ("heatmap?period=today", "period"),
        ("heatmap?period=Month", "period"),
    ],
)
def test_bad_parameters_answer_400_naming_the_field(api, key_for_guild, path, field):
    response = api(key_for_guild).get(f"/api/guilds/{GUILD}/stats/{path}")
    assert response.status_code == 400
    if "csv" not in path:
        assert list(response.json()) == [field]


@pytest.mark.parametrize(
    "path",
    [
        "activity?period=month&granularity=hour",
        "activity?period=month&granularity=week",
        "activity?period=all&granularity=day",
        "heatmap?period=all",
    ],
)
def test_query_counts_are_bounded(
    api, key_for_guild, snapshots, path, django_assert_max_num_queries
):
    client = api(key_for_guild)
    # 10, then the 5-minute fill's watermark and the unfilled stretch read by the rollups'
    # engine (its events, voice sessions, bot snapshots, the guild's counting settings)
    with django_assert_max_num_queries(18):
        assert client.get(f"/api/guilds/{GUILD}/stats/{path}").status_code == 200
