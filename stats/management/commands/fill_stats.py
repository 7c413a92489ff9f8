"""``python manage.py fill_stats [--guild ID …] [--since T] [--until T] [--granularity G …]``:
recompute snapshots over a range (after changing a guild's time zone or excluded channels, or
to catch up by hand), with a progress bar. See ``stats.rollups.fill.refill``."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Min
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from pipeline.models import Event
from stats.rollups import buckets
from stats.rollups import fill as rollups


def instant(value: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC unless it carries an offset)."""
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        moment = datetime.combine(day, time.min)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Recompute 5-minute, hourly and daily snapshots over a range, with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--guild", type=int, action="append", help="Only this guild (repeat)")
        parser.add_argument(
            "--since", help="Range start, ISO date or date-time (default: oldest event)"
        )
        parser.add_argument("--until", help="Range end, ISO date or date-time (default: now)")
        parser.add_argument(
            "--granularity",
            action="append",
            choices=[g.name for g in buckets.GRANULARITIES],
            help="Only this granularity (repeat; default: all)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            since = instant(options["since"]) if options["since"] else None
            until = instant(options["until"]) if options["until"] else timezone.now()
        except ValueError as error:
            raise CommandError(f"not an ISO date or date-time: {error}") from error
        if since is None:
            since = Event.objects.aggregate(t=Min("timestamp"))["t"] or until
        if since >= until:
            raise CommandError("--since must be before --until")
        names = options["granularity"] or [g.name for g in buckets.GRANULARITIES]
        for granularity in (buckets.BY_NAME[name] for name in names):
            total = rollups.refill_steps(granularity, since, until)
            with tqdm(total=total, unit="step", desc=granularity.name, file=self.stderr) as bar:
                filled = rollups.refill(
                    granularity, since, until, options["guild"], progress=bar.update
                )
            self.stdout.write(f"{granularity.name}: {filled} buckets recomputed or filled")
