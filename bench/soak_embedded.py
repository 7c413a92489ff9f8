"""Soak of the embedded default: ``make run``'s processes (SQLite, no Redis, the filesystem
broker of ``config.broker``) under a steady simulated feed, checked for crashes and lost work.

    .venv/bin/python bench/soak_embedded.py                # 30 minutes (the documented soak)
    .venv/bin/python bench/soak_embedded.py --minutes 3    # a quick look

It starts ``scripts/run.py`` (web, worker, Beat under supervisord) in a scratch var folder on its
own port, sends a small simulated feed (``manage.py simulate``) every ``--every`` seconds, and
at the end waits for the backlog, then prints: processes that exited (supervisord restarts
them, but a soak must see none), broker errors in the log, pending batches, quarantined events,
events stored vs. acknowledged, and /health. Exit status 1 if any check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between feeds")
    parser.add_argument("--port", type=int, default=8197)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="guildstats-soak-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(GUILDSTATS_VAR_DIR=str(var), GUILDSTATS_PORT=str(args.port))

    def run(*cmd: str) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True)
        if done.returncode:
            raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{done.stderr.decode()[-3000:]}")
        return done

    run(PY, "manage.py", "migrate", "--noinput")
    token = run(PY, "manage.py", "create_bot_token", "soak").stdout.decode().split()[-1]
    log = (var / "run.log").open("wb")
    server = subprocess.Popen(
        [PY, "scripts/run.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    health_url = f"http://127.0.0.1:{args.port}/health"
    acked = feeds = 0
    try:
        _wait_for(health_url, 60)
        deadline = time.monotonic() + args.minutes * 60
        while time.monotonic() < deadline:
            started = time.monotonic()
            out = run(
                PY,
                "manage.py",
                "simulate",
                "--guilds",
                "3",
                "--members",
                "20",
                "--hours",
                "0.05",
                "--seed",
                str(feeds + 1),
                "--token",
                token,
                "--url",
                f"ws://127.0.0.1:{args.port}/ws/bot/",
            ).stdout.decode()
            acked += int(re.search(r"accepted (\d+)", out).group(1))
            feeds += 1
            time.sleep(max(0.0, args.every - (time.monotonic() - started)))
        settle = time.monotonic() + 90
        while time.monotonic() < settle and _pending(var) > 0:
            time.sleep(2)
        health = _get_json(health_url)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()

    text = (var / "run.log").read_text(errors="replace")
    exited = re.findall(r"exited: (\w+)", text)
    broker_errors = [
        line for line in text.splitlines() if "JSONDecodeError" in line or "Unrecoverable" in line
    ]
    db = sqlite3.connect(var / "guildstats.sqlite3")
    stored = db.execute("SELECT count(*) FROM events").fetchone()[0]
    quarantined = db.execute("SELECT count(*) FROM quarantined_events").fetchone()[0]
    pending = _pending(var)
    checks = {
        "processes exited": (exited, exited == []),
        "broker errors": (len(broker_errors), not broker_errors),
        "pending batches": (pending, pending == 0),
        "quarantined events": (quarantined, quarantined == 0),
        "events stored / acknowledged": (f"{stored} / {acked}", stored == acked),
        "/health status": (health.get("status"), health.get("status") == "ok"),
    }
    print(f"soak of {args.minutes:g} min, {feeds} feeds, {acked} events acknowledged ({var})")
    for name, (value, ok) in checks.items():
        print(f"  {'ok ' if ok else 'BAD'} {name}: {value}")
    return 0 if all(ok for _value, ok in checks.values()) else 1


def _pending(var: Path) -> int:
    db = sqlite3.connect(var / "guildstats.sqlite3", timeout=30)
    try:
        return db.execute(
            "SELECT count(*) FROM ingest_batches WHERE processed_at IS NULL"
        ).fetchone()[0]
    finally:
        db.close()


def _get_json(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:  # 503 still carries the report
        return json.load(exc)


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            _get_json(url)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {seconds:.0f}s")


if __name__ == "__main__":
    sys.exit(main())
