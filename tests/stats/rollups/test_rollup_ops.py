"""Snapshots in operation: the ``fill_stats`` command (catch-up, then a refill after a time
zone change) and the aggregation lag in ``/health``."""

from __future__ import annotations

import pytest
import time_machine

from guilds.models import Guild
from stats.rollups import fill as rollups
from tests.stats.rollups.helpers import EXPECTED, G, moment, table

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


def test_fill_stats_catches_up_then_refills_a_guild_after_a_time_zone_change(activity):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    with time_machine.travel(moment(60 * 24 + 150), tick=False):  # the next day, 12:30
        call_command("fill_stats", stdout=out, stderr=io.StringIO())
    assert "5min: " in out.getvalue() and "daily: " in out.getvalue()
    assert table("daily") == {"06-01 00:00": (3, 5400, 1, 3)}
    assert table() == EXPECTED

    Guild.objects.update_or_create(guild_id=int(G), defaults={"timezone": "Asia/Tokyo"})
    with time_machine.travel(moment(60 * 24 + 150), tick=False):
        call_command(
            "fill_stats",
            "--guild",
            G,
            "--granularity",
            "daily",
            "--since",
            "2026-05-31",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    # Tokyo's June 1st runs from 15:00 UTC on May 31st: the whole activity, in one new row
    assert table("daily") == {"05-31 15:00": (3, 5400, 1, 3)}
    assert table() == EXPECTED  # other granularities untouched


def test_health_reports_the_aggregation_lag(activity):
    from django.test import Client

    from ops.tasks import record_worker_heartbeat

    with time_machine.travel(moment(150), tick=False):
        record_worker_heartbeat.delay()
        rollups.fill_snapshots()
        body = Client().get("/health").json()
    assert body["checks"]["aggregation"] == {
        "status": "ok",
        "lagSeconds": {"5min": 0.0, "hourly": 0.0, "daily": 0.0},
        "staleBuckets": 0,
    }
    # the scheduler stops: 20 minutes later the 5-minute buckets are 15 minutes behind
    with time_machine.travel(moment(170), tick=False):
        record_worker_heartbeat.delay()
        response = Client().get("/health")
    assert response.status_code == 200
    assert response.json()["checks"]["aggregation"] == {
        "status": "warning",
        "lagSeconds": {"5min": 900.0, "hourly": 0.0, "daily": 900.0},
        "staleBuckets": 0,
    }
    # two hours later: critical, and /health answers 503
    with time_machine.travel(moment(290), tick=False):
        record_worker_heartbeat.delay()
        response = Client().get("/health")
    assert response.status_code == 503
    lag = response.json()["checks"]["aggregation"]
    assert (lag["status"], lag["lagSeconds"]["5min"]) == ("critical", 8100.0)
