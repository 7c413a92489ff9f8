"""Every Beat entry expires after about 1.5 times its interval, also once Beat's database
scheduler has stored it (what the running Beat sends from)."""

from __future__ import annotations

import itertools

import pytest
from celery.schedules import crontab
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery import app
from config.scheduled import BEAT_SCHEDULE


def interval_seconds(schedule: float | crontab) -> float:
    """The shortest gap between two runs (a crontab's over a day, cyclically)."""
    if not isinstance(schedule, crontab):
        return float(schedule)
    runs = sorted(h * 3600 + m * 60 for h in schedule.hour for m in schedule.minute)
    gaps = [b - a for a, b in itertools.pairwise(runs)] + [runs[0] + 86400 - runs[-1]]
    return float(min(gaps))


def test_each_entry_expires_after_one_and_a_half_intervals():
    for name, entry in BEAT_SCHEDULE.items():
        expected = interval_seconds(entry["schedule"]) * 1.5
        assert abs(entry["options"]["expire_seconds"] - expected) <= 1, name


@pytest.mark.django_db(transaction=True)
def test_the_database_scheduler_stores_and_sends_the_expiry():
    scheduler = DatabaseScheduler(app=app, lazy=True)
    scheduler.setup_schedule()
    stored = dict(PeriodicTask.objects.values_list("name", "expire_seconds"))
    for name, entry in BEAT_SCHEDULE.items():
        assert stored[name] == entry["options"]["expire_seconds"], name
        assert scheduler.schedule[name].options["expires"] == stored[name]
