"""Pick the database engine from DATABASE_URL.

Three backends share one codebase: SQLite (embedded default and fast tests), plain PostgreSQL, and
PostgreSQL with TimescaleDB. django-timescaledb's engine fails on a database without the extension,
so it is only selected for the explicit ``timescale://`` scheme.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url

from config.env import env_int

TIMESCALE_ENGINE = "timescale.db.backends.postgresql"
POSTGRES_SCHEMES = ("postgres://", "postgresql://", "pgsql://")


def database_config(url: str | None, default_sqlite_path: Path) -> dict[str, Any]:
    """Return a Django DATABASES['default'] entry for ``url`` (or the embedded SQLite file)."""
    if not url:
        url = f"sqlite:///{default_sqlite_path}"
    if url.startswith("timescale://"):
        config = _postgres(dj_database_url.parse("postgres://" + url[len("timescale://") :]))
        config["ENGINE"] = TIMESCALE_ENGINE
    elif url.startswith(POSTGRES_SCHEMES):
        config = _postgres(dj_database_url.parse(url))
    elif url.startswith("sqlite://"):
        config = dj_database_url.parse(url)
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


def _postgres(config: dict[str, Any]) -> dict[str, Any]:
    """A psycopg connection pool per process, shared by its threads.

    Under ASGI, Django runs each request's sync code on a fresh thread, and a per-thread
    persistent connection is never reused; the pool hands connections back instead (Django
    then wants CONN_MAX_AGE = 0). ``GUILDSTATS_DB_POOL_MAX=0`` turns the pool off, for
    single-threaded processes (the Celery worker and Beat in the Procfile), which keep one
    persistent connection instead.
    """
    pool_max = env_int("GUILDSTATS_DB_POOL_MAX", 10)
    if pool_max > 0:
        config["CONN_MAX_AGE"] = 0
        config.setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": pool_max}
    else:
        config["CONN_MAX_AGE"] = env_int("GUILDSTATS_DB_CONN_MAX_AGE", 60)
    return config
