"""Retention: delete rows older than their table's retention, in bounded batches, optionally
exporting them first to compressed JSON-lines files (seed 001's cold archive).

Declarative, one rule per table (or per snapshot granularity). Each batch is exported, then
deleted in its own transaction, so a run can stop anywhere and the next one continues; a crash
between export and delete exports that batch again (archive lines carry the row id, so readers
can drop repeats), it never loses one. Moderation cases and invites have no rule: kept forever.

On TimescaleDB, a hypertable's rows are dropped a whole chunk at a time (``drop_chunks``):
the chunks lying wholly before the cutoff, exported first when archiving; a chunk straddling
the cutoff waits for the next night.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from core import timescale
from guilds.models import CollectionWindow
from pipeline.models import Event
from stats.models import BucketParts, MetricsSnapshot, SnapshotActivity, VoiceSessionLog

RetentionSetting = Literal[
    "RAW_RETENTION_DAYS",
    "SNAPSHOT_5MIN_RETENTION_DAYS",
    "SNAPSHOT_HOURLY_RETENTION_DAYS",
    "SNAPSHOT_DAILY_RETENTION_DAYS",
]


@dataclass(frozen=True)
class RetentionRule:
    name: str
    model: type[models.Model]
    time_field: str
    days_setting: RetentionSetting  # key in settings.GUILDSTATS; 0 keeps forever
    only: dict[str, Any] = field(default_factory=dict)  # rows of the table the rule covers


RULES: tuple[RetentionRule, ...] = (
    RetentionRule("events", Event, "timestamp", "RAW_RETENTION_DAYS"),
    # what the rollups read besides raw events: useless once those are gone
    RetentionRule("voice_session_log", VoiceSessionLog, "ended_at", "RAW_RETENTION_DAYS"),
    RetentionRule("snapshot_activity", SnapshotActivity, "period_start", "RAW_RETENTION_DAYS"),
    RetentionRule(
        "snapshots_5min",
        MetricsSnapshot,
        "period_start",
        "SNAPSHOT_5MIN_RETENTION_DAYS",
        {"period_type": MetricsSnapshot.FIVE_MINUTES},
    ),
    # the 5-minute parts that hourly and daily snapshots are summed from
    RetentionRule("rollup_parts", BucketParts, "bucket_start", "SNAPSHOT_5MIN_RETENTION_DAYS"),
    RetentionRule(
        "snapshots_hourly",
        MetricsSnapshot,
        "period_start",
        "SNAPSHOT_HOURLY_RETENTION_DAYS",
        {"period_type": MetricsSnapshot.HOURLY},
    ),
    RetentionRule(
        "snapshots_daily",
        MetricsSnapshot,
        "period_start",
        "SNAPSHOT_DAILY_RETENTION_DAYS",
        {"period_type": MetricsSnapshot.DAILY},
    ),
    # collectors' windows say which points of the series are covered: kept as long as the
    # coarsest of them (a point older than every window reads as unknown, not as a gap)
    RetentionRule(
        "collection_windows", CollectionWindow, "ended_at", "SNAPSHOT_DAILY_RETENTION_DAYS"
    ),
)


def apply_retention(
    now: datetime | None = None, *, batch_size: int = 10_000, rules: Iterable[RetentionRule] = RULES
) -> dict[str, int]:
    """Delete (and export, when GUILDSTATS_ARCHIVE_DIR is set) what is past retention."""
    now = now or timezone.now()
    archive = settings.GUILDSTATS.get("ARCHIVE_DIR") or ""
    deleted: dict[str, int] = {}
    chunked = timescale.hypertables()
    for rule in rules:
        days = settings.GUILDSTATS[rule.days_setting]
        if not days:
            continue  # kept forever
        cutoff = now - timedelta(days=days)
        folder = Path(archive) if archive else None
        table = rule.model._meta.db_table
        if table in chunked and not rule.only:
            deleted[rule.name] = _drop_chunks(rule, table, cutoff, batch_size, folder)
        else:
            deleted[rule.name] = _expire(rule, cutoff, batch_size, folder)
    return deleted


def compress_old_chunks(now: datetime | None = None) -> dict[str, int]:
    """TimescaleDB: compress chunks older than GUILDSTATS_COMPRESS_AFTER_DAYS (no-op without)."""
    now = now or timezone.now()
    return timescale.compress_old_chunks(
        now - timedelta(days=settings.GUILDSTATS["COMPRESS_AFTER_DAYS"])
    )


def _drop_chunks(
    rule: RetentionRule, table: str, cutoff: datetime, batch_size: int, archive: Path | None
) -> int:
    until = timescale.droppable_until(table, cutoff)
    if until is None:
        return 0
    old = rule.model._default_manager.filter(**{f"{rule.time_field}__lt": until})
    count: int = old.count()
    if archive is not None:
        last: tuple[Any, Any] | None = None
        while True:
            page = old.order_by(rule.time_field, "pk")
            if last is not None:
                page = page.filter(
                    Q(**{f"{rule.time_field}__gt": last[0]})
                    | Q(**{rule.time_field: last[0], "pk__gt": last[1]})
                )
            rows = list(page.values()[:batch_size])
            if not rows:
                break
            _export(archive / rule.name, rule.time_field, rows)
            last = (rows[-1][rule.time_field], rows[-1]["id"])
    timescale.drop_chunks(table, until)
    return count


def _expire(rule: RetentionRule, cutoff: datetime, batch_size: int, archive: Path | None) -> int:
    old = (
        rule.model._default_manager.filter(**rule.only)
        .filter(**{f"{rule.time_field}__lt": cutoff})
        .order_by(rule.time_field, "pk")
    )
    total = 0
    while True:
        with transaction.atomic():
            rows = list(old.values()[:batch_size])
            if not rows:
                return total
            if archive is not None:
                _export(archive / rule.name, rule.time_field, rows)
            rule.model._default_manager.filter(pk__in=[row["id"] for row in rows]).delete()
        total += len(rows)


def _export(folder: Path, time_field: str, rows: list[dict[str, Any]]) -> None:
    """Append rows to one gzip member per UTC day (gzip files may hold several members)."""
    folder.mkdir(parents=True, exist_ok=True)
    by_day: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_day.setdefault(row[time_field].date().isoformat(), []).append(row)
    for day, day_rows in by_day.items():
        with gzip.open(folder / f"{day}.jsonl.gz", "at", encoding="utf-8") as out:
            for row in day_rows:
                out.write(json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False) + "\n")
