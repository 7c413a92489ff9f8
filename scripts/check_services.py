"""Fail loudly (exit 1) when the PostgreSQL or Redis the test suite needs is unreachable;
``--drop-test-database URL`` drops the run's test database after the suite."""

from __future__ import annotations

import sys
from urllib.parse import urlparse, urlunparse

import psycopg
import redis


def server_url(database_url: str) -> str:
    """The server's maintenance database: the suite's own database is created by the test run
    (its name is unique to the run), and ``timescale://`` is PostgreSQL to psycopg."""
    url = urlparse(database_url)
    scheme = "postgresql" if url.scheme in ("timescale", "postgres", "postgresql") else url.scheme
    return urlunparse(url._replace(scheme=scheme, path="/postgres"))


def main(database_url: str, redis_url: str) -> int:
    problems = []
    try:
        with psycopg.connect(server_url(database_url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        problems.append(f"PostgreSQL unreachable at {database_url}: {exc}")
    try:
        redis.Redis.from_url(redis_url, socket_timeout=5).ping()
    except Exception as exc:
        problems.append(f"Redis unreachable at {redis_url}: {exc}")
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    if problems:
        print("Start the services (see README, 'Services') and run again.", file=sys.stderr)
        return 1
    print("PostgreSQL and Redis are reachable.")
    return 0


def drop_test_database(database_url: str) -> int:
    """Drop the run's test database (``test_<name>``) if pytest-django could not (a session
    still connected at teardown), so no run leaves one behind on a shared server."""
    name = "test_" + urlparse(database_url).path.lstrip("/")
    with psycopg.connect(server_url(database_url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--drop-test-database":
        sys.exit(drop_test_database(sys.argv[2]))
    sys.exit(main(sys.argv[1], sys.argv[2]))
