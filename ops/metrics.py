"""/metrics: the instruments of ``core.telemetry`` from every process of the host, plus gauges
read from the database at scrape time (lag, pending batches, open voice sessions, quarantine)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from core import telemetry  # noqa: F401  (the task signals are connected on import)
from ops.health import pipeline_state


class PipelineStateCollector:
    """Scrape-time gauges read from the database (lag, pending batches, open voice sessions)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = pipeline_state()
        yield GaugeMetricFamily(
            "guildstats_processing_lag_seconds",
            "Age of the oldest acknowledged batch not yet applied to member statistics.",
            value=state.processing_lag_seconds,
        )
        yield GaugeMetricFamily(
            "guildstats_pending_batches",
            "Batches waiting to be processed.",
            value=state.pending_batches,
        )
        yield GaugeMetricFamily(
            "guildstats_open_voice_sessions",
            "Voice sessions currently open.",
            value=state.open_voice_sessions,
        )
        by_shard = GaugeMetricFamily(
            "guildstats_pending_batches_by_shard",
            "Batches waiting to be processed, per processing shard.",
            labels=["shard"],
        )
        for shard, count in sorted(state.pending_by_shard.items()):
            by_shard.add_metric([str(shard)], count)
        yield by_shard
        if state.broker_queue is not None:
            yield GaugeMetricFamily(
                "guildstats_broker_queue_length",
                "Tasks waiting in the Celery broker's queue.",
                value=state.broker_queue,
            )
        yield GaugeMetricFamily(
            "guildstats_quarantined_events",
            "Accepted events that processing could not apply, set aside (see the admin).",
            value=state.quarantined_events,
        )


def render_metrics() -> bytes:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(PipelineStateCollector())
    return generate_latest(registry)
