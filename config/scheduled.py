"""Every periodic task, in one place, each with the reason for its cadence.

Beat (django-celery-beat's DatabaseScheduler) copies these entries into its tables at start-up,
so an operator can see and pause them in the admin, but the code is the source of truth.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Re-enqueue ingest batches whose processing task was lost (broker restart, worker killed
    # before acking). Every 5 s keeps the worst-case extra lag of a lost task small.
    "sweep-unprocessed-batches": {
        "task": "stats.tasks.sweep_unprocessed_batches",
        "schedule": 5.0,
    },
    # Proof of life for /health: a worker that runs this every 15 s is reachable.
    "worker-heartbeat": {
        "task": "stats.tasks.record_worker_heartbeat",
        "schedule": 15.0,
    },
    # Close voice sessions left open past the cap (lost leave events); once a minute bounds how
    # long a dead session can linger beyond the cap, and the count never depends on when it runs.
    "close-stale-voice-sessions": {
        "task": "stats.tasks.close_stale_voice_sessions",
        "schedule": crontab(minute="*"),
    },
    # Snapshots (stats.services.rollups), every 5 minutes at :02, :07, …: each run fills every
    # 5-minute bucket that ended at least the grace delay ago (GUILDSTATS_ROLLUP_GRACE_SECONDS,
    # 2 min), then the hours that closed and the local days that ended (each guild's midnight
    # falls on a quarter hour, so days are checked every run), then recomputes buckets marked
    # stale by late events. One entry, so the hourly and daily fills, summed from the 5-minute
    # parts, always run right after the 5-minute fill they depend on; a scheduler that was down
    # catches up on its next run, and runs never overlap (advisory lock).
    "fill-snapshots": {
        "task": "stats.tasks.fill_snapshots",
        "schedule": crontab(minute="2-59/5"),
    },
    # The stats API answers big guilds' leaderboards, top members and active counts from
    # summaries at most 60 s minus the answer cache (30 s) old; older ones are ignored and the
    # API computes live. Every 20 s keeps them fresh even when a run takes a few seconds.
    "refresh-period-summaries": {
        "task": "stats.tasks.refresh_period_summaries",
        "schedule": 20.0,
    },
    # Nightly, off-peak: drop (and archive) raw events past retention. Deletes run in bounded
    # batches, so a large backlog never holds one long transaction.
    "apply-retention": {
        "task": "stats.tasks.apply_retention",
        "schedule": crontab(hour=2, minute=30),
    },
    # TimescaleDB only (a no-op elsewhere): compress chunks older than 7 days, nightly after
    # retention so that chunks about to be dropped are not compressed first.
    "compress-old-chunks": {
        "task": "stats.tasks.compress_old_chunks",
        "schedule": crontab(hour=3, minute=15),
    },
}
