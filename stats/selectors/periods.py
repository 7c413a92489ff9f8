"""Reporting periods in a guild's time zone: today, the last 7 days, the last 30 days, all time.

A period is a run of whole local days ending with today (so "week" on a Wednesday covers last
Thursday through today), and its "previous" period is the run of the same length just before.
Days follow the guild's zone, so a DST day counts as one day of 23 or 25 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from stats.selectors.shapes import Granularity, Period

PERIOD_DAYS: dict[Period, int] = {"today": 1, "week": 7, "month": 30}
PERIODS: tuple[Period, ...] = (*PERIOD_DAYS, "all")


@dataclass(frozen=True)
class Window:
    period: Period
    first_day: date | None  # None: all time
    last_day: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime | None:
        return None if self.first_day is None else _midnight(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return _midnight(self.last_day + timedelta(days=1), self.zone)

    def days(self) -> tuple[date, date]:
        """The first and last day of a window that has a first day (every period but "all")."""
        if self.first_day is None:
            raise ValueError("all time has no first day")
        return self.first_day, self.last_day

    def previous(self) -> Window | None:
        if self.first_day is None:
            return None
        length = (self.last_day - self.first_day).days + 1
        last = self.first_day - timedelta(days=1)
        return Window(self.period, last - timedelta(days=length - 1), last, self.zone)


def window(period: Period, zone: ZoneInfo, now: datetime) -> Window:
    today = now.astimezone(zone).date()
    if period == "all":
        return Window(period, None, today, zone)
    return Window(period, today - timedelta(days=PERIOD_DAYS[period] - 1), today, zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, zone).astimezone(UTC)


midnight = _midnight  # the UTC instant at which ``day`` starts in ``zone``

QUARTER_HOUR = timedelta(minutes=15)
HOUR = timedelta(hours=1)


def boundaries(
    granularity: Granularity, first_day: date, last_day: date, zone: ZoneInfo
) -> list[datetime]:
    """Starts of the points of a series over whole local days, plus its end (UTC instants).

    ``hour``: every local hour start, found by scanning the days in quarter hours (every UTC
    offset in use is a multiple of 15 minutes), so a DST day has 23 or 25 points and in a zone at
    UTC+5:30 a point starts at :30 UTC. ``day``: every local midnight. ``week``: local Mondays
    (ISO weeks), the first point starting at ``first_day`` even if that is not a Monday.
    """
    end = _midnight(last_day + timedelta(days=1), zone)
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    if granularity == "day":
        starts = [_midnight(day, zone) for day in days]
    elif granularity == "week":
        starts = [_midnight(d, zone) for d in days if d == first_day or d.isoweekday() == 1]
    else:
        starts = _hour_starts(_midnight(first_day, zone), end, zone)
    return [*starts, end]


def _hour_starts(moment: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """Every local hour start in [moment, end), ``moment`` a local midnight. From an hour start
    the next one is an hour later unless the UTC offset changes in between (a DST change, by an
    hour or, at Lord Howe Island, by 30 minutes): then the hour is scanned in quarter hours.
    A month of hours is 720 conversions instead of 2,880 (a sixth of an hourly month's time)."""
    starts = []
    local = moment.astimezone(zone)
    while moment < end:
        if local.minute == 0 and local.second == 0:
            starts.append(moment)
            after = moment + HOUR
            after_local = after.astimezone(zone)
            if after_local.utcoffset() == local.utcoffset():
                moment, local = after, after_local
                continue
        moment += QUARTER_HOUR
        local = moment.astimezone(zone)
    return starts
