"""Hourly series boundaries (stats.selectors.periods.boundaries): the hour-by-hour scan finds the
same local hour starts as a scan of every quarter hour, across DST changes of an hour and of
30 minutes, and in zones whose offset is not a whole hour."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from stats.selectors.periods import boundaries, midnight


def quarter_hour_scan(first: date, last: date, zone: ZoneInfo) -> list[datetime]:
    """The reference: every quarter hour whose local time is a whole hour."""
    end = midnight(last + timedelta(days=1), zone)
    moment, starts = midnight(first, zone), []
    while moment < end:
        local = moment.astimezone(zone)
        if local.minute == 0 and local.second == 0:
            starts.append(moment)
        moment += timedelta(minutes=15)
    return [*starts, end]


@pytest.mark.parametrize(
    "zone",
    [
        "UTC",
        "Europe/Paris",
        "America/New_York",
        "Asia/Kolkata",  # +05:30
        "Asia/Kathmandu",  # +05:45
        "Australia/Lord_Howe",  # DST moves the clock by 30 minutes
        "America/St_Johns",  # -03:30, DST by an hour
        "Pacific/Chatham",  # +12:45 / +13:45
    ],
)
@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2026, 3, 1), date(2026, 4, 30)),  # the northern spring changes, Lord Howe's April
        (date(2026, 9, 20), date(2026, 11, 10)),  # the autumn ones, Lord Howe's October
        (date(2026, 3, 29), date(2026, 3, 29)),  # one DST day
    ],
)
def test_hour_boundaries_match_a_quarter_hour_scan(zone, first, last):
    tz = ZoneInfo(zone)
    found = boundaries("hour", first, last, tz)
    assert found == quarter_hour_scan(first, last, tz)
    assert all(b.tzinfo is UTC or b.utcoffset() == timedelta(0) for b in found)


def test_a_dst_day_has_23_or_25_hours():
    paris = ZoneInfo("Europe/Paris")
    assert len(boundaries("hour", date(2026, 3, 29), date(2026, 3, 29), paris)) == 24
    assert len(boundaries("hour", date(2026, 10, 25), date(2026, 10, 25), paris)) == 26
    # Lord Howe's 24.5-hour day repeats 01:30-02:00 (no hour start in it); its 23.5-hour day
    # skips 02:00-02:30 (the 02:00 start)
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    assert len(boundaries("hour", date(2026, 4, 5), date(2026, 4, 5), lord_howe)) == 25
    assert len(boundaries("hour", date(2026, 10, 4), date(2026, 10, 4), lord_howe)) == 24
