"""``make run``'s processes are supervised: one that dies is restarted, the others keep running.

Starts the real ``scripts/run.py`` (supervisord over the Procfile) on the embedded defaults in a
scratch folder and port, kills the worker with SIGKILL, and watches it come back while the web
server keeps answering."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUPERVISORCTL = str(Path(sys.executable).with_name("supervisorctl"))

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="run once, in the embedded (SQLite) suite"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
        return True
    except urllib.error.HTTPError:
        return True  # a 503 is an answer
    except OSError:
        return False


def wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def test_a_killed_worker_is_restarted_and_the_web_server_keeps_answering(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(GUILDSTATS_VAR_DIR=str(tmp_path), GUILDSTATS_PORT=str(port))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    server = subprocess.Popen(
        [sys.executable, "scripts/run.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    config = str(tmp_path / "supervisord.conf")

    def ctl(*args: str) -> str:
        return subprocess.run(
            [SUPERVISORCTL, "-c", config, *args], capture_output=True, text=True, env=env
        ).stdout

    try:
        url = f"http://127.0.0.1:{port}/health"
        assert wait(lambda: answers(url), 60), "web never answered"
        assert wait(lambda: ctl("status").count("RUNNING") == 3, 30), ctl("status")
        worker = int(ctl("pid", "worker").strip())
        web = int(ctl("pid", "web").strip())
        os.kill(worker, signal.SIGKILL)

        def restarted() -> bool:
            pid = ctl("pid", "worker").strip()
            return (
                pid.isdigit()
                and int(pid) not in (0, worker)
                and "RUNNING" in ctl("status", "worker")
            )

        assert wait(restarted, 30), ctl("status")
        assert int(ctl("pid", "web").strip()) == web  # untouched
        assert answers(url)
        assert "RUNNING" in ctl("status", "beat")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
