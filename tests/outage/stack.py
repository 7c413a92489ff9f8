"""A private PostgreSQL, a private Redis and the real processes (uvicorn, a Celery worker and
Beat) started as in the Procfile against them, for the outage tests.

Nothing here touches the machine's shared PostgreSQL or Redis: both servers are started from
their binaries on free ports in a temporary folder, and only they are stopped and restarted.
Every process is started in its own session, so stopping it kills its whole process group
(uvicorn's and Celery's children included).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from tests.outage.servers import (
    PrivatePostgres,
    PrivateRedis,
    StackUnavailable,
    _postgres_bin,
    free_port,
    wait_for,
)

__all__ = [
    "ROOT",
    "START_TIMEOUT",
    "TASK_FAILED",
    "VENV_BIN",
    "PrivatePostgres",
    "PrivateRedis",
    "Stack",
    "StackUnavailable",
    "free_port",
    "wait_for",
]

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
START_TIMEOUT = 90.0
TASK_FAILED = re.compile(r"^\[([0-9-]+ [0-9:,]+): ERROR/[^\]]*\] Task \S+ raised unexpected")


class Stack:
    """The private servers, the migrated database, a bot token, an API key, and the processes."""

    def __init__(self) -> None:
        _postgres_bin()  # both raise StackUnavailable before anything is created
        if shutil.which("redis-server") is None:
            raise StackUnavailable("no redis-server binary")
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            raise StackUnavailable("running as root without runuser")
        self.folder = Path(tempfile.mkdtemp(prefix="guildstats-outage-"))
        os.chmod(self.folder, 0o755)  # the postgres user must reach its folder inside
        self.pg = PrivatePostgres(self.folder)
        self.redis = PrivateRedis(self.folder)
        self.web_port = free_port()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._commands: dict[str, tuple[list[str], dict[str, str]]] = {}
        self.guild_id = "100000000000000777"
        self.bot_token = ""
        self.api_key = ""
        self.http = requests.Session()
        self.http.trust_env = False  # no proxy from the environment for 127.0.0.1

    # --- environment ------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        """The outer test run's settings (its DATABASE_URL, var dir, metrics folder, …) are not
        the processes' business: they get the private servers and a folder of their own."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GUILDSTATS_", "CELERY_", "DJANGO_", "PROMETHEUS_"))
            and key not in ("DATABASE_URL", "REDIS_URL")
        }
        var = self.folder / "var"
        env.update(
            DATABASE_URL=self.pg.url,
            REDIS_URL=self.redis.url,
            GUILDSTATS_VAR_DIR=str(var),
            PROMETHEUS_MULTIPROC_DIR=str(var / "prometheus"),
            PYTHONUNBUFFERED="1",
            LOG_LEVEL="INFO",
        )
        env.update(extra)
        return env

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout.strip()

    # --- processes --------------------------------------------------------------------------
    def spawn(self, name: str, argv: list[str], **env: str) -> None:
        self._commands[name] = (argv, env)
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        self.processes[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole at the end
        )

    def start(self) -> None:
        self.pg.init()
        self.redis.start()
        self.manage("migrate", "--noinput")
        self.bot_token = self.manage("create_bot_token", "outage-bot").splitlines()[-1]
        self.api_key = self.manage(
            "create_api_key", "outage-reader", "--guild", self.guild_id
        ).splitlines()[-1]
        # the Procfile's three processes, with its options
        self.spawn(
            "web",
            [
                str(VENV_BIN / "uvicorn"),
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.web_port),
                "--ws-max-size",
                "16777216",
                "--ws-per-message-deflate",
                "false",
                "--workers",
                "1",
                "--no-access-log",
            ],
        )
        self.spawn(
            "worker",
            [str(VENV_BIN / "celery"), "-A", "config", "worker", "-l", "INFO", "-c", "2"],
            GUILDSTATS_DB_POOL_MAX="0",
        )
        self.spawn(
            "beat",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "config",
                "beat",
                "-l",
                "INFO",
                "-s",
                str(self.folder / "celerybeat-schedule"),
            ],
            GUILDSTATS_DB_POOL_MAX="0",
        )
        # healthy = database, Redis, and a worker heartbeat sent by Beat through Redis
        wait_for(lambda: self.health()[0] == 200, START_TIMEOUT, "the stack healthy", every=0.5)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Stop one process (its whole group) with ``sig`` and wait for it to be gone."""
        process = self.processes[name]
        _kill_group(process, sig)
        process.wait(30)

    def respawn(self, name: str) -> None:
        """Start a stopped process again, as it was first started."""
        argv, env = self._commands[name]
        self.spawn(name, argv, **env)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 60) -> str:
        path = self.folder / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        for process in self.processes.values():
            _kill_group(process, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                _kill_group(process, signal.SIGKILL)
                process.wait(10)
        self.processes.clear()
        self.redis.stop()
        with contextlib.suppress(Exception):
            self.pg.stop(check=False)
        if os.environ.get("GUILDSTATS_OUTAGE_KEEP"):
            print(f"outage stack kept in {self.folder}")
        else:
            shutil.rmtree(self.folder, ignore_errors=True)

    # --- clients ----------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.web_port}/ws/bot/"

    def health(self) -> tuple[int, dict[str, Any]]:
        response = self.http.get(f"{self.base}/health", timeout=10)
        return response.status_code, response.json()

    def ingest(self, events: list[dict[str, Any]], timeout: float = 10) -> tuple[int, Any, float]:
        """POST a frame; (status, body, seconds)."""
        return self._call(
            "post", "/api/ingest/events", f"Bot {self.bot_token}", timeout, json=events
        )

    def api(self, path: str, timeout: float = 10) -> tuple[int, Any, float]:
        return self._call("get", path, f"Bearer {self.api_key}", timeout)

    def _call(
        self, method: str, path: str, authorization: str, timeout: float, **kwargs: Any
    ) -> tuple[int, Any, float]:
        started = time.monotonic()
        response = getattr(self.http, method)(
            f"{self.base}{path}",
            headers={"Authorization": authorization},
            timeout=timeout,
            **kwargs,
        )
        elapsed = time.monotonic() - started
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return response.status_code, body, elapsed

    def task_failures_since(self, since: datetime) -> list[str]:
        """Worker log lines of tasks that failed at or after ``since`` (local time, as Celery
        logs it)."""
        failures = []
        for line in (self.folder / "worker.log").read_text(errors="replace").splitlines():
            match = TASK_FAILED.match(line)
            if match and datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f") >= since:
                failures.append(line[:300])
        return failures

    def message_counts(self, guild_ids: list[int]) -> dict[tuple[int, int], int]:
        """(guild, user) -> member_stats.total_messages, read straight from the database."""
        with self.pg.connect() as conn:
            rows = conn.execute(
                "SELECT guild_id, user_id, total_messages FROM member_stats"
                " WHERE guild_id = ANY(%s)",
                [guild_ids],
            ).fetchall()
        return {(int(guild), int(user)): int(count) for guild, user, count in rows}

    def stored_events(self, id_prefix: str) -> int:
        """Events stored whose client id starts with ``id_prefix-``."""
        with self.pg.connect() as conn:
            row = conn.execute(
                "SELECT count(*) FROM events WHERE client_event_id LIKE %s", [f"{id_prefix}-%"]
            ).fetchone()
        return int(row[0]) if row else 0

    def pending_batches(self) -> int:
        with self.pg.connect() as conn:
            row = conn.execute(
                "SELECT count(*) FROM ingest_batches WHERE processed_at IS NULL"
            ).fetchone()
        return int(row[0]) if row else 0


def _kill_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
