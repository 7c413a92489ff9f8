"""Pick the database engine from DATABASE_URL.

Three backends share one codebase: SQLite (embedded default and fast tests), plain PostgreSQL, and
PostgreSQL with TimescaleDB. django-timescaledb's engine fails on a database without the extension,
so it is only selected for the explicit ``timescale://`` scheme.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dj_database_url

from core.env import env_int

TIMESCALE_ENGINE = "timescale.db.backends.postgresql"
POSTGRES_SCHEMES = ("postgres://", "postgresql://", "pgsql://")


def database_config(url: str | None, default_sqlite_path: Path) -> dict[str, Any]:
    """Return a Django DATABASES['default'] entry for ``url`` (or the embedded SQLite file)."""
    if not url:
        url = f"sqlite:///{default_sqlite_path}"
    config: dict[str, Any]
    if url.startswith("timescale://"):
        config = _postgres(dj_database_url.parse("postgres://" + url[len("timescale://") :]))
        config["ENGINE"] = TIMESCALE_ENGINE
    elif url.startswith(POSTGRES_SCHEMES):
        config = _postgres(dj_database_url.parse(url))
    elif url.startswith("sqlite://"):
        config = dict(dj_database_url.parse(url))
        # IMMEDIATE takes the write lock when a transaction begins, so two workers never read
        # the same state and then both write (SQLite's stand-in for row locks); the timeout
        # rides out contention.
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
        name = str(config["NAME"])
        if name not in (":memory:", ""):
            Path(name).parent.mkdir(parents=True, exist_ok=True)
            config["TEST"] = {"NAME": str(Path(name).with_name("test_" + Path(name).name))}
    else:
        raise ValueError(
            "DATABASE_URL must start with sqlite://, postgres://, postgresql:// or timescale://"
        )
    return config


# Outages (issue requirement 3): a request must fail within about 2 s while PostgreSQL is down
# (ingest then answers 503 / an error frame and the bot retries), not hang for psycopg_pool's
# default 30 s, and every process must come back by itself when PostgreSQL does.
CONNECT_TIMEOUT_SECONDS = 2  # libpq's connect_timeout (whole seconds, 2 at least)
# How long a request waits for a pooled connection. While PostgreSQL is down every request waits
# exactly this long (the pool keeps failing to connect), so it is what bounds the time to a 503;
# under load it is also the longest queue for a connection before "retry" (10 per process).
POOL_TIMEOUT_SECONDS = 1.5
# psycopg_pool retries a failed connect with exponential backoff (1, 2, 4, 8 … s) for this long
# before giving up (default 5 minutes); the next request then starts a new attempt at once. With
# the default, a pool that lost its connections in a 20 s outage could wait up to ~15 s more
# after PostgreSQL is back; with 5 s, the first request after the outage reconnects at once.
POOL_RECONNECT_TIMEOUT_SECONDS = 5.0


def _postgres(parsed: Mapping[str, Any]) -> dict[str, Any]:
    """A psycopg connection pool per process, shared by its threads.

    Under ASGI, Django runs each request's sync code on a fresh thread, and a per-thread
    persistent connection is never reused; the pool hands connections back instead (Django
    then wants CONN_MAX_AGE = 0). ``GUILDSTATS_DB_POOL_MAX=0`` turns the pool off, for
    single-threaded processes (the Celery worker and Beat in the Procfile), which keep one
    persistent connection instead.

    CONN_HEALTH_CHECKS makes both survive a PostgreSQL restart without keeping a dead
    connection: the pool checks a connection before handing it out (psycopg_pool's
    ``check_connection``, one empty round trip) and replaces a dead one; a persistent connection
    is checked on its first use after each request or task starts (``close_old_connections``,
    called by Django per request and by ``config.celery`` per task).
    """
    config = dict(parsed)
    options = config.setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    config["CONN_HEALTH_CHECKS"] = True
    pool_max = env_int("GUILDSTATS_DB_POOL_MAX", 10)
    if pool_max > 0:
        config["CONN_MAX_AGE"] = 0
        options["pool"] = {
            "min_size": 1,
            "max_size": pool_max,
            "timeout": POOL_TIMEOUT_SECONDS,
            "reconnect_timeout": POOL_RECONNECT_TIMEOUT_SECONDS,
        }
    else:
        config["CONN_MAX_AGE"] = env_int("GUILDSTATS_DB_CONN_MAX_AGE", 60)
    return config
