"""/health and /metrics."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from ops.tasks import record_worker_heartbeat
from pipeline.models import IngestBatch
from tests.factories import message, ms, snowflake

pytestmark = pytest.mark.django_db(transaction=True)


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_health_needs_a_worker_heartbeat(guildstats_settings):
    guildstats_settings(WORKER_STARTUP_GRACE_SECONDS=0)  # long after start-up
    client = Client()
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["status"] == "down"
    assert response.json()["checks"]["database"]["status"] == "ok"
    record_worker_heartbeat.delay()
    response = client.get("/health")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    processing = body["checks"]["processing"]
    assert isinstance(processing.pop("brokerQueue"), int)
    assert processing == {
        "status": "ok",
        "lagSeconds": 0.0,
        "pendingBatches": 0,
        "pendingBatchesByShard": {},
    }


def test_health_reports_processing_lag(ingest, monkeypatch, guildstats_settings):
    from pipeline import ingest as ingest_service

    record_worker_heartbeat.delay()
    monkeypatch.setattr(ingest_service, "_enqueue", lambda ids: None)
    ingest([message(snowflake(), snowflake(), snowflake(), ms())])
    IngestBatch.objects.update(received_at=timezone.now() - timedelta(seconds=120))
    response = Client().get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["processing"]["status"] == "critical"
    assert response.json()["checks"]["processing"]["pendingBatches"] == 1
    guildstats_settings(LAG_CRITICAL_SECONDS=600)
    response = Client().get("/health")
    assert response.status_code == 200
    assert response.json()["checks"]["processing"]["status"] == "warning"


def test_health_with_redis_down_is_degraded_but_serving(settings):
    """Redis down: the API answers from the database and ingest still acknowledges, so /health
    says "degraded" with 200 (a load balancer keeps the instance); the database down is 503."""
    import socket

    record_worker_heartbeat.delay()
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    response = Client().get("/health")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"


def test_metrics_count_accepted_duplicates_and_rejections(ingest):
    client = Client()
    before = client.get("/metrics").content.decode()
    g = snowflake()
    events = [message(g, snowflake(), snowflake(), ms()) for _ in range(3)]
    ingest([*events, {"type": "MESSAGE_CREATE"}, 7])
    ingest(events)
    ingest(None, raw=b"{oops")
    after = client.get("/metrics").content.decode()

    def delta(name: str) -> float:
        return metric(after, name) - metric(before, name)

    assert delta('guildstats_ingest_events_total{outcome="accepted"}') == 3
    assert delta('guildstats_ingest_events_total{outcome="duplicate"}') == 3
    assert delta('guildstats_ingest_rejected_total{reason="missing_field"}') == 1
    assert delta('guildstats_ingest_rejected_total{reason="not_an_object"}') == 1
    assert delta('guildstats_ingest_frames_total{result="not_json",transport="http"}') == 1
    assert delta("guildstats_processed_events_total") == 3
    assert delta('guildstats_task_duration_seconds_count{task="process_batches"}') >= 1
    assert metric(after, "guildstats_processing_lag_seconds") == 0.0
    assert "guildstats_pending_batches 0.0" in after


def test_a_fresh_start_without_a_heartbeat_is_a_warning_then_critical(guildstats_settings):
    guildstats_settings(WORKER_STARTUP_GRACE_SECONDS=3600)
    response = Client().get("/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["checks"]["workers"]["status"]) == ("degraded", "starting")
    guildstats_settings(WORKER_STARTUP_GRACE_SECONDS=0)
    assert Client().get("/health").status_code == 503


def test_a_503_is_logged_once_as_a_warning_naming_the_checks(caplog, guildstats_settings):
    guildstats_settings(WORKER_STARTUP_GRACE_SECONDS=0)
    with caplog.at_level("INFO"):
        assert Client().get("/health").status_code == 503
    records = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert records == [("ops.views", "WARNING", "/health answers 503: {'workers': 'down'}")]


def test_queue_depth_per_shard_in_health_and_metrics(ingest, monkeypatch, guildstats_settings):
    from pipeline import ingest as ingest_service

    guildstats_settings(PROCESSING_SHARDS=4)
    monkeypatch.setattr(ingest_service, "_enqueue", lambda pending: None)  # tasks lost
    ingest([message(g, snowflake(), snowflake(), ms()) for g in ("800", "801", "805")])
    ingest([message("809", snowflake(), snowflake(), ms())])  # a ledger row per frame and shard
    processing = Client().get("/health").json()["checks"]["processing"]
    assert processing["pendingBatchesByShard"] == {"0": 1, "1": 2}
    scrape = Client().get("/metrics").content.decode()
    assert 'guildstats_pending_batches_by_shard{shard="0"} 1.0' in scrape
    assert 'guildstats_pending_batches_by_shard{shard="1"} 2.0' in scrape
    assert "guildstats_broker_queue_length" in scrape


def test_json_log_lines(tmp_path):
    """GUILDSTATS_LOG_FORMAT=json: one object per line with time, level, logger, message and
    the guild and batch ids a log call gives."""
    import json
    import subprocess
    import sys

    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('pipeline.quarantine').error("
        "'quarantined %s', 'x', extra={'guild_id': 5, 'batch_id': 7})"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "GUILDSTATS_LOG_FORMAT": "json",
        "GUILDSTATS_VAR_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert set(line) == {"time", "level", "logger", "message", "guild_id", "batch_id"}
    assert (line["level"], line["logger"], line["message"]) == (
        "ERROR",
        "pipeline.quarantine",
        "quarantined x",
    )
    assert (line["guild_id"], line["batch_id"]) == (5, 7)
