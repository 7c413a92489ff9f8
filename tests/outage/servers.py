"""The private PostgreSQL and Redis servers of the outage tests (``tests/outage/stack.py``),
started from their binaries on free ports in a temporary folder; nothing here touches the
machine's shared PostgreSQL or Redis.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import redis


class StackUnavailable(Exception):
    """PostgreSQL or Redis binaries are missing here: the tests skip."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Call ``check`` until it returns something truthy (exceptions count as not yet)."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception as exc:
            last = exc
        else:
            if result:
                return result
        time.sleep(every)
    raise TimeoutError(f"{what} not within {timeout:.0f} s (last error: {last!r})")


def _postgres_bin() -> Path:
    found = os.environ.get("PG_BIN")
    if found:
        return Path(found)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise StackUnavailable("no PostgreSQL binaries (initdb); set PG_BIN")


class PrivatePostgres:
    """initdb into a temporary folder, trust auth, a free port; started and stopped by pg_ctl.

    initdb and postgres refuse to run as root: as root, they run as the ``postgres`` user.
    """

    def __init__(self, folder: Path) -> None:
        self.bin = _postgres_bin()
        self.folder = folder / "pg"
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = free_port()
        self.as_user: list[str] = []
        self.folder.mkdir(parents=True)
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise StackUnavailable("running as root and no postgres user") from exc
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/guildstats"

    def _run(self, *args: str, check: bool = True, timeout: float = 60) -> None:
        subprocess.run(
            [*self.as_user, *args],
            check=check,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()
        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE guildstats")

    def admin_url(self, database: str = "guildstats") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c fsync=off -c full_page_writes=off -c max_connections=100"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, *, check: bool = True) -> None:
        # -m fast: every client connection is terminated at once (what a restart does to them)
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=check
        )

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.admin_url(), autocommit=True, connect_timeout=2)


class PrivateRedis:
    def __init__(self, folder: Path) -> None:
        if shutil.which("redis-server") is None:
            raise StackUnavailable("no redis-server binary")
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # no persistence: a restart comes back empty, so whatever was queued is lost (the worst
        # case: the sweeper must find the backlog in the database)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=open(self.folder / "redis.log", "ab"),  # noqa: SIM115 - owned by the process
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_for(client.ping, 10, "redis-server up")
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
