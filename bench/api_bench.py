"""API benchmark: p50/p95 latency of every stats endpoint (and the dashboard's HTML pages) for
the largest guild.

Loads a scratch PostgreSQL database with COPY — 1,000 guilds, 1M member rows (the largest guild
has 100k members), 30 days of per-member and per-channel daily counters, and raw events
(10M by default, which the API never reads but which make the database realistic) — starts the
real ASGI server (2 processes) and drives each endpoint with wrk over HTTP.

    .venv/bin/python bench/api_bench.py [--events 10000000] [--duration 10] [--cache-seconds 30]
        [--cold] [--reuse] [--only REGEX] [--without-names]

Needs wrk (Debian package ``wrk``). ``--cache-seconds 0`` (default) measures every request
computed; 30 is the service's default (each URL is then requested once before its run, as a
first visitor fills the cache). ``--cold`` runs every endpoint again with one connection and the
cache off. Printed last, in the same run: each endpoint against its target (issue 13: p95 <
50 ms, cold median < 25 ms; pages < 150 ms) and its throughput / that of the minimal
authenticated JSON view (``/api/whoami``: authentication, throttle, rendering).
``--without-names`` (issue 24) measures every endpoint again, same run and settings, with the
directory emptied, and prints p95 with names / p95 without.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_data import BIG_GUILD, load, loaded, mark_filled
from common import ROOT, manage, psycopg_url, scratch_database, service_env, start_server

SCRATCH_DB = "guildstats_bench_api"


# the floor of every answer: authentication, throttle and a JSON rendering, nothing computed
MINIMAL = "minimal (whoami)"
ENDPOINTS = {
    MINIMAL: "/api/whoami",
    "guild list": "/api/guilds/",
    "dashboard (today)": "{base}/dashboard?period=today",
    "dashboard (week)": "{base}/dashboard?period=week",
    "dashboard (month)": "{base}/dashboard?period=month",
    "dashboard (all)": "{base}/dashboard?period=all",
    "members (page 1, by messages)": "{base}/members?pageSize=50",
    "members (page 100, by lastSeen)": "{base}/members?page=100&sortBy=lastSeen",
    "members (activeOnly, minMessages)": "{base}/members?activeOnly=true&minMessages=10",
    "leaderboard (messages, all)": "{base}/leaderboard?category=messages&period=all",
    "leaderboard (overall, all)": "{base}/leaderboard?category=overall&period=all",
    "leaderboard (voice, week)": "{base}/leaderboard?category=voice&period=week",
    "leaderboard (overall, month)": "{base}/leaderboard?category=overall&period=month",
    "leaderboard (reactions, today)": "{base}/leaderboard?category=reactions&period=today",
    "overview": "{base}/overview",
    "activity (today, hour)": "{base}/activity?period=today&granularity=hour",
    "activity (week, day)": "{base}/activity?period=week&granularity=day",
    "activity (month, hour)": "{base}/activity?period=month&granularity=hour",
    "activity (month, week)": "{base}/activity?period=month&granularity=week",
    "activity (all, day)": "{base}/activity?period=all&granularity=day",
    "activity CSV (month, day)": "{base}/activity?period=month&granularity=day&format=csv",
    "heatmap (month)": "{base}/heatmap?period=month",
    "heatmap (all)": "{base}/heatmap?period=all",
    # the dashboard's HTML pages (issue 11: < 150 ms p95 with the cache on); the guild is made
    # public with member pages opted in, so they need no session
    "page: dashboard (week)": "{page}/?period=week",
    "page: dashboard (month, hour)": "{page}/?period=month&granularity=hour",
    "page: dashboard (all)": "{page}/?period=all",
    "page: members": "{page}/members/",
    "page: live.json (today)": "{page}/live.json?period=today",
}

REFRESHER = """
import os, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from stats.periodic import refresh_summaries
while True:
    refresh_summaries()
    time.sleep({every})
