"""Reporting periods in a guild's time zone: today, the last 7 days, the last 30 days, all time.

A period is a run of whole local days ending with today (so "week" on a Wednesday covers last
Thursday through today), and its "previous" period is the run of the same length just before.
Days follow the guild's zone, so a DST day counts as one day of 23 or 25 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PERIOD_DAYS = {"today": 1, "week": 7, "month": 30}
PERIODS = (*PERIOD_DAYS, "all")


@dataclass(frozen=True)
class Window:
    period: str
    first_day: date | None  # None: all time
    last_day: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime | None:
        return None if self.first_day is None else _midnight(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return _midnight(self.last_day + timedelta(days=1), self.zone)

    def previous(self) -> Window | None:
        if self.first_day is None:
            return None
        length = (self.last_day - self.first_day).days + 1
        last = self.first_day - timedelta(days=1)
        return Window(self.period, last - timedelta(days=length - 1), last, self.zone)


def window(period: str, zone: ZoneInfo, now: datetime) -> Window:
    today = now.astimezone(zone).date()
    if period == "all":
        return Window(period, None, today, zone)
    return Window(period, today - timedelta(days=PERIOD_DAYS[period] - 1), today, zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, zone).astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and a Z, as the seeds' examples."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
