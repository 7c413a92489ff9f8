"""Every periodic task, in one place, each with the reason for its cadence.

Beat (django-celery-beat's DatabaseScheduler) copies these entries into its tables at start-up,
so an operator can see and pause them in the admin, but the code is the source of truth.
"""

from datetime import timedelta

from celery.schedules import crontab


def _every(schedule: float | crontab, interval_seconds: float) -> dict[str, object]:
    """A schedule whose runs expire after 1.5 times their interval (PostHog's
    ``add_periodic_task_with_expiry``): a worker that was stalled is not handed a pile of stale
    runs of the same task when it comes back, only the next one. ``expire_seconds`` is how
    django-celery-beat's DatabaseScheduler stores it (it sends each run with ``expires``)."""
    return {"schedule": schedule, "options": {"expire_seconds": round(interval_seconds * 1.5)}}


DAY = timedelta(days=1).total_seconds()

BEAT_SCHEDULE = {
    # Re-enqueue ingest batches whose processing task was lost (broker restart, worker killed
    # before acking). Every 5 s keeps the worst-case extra lag of a lost task small.
    "sweep-unprocessed-batches": {
        "task": "stats.tasks.sweep_unprocessed_batches",
        **_every(5.0, 5),  # expires after 8 s
    },
    # Proof of life for /health: a worker that runs this every 15 s is reachable.
    "worker-heartbeat": {
        "task": "stats.tasks.record_worker_heartbeat",
        **_every(15.0, 15),
    },
    # Close voice sessions left open past the cap (lost leave events); once a minute bounds how
    # long a dead session can linger beyond the cap, and the count never depends on when it runs.
    "close-stale-voice-sessions": {
        "task": "stats.tasks.close_stale_voice_sessions",
        **_every(crontab(minute="*"), 60),
    },
    # Snapshots (stats.rollups.fill), every 5 minutes at :02, :07, …: each run fills every
    # 5-minute bucket that ended at least the grace delay ago (GUILDSTATS_ROLLUP_GRACE_SECONDS,
    # 2 min), then the hours that closed and the local days that ended (each guild's midnight
    # falls on a quarter hour, so days are checked every run), then recomputes buckets marked
    # stale by late events. One entry, so the hourly and daily fills, summed from the 5-minute
    # parts, always run right after the 5-minute fill they depend on; a scheduler that was down
    # catches up on its next run, and runs never overlap (advisory lock).
    "fill-snapshots": {
        "task": "stats.tasks.fill_snapshots",
        **_every(crontab(minute="2-59/5"), 300),
    },
    # The stats API answers big guilds' leaderboards, top members and active counts from
    # summaries at most 60 s minus the answer cache (30 s) old; older ones are ignored and the
    # API computes live. Every 20 s keeps them fresh even when a run takes a few seconds.
    "refresh-period-summaries": {
        "task": "stats.tasks.refresh_period_summaries",
        **_every(20.0, 20),
    },
    # Nightly, off-peak: drop (and archive) raw events past retention. Deletes run in bounded
    # batches, so a large backlog never holds one long transaction.
    "apply-retention": {
        "task": "stats.tasks.apply_retention",
        **_every(crontab(hour=2, minute=30), DAY),
    },
    # TimescaleDB only (a no-op elsewhere): compress chunks older than 7 days, nightly after
    # retention so that chunks about to be dropped are not compressed first.
    "compress-old-chunks": {
        "task": "stats.tasks.compress_old_chunks",
        **_every(crontab(hour=3, minute=15), DAY),
    },
}
