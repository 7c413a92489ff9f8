"""What the benchmarks share: a scratch database, the service's environment, the server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def scratch_database(name: str) -> str:
    """Drop and create database ``name`` on BENCH_DATABASE_URL's server; return its URL, in the
    base URL's scheme (``timescale://`` selects the TimescaleDB engine; psycopg is given
    ``postgresql://``, and the extension is created in the new database)."""
    base = urlparse(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    )
    timescale = base.scheme == "timescale"
    server = base._replace(scheme="postgresql", path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    if timescale:
        scratch = base._replace(scheme="postgresql", path=f"/{name}").geturl()
        with psycopg.connect(scratch, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    return base._replace(path=f"/{name}").geturl()


def psycopg_url(url: str) -> str:
    """A service URL as psycopg takes it: ``timescale://`` is PostgreSQL to it."""
    return "postgresql://" + url[len("timescale://") :] if url.startswith("timescale://") else url


# The benchmarks' own Redis database, flushed at start (the test suite uses 15, its helpers
# 11 to 13): BENCH_REDIS_URL overrides it.
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")


def service_env(db_url: str, **extra: str) -> dict[str, str]:
    redis_url = BENCH_REDIS_URL
    return dict(
        os.environ,
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        DEBUG="false",
        SECRET_KEY="bench-only-secret",
        GUILDSTATS_VAR_DIR=str(ROOT / "var" / "bench"),
        LOG_LEVEL="WARNING",
        **extra,
    )


def manage(env: dict[str, str], *args: str) -> str:
    """Run a management command; return what it printed."""
    done = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def start_server(env: dict[str, str], port: int, workers: int, *extra: str) -> subprocess.Popen:
    command = [str(Path(PY).parent / "uvicorn"), "config.asgi:application", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning", *extra]
    return subprocess.Popen(command, cwd=ROOT, env=env)
