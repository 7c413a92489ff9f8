"""Retention: delete rows older than their table's retention, in bounded batches, optionally
exporting them first to compressed JSON-lines files (seed 001's cold archive).

Declarative, one rule per table; the rollups will add their snapshot tables here. Each batch is
exported, then deleted in its own transaction, so a run can stop anywhere and the next one
continues; a crash between export and delete exports that batch again (archive lines carry the
row id, so readers can drop repeats), it never loses one.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from stats.models import Event


@dataclass(frozen=True)
class RetentionRule:
    name: str
    model: type[models.Model]
    time_field: str
    days_setting: str  # key in settings.GUILDSTATS


RULES: tuple[RetentionRule, ...] = (
    RetentionRule("events", Event, "timestamp", "RAW_RETENTION_DAYS"),
)


def apply_retention(
    now: datetime | None = None, *, batch_size: int = 10_000, rules: Iterable[RetentionRule] = RULES
) -> dict[str, int]:
    """Delete (and export, when GUILDSTATS_ARCHIVE_DIR is set) what is past retention."""
    now = now or timezone.now()
    archive = settings.GUILDSTATS.get("ARCHIVE_DIR") or ""
    deleted: dict[str, int] = {}
    for rule in rules:
        cutoff = now - timedelta(days=settings.GUILDSTATS[rule.days_setting])
        deleted[rule.name] = _expire(rule, cutoff, batch_size, Path(archive) if archive else None)
    return deleted


def _expire(rule: RetentionRule, cutoff: datetime, batch_size: int, archive: Path | None) -> int:
    old = rule.model.objects.filter(**{f"{rule.time_field}__lt": cutoff}).order_by(
        rule.time_field, "pk"
    )
    total = 0
    while True:
        with transaction.atomic():
            rows = list(old.values()[:batch_size])
            if not rows:
                return total
            if archive is not None:
                _export(archive / rule.name, rule.time_field, rows)
            rule.model.objects.filter(pk__in=[row["id"] for row in rows]).delete()
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
