"""Time buckets of the rollups: the three granularities, and where a bucket starts and ends
(UTC-aligned 5 minutes and hours; a guild's local day, 23 or 25 hours across DST)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from guildstats_contract.ids import EPOCH

from stats.models import MetricsSnapshot

FIVE_MINUTES = timedelta(minutes=5)
HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Granularity:
    """One kind of snapshot. Buckets are [start, end); a range (a, b] holds the buckets whose
    end falls in it."""

    name: str  # FillState key and MetricsSnapshot.period_type
    size: timedelta | None  # fixed UTC bucket size; None: the guild's local day
    align: timedelta  # the watermark moves by multiples of this
    step: timedelta  # the most a run fills in one transaction
    longest: timedelta  # the longest bucket (how far before a range its data may start)


FIVE_MIN = Granularity(MetricsSnapshot.FIVE_MINUTES, FIVE_MINUTES, FIVE_MINUTES, HOUR, FIVE_MINUTES)
HOURLY = Granularity(MetricsSnapshot.HOURLY, HOUR, HOUR, timedelta(hours=6), HOUR)
DAILY = Granularity(MetricsSnapshot.DAILY, None, QUARTER, timedelta(days=1), timedelta(hours=25))
GRANULARITIES = (FIVE_MIN, HOURLY, DAILY)
BY_NAME = {g.name: g for g in GRANULARITIES}

Compute = Callable[[Granularity, datetime, datetime, datetime, Sequence[int] | None], int]


def floor_time(moment: datetime, step: timedelta) -> datetime:
    return EPOCH + ((moment - EPOCH) // step) * step


def ceil_time(moment: datetime, step: timedelta) -> datetime:
    floor = floor_time(moment, step)
    return floor if floor == moment else floor + step


def bucket_bounds(
    granularity: Granularity, moment: datetime, zone: tzinfo
) -> tuple[datetime, datetime]:
    """The bucket of ``granularity`` containing ``moment`` for a guild in ``zone``."""
    if granularity.size is not None:
        start = floor_time(moment, granularity.size)
        return start, start + granularity.size
    day = moment.astimezone(zone).date()
    return _midnight(day, zone), _midnight(day + timedelta(days=1), zone)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)