"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--cache-seconds", type=int, default=0)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database if it holds today's load"
    )
    parser.add_argument("--only", default="", help="regex: measure the matching endpoints only")
    parser.add_argument(
        "--cold", action="store_true", help="then each endpoint again, 1 connection, cache off"
    )
    parser.add_argument(
        "--without-names",
        action="store_true",
        help="then every endpoint again with the directory emptied (issue 24: names' cost)",
    )
    parser.add_argument(
        "--no-summaries",
        action="store_true",
        help="do not run the period-summary refresh (the Beat task) during the measure",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    db_url = database_url(SCRATCH_DB)
    reuse = args.reuse and loaded(db_url)
    if not reuse:
        db_url = scratch_database(SCRATCH_DB)
    env = service_env(
        db_url,
        GUILDSTATS_API_RATE="100000000/min",
        GUILDSTATS_API_CACHE_SECONDS=str(args.cache_seconds),
    )
    # its own Redis database and var/ folder: other benchmarks may run at the same time
    env["REDIS_URL"] = os.environ.get("BENCH_API_REDIS_URL", "redis://127.0.0.1:6379/13")
    env["GUILDSTATS_VAR_DIR"] = str(ROOT / "var" / "bench-api")
    manage(env, "migrate", "-v0")
    if not reuse:
        load(db_url, args.events)
    with psycopg.connect(psycopg_url(db_url), autocommit=True) as conn:
        if reuse:
            mark_filled(conn, datetime.now(UTC))
        conn.execute(  # a reused database: the previous runs' keys
            "DELETE FROM guilds_apikey_guilds WHERE apikey_id IN "
            "(SELECT id FROM guilds_apikey WHERE name = 'bench')"
        )
        conn.execute("DELETE FROM guilds_apikey WHERE name = 'bench'")
    key = manage(env, "create_api_key", "bench", "--guild", str(BIG_GUILD))
    # the pages, without a session
    with psycopg.connect(psycopg_url(db_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO dashboard_guildpagesettings (guild_id, level, members_pages_opt_in, "
            "updated_at) VALUES (%s, 'public', true, now()) ON CONFLICT (guild_id) DO UPDATE "
            "SET level = 'public', members_pages_opt_in = true",
            (BIG_GUILD,),
        )
    refresher = None
    if not args.no_summaries:  # what Beat does in production (refresh-period-summaries)
        refresher = subprocess.Popen(
            [sys.executable, "-c", REFRESHER.format(every=20)], cwd=ROOT, env=env
        )
    server = start_server(env, args.port, 2)
    base = f"http://127.0.0.1:{args.port}/api/guilds/{BIG_GUILD}/stats"
    page = f"http://127.0.0.1:{args.port}/guilds/{BIG_GUILD}"
    endpoints = {
        name: path.format(base=base, page=page)
        if "{base}" in path or "{page}" in path
        else f"http://127.0.0.1:{args.port}{path}"
        for name, path in ENDPOINTS.items()
        if name == MINIMAL or re.search(args.only, name)
    }
    try:
        time.sleep(6)
        cache = "off" if args.cache_seconds == 0 else f"{args.cache_seconds} s"
        print(f"\n{args.connections} connections, API cache {cache}")
        rows = measure(endpoints, key, args.connections, args.duration, warm=args.cache_seconds > 0)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    unnamed = {}
    if args.without_names:  # the same endpoints, the same server settings, no name known
        with psycopg.connect(psycopg_url(db_url), autocommit=True) as conn:
            conn.execute("TRUNCATE directory_members, directory_channels")
        server = start_server(env, args.port, 2)
        try:
            time.sleep(6)
            print(f"\n{args.connections} connections, API cache {cache}, the directory emptied")
            unnamed = measure(
                endpoints, key, args.connections, args.duration, warm=args.cache_seconds > 0
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    cold = {}
    if args.cold:  # each endpoint computed every time, one connection (issue 13: median < 25 ms)
        env["GUILDSTATS_API_CACHE_SECONDS"] = "0"
        server = start_server(env, args.port, 2)
        try:
            time.sleep(6)
            print("\n1 connection, API cache off (the cold computation)")
            cold = measure(endpoints, key, 1, args.duration, warm=False)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    if refresher is not None:
        refresher.terminate()
        refresher.wait(timeout=30)
    floor = rows[MINIMAL][3]
    print(
        f"\nagainst the targets (issue 13: p95 < 50 ms at {args.connections} connections"
        f"{', cold median < 25 ms' if cold else ''}; pages < 150 ms p95), and each endpoint's "
        f"throughput / the minimal authenticated view's ({floor:.0f} req/s):"
    )
    for name, (_p50, p95, _p99, rate) in rows.items():
        target = 150 if name.startswith("page:") else 50
        verdict = "ok" if p95 < target else "OVER"
        cold_part = ""
        if name in cold and not name.startswith("page:"):  # pages: the cached p95 only
            median = cold[name][0]
            cold_part = f"  cold p50 {median:6.1f} ms {'ok' if median < 25 else 'OVER'}"
        print(f"  {name:<36} p95 {p95:6.1f} ms {verdict:<4}  ratio {rate / floor:4.2f}{cold_part}")
    if unnamed:
        print("\nnames' cost, same run: p95 with names / p95 with the directory emptied")
        for name, (_p50, p95, _p99, _rate) in rows.items():
            if name in unnamed:
                print(
                    f"  {name:<36} {p95:6.1f} / {unnamed[name][1]:6.1f} ms = "
                    f"{p95 / unnamed[name][1]:4.2f}"
                )
    return 0


def measure(
    endpoints: dict[str, str], key: str, connections: int, duration: int, *, warm: bool
) -> dict[str, tuple[float, float, float, float]]:
    """wrk on each URL in turn: name → (p50, p95, p99 in ms, requests/s), printed as it goes."""
    print(f"{'endpoint':<36} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    rows = {}
    for name, url in endpoints.items():
        if warm:  # the first visitor fills the cache; the run measures the rest
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
            urllib.request.urlopen(request, timeout=120).read()
        out = subprocess.run(
            [
                "wrk",
                f"-t{min(2, connections)}",
                f"-c{connections}",
                f"-d{duration}s",
                "-s",
                str(ROOT / "bench" / "wrk_percentiles.lua"),
                "-H",
                f"Authorization: Bearer {key}",
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        match = re.search(
            r"GUILDSTATS p50=([\d.]+) p95=([\d.]+) p99=([\d.]+) requests=(\d+) errors=(\d+)",
            out,
        )
        p50, p95, p99, requests, errors = match.groups()
        rate = int(requests) / duration
        rows[name] = (float(p50), float(p95), float(p99), rate)
        flag = "" if int(errors) == 0 else f"  ({errors} errors)"
        print(
            f"{name:<36} {float(p50):>8.1f} {float(p95):>8.1f} {float(p99):>8.1f} "
            f"{rate:>8.0f}{flag}",
            flush=True,
        )
    return rows


def database_url(name: str) -> str:
    base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return urlparse(base)._replace(path=f"/{name}").geturl()


if __name__ == "__main__":
    sys.exit(main())
