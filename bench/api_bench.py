"""API benchmark: p50/p95 latency of every stats endpoint for the largest guild.

Loads a scratch PostgreSQL database with COPY — 1,000 guilds, 1M member rows (the largest guild
has 100k members), 30 days of per-member and per-channel daily counters, and raw events
(10M by default, which the API never reads but which make the database realistic) — starts the
real ASGI server (2 processes) and drives each endpoint with wrk over HTTP.

    .venv/bin/python bench/api_bench.py [--events 10000000] [--duration 10] [--cache-seconds 0]

Needs wrk (Debian package ``wrk``). ``--cache-seconds 0`` (default) measures every request
computed; the service default caches dashboard and leaderboard for 30 s.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, manage, scratch_database, service_env, start_server

SCRATCH_DB = "guildstats_bench_api"
BIG_GUILD = 10**17 + 1
GUILDS = 1000
BIG_MEMBERS = 100_000
OTHER_MEMBERS = 900  # x 999 guilds: ~900k


def copy_rows(
    conn: psycopg.Connection, table: str, columns: list[str], types: list[str], rows
) -> int:
    count = 0
    with conn.cursor().copy(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def guild_ids() -> list[int]:
    return [BIG_GUILD] + [BIG_GUILD + 1 + g for g in range(GUILDS - 1)]


def members(rng: random.Random, now: datetime):
    for guild in guild_ids():
        size = BIG_MEMBERS if guild == BIG_GUILD else OTHER_MEMBERS
        for i in range(size):
            rank = i + 1
            messages = int(5000 / rank**0.8) + rng.randint(0, 3)
            voice = int(360000 / rank**0.9)
            seen = now - timedelta(minutes=rng.randint(0, 60 * 24 * 30))
            yield (
                guild,
                2 * 10**17 + i,
                False,
                messages,
                voice,
                messages // 3,
                messages // 4,
                seen,
                seen,
                seen,
                None,
                now,
                now,
            )


def daily(rng: random.Random, today: date):
    for guild in guild_ids():
        active = 20_000 if guild == BIG_GUILD else 100
        for back in range(30):
            day = today - timedelta(days=back)
            for i in range(active):
                yield (
                    guild,
                    day,
                    2 * 10**17 + rng.randrange(active * 3) * 0 + i,
                    rng.randint(0, 40),
                    rng.randint(0, 3600),
                    rng.randint(0, 10),
                    rng.randint(0, 10),
                )


def channel_daily(rng: random.Random, today: date):
    for guild in guild_ids():
        for back in range(30):
            for channel in range(10):
                yield (
                    guild,
                    today - timedelta(days=back),
                    3 * 10**17 + channel,
                    rng.randint(0, 5000),
                    rng.randint(0, 36000),
                )


def events(count: int, now: datetime):
    start = now - timedelta(days=1)
    step = timedelta(days=1) / max(count, 1)
    guilds = guild_ids()
    for i in range(count):
        ts = start + step * i
        yield (
            1 + i // 1000,
            "MESSAGE_CREATE",
            guilds[i % GUILDS],
            ts,
            2 * 10**17 + i % 5000,
            3 * 10**17 + i % 10,
            4 * 10**17 + i,
            f"{i:032x}",
            now,
        )


def load_snapshots(conn: psycopg.Connection, now: datetime) -> int:
    """Daily, hourly and 5-minute snapshot rows as the fill would have left them at ``now``,
    consistent with the daily counters: a daily row per guild and finished day (its totals are
    the guild's day, its active members the member days with activity), 24 hourly rows per
    finished day and one per finished hour of today (the day's totals split evenly, so they add
    up exactly), and 5-minute rows for the current hour's finished buckets. Only buckets past
    the rollup grace delay exist, as in production."""
    filled_until = now - timedelta(minutes=2)
    this_hour = filled_until.replace(minute=0, second=0, microsecond=0)
    conn.execute(
        "INSERT INTO metrics_snapshots (guild_id, period_type, period_start, period_end, "
        "total_messages, total_voice_seconds, total_reactions, unique_active_users, data, "
        "created_at) "
        "SELECT g.guild_id, 'daily', g.day::timestamp AT TIME ZONE 'UTC', "
        "(g.day + 1)::timestamp AT TIME ZONE 'UTC', g.messages, g.voice_seconds, g.reactions, "
        "u.n, jsonb_build_object('countsByType', jsonb_build_object('MESSAGE_CREATE', "
        "g.messages)), now() FROM guild_daily_stats g JOIN (SELECT guild_id, day, count(*) n "
        "FROM member_daily_stats WHERE messages > 0 OR voice_seconds > 0 OR "
        "reactions_given > 0 GROUP BY 1, 2) u USING (guild_id, day) WHERE g.day < %s",
        [now.date()],
    )
    # hour h of a day gets total // 24, plus one for h < total % 24: the hours add up exactly
    conn.execute(
        "INSERT INTO metrics_snapshots (guild_id, period_type, period_start, period_end, "
        "total_messages, total_voice_seconds, total_reactions, unique_active_users, data, "
        "created_at) "
        "SELECT guild_id, 'hourly', h, h + interval '1 hour', m, v, r, greatest(u, 1), "
        "jsonb_build_object('countsByType', jsonb_build_object('MESSAGE_CREATE', m)), now() "
        "FROM (SELECT g.guild_id, g.day::timestamp AT TIME ZONE 'UTC' + i * interval '1 hour' h, "
        "g.messages / 24 + (i < g.messages %% 24)::int m, "
        "g.voice_seconds / 24 + (i < g.voice_seconds %% 24)::int v, "
        "g.reactions / 24 + (i < g.reactions %% 24)::int r, g.messages / 240 u "
        "FROM guild_daily_stats g CROSS JOIN generate_series(0, 23) i) x "
        "WHERE h + interval '1 hour' <= %s AND (m > 0 OR v > 0 OR r > 0)",
        [this_hour],
    )
    conn.execute(
        "INSERT INTO metrics_snapshots (guild_id, period_type, period_start, period_end, "
        "total_messages, total_voice_seconds, total_reactions, unique_active_users, data, "
        "created_at) "
        "SELECT guild_id, '5min', b, b + interval '5 minutes', messages / 288, "
        "voice_seconds / 288, reactions / 288, greatest(messages / 2880, 1), "
        "jsonb_build_object('countsByType', jsonb_build_object('MESSAGE_CREATE', "
        "messages / 288)), now() FROM guild_daily_stats CROSS JOIN generate_series("
        "%s::timestamptz, %s::timestamptz - interval '5 minutes', interval '5 minutes') b "
        "WHERE day = %s",
        [this_hour, floor_5min(filled_until), now.date()],
    )
    return conn.execute("SELECT count(*) FROM metrics_snapshots").fetchone()[0]


def floor_5min(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


def loaded(db_url: str) -> bool:
    """Whether ``db_url`` already holds a complete load of today (``--reuse``)."""
    try:
        with psycopg.connect(db_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM member_stats), "
                "(SELECT max(day) FROM guild_daily_stats), "
                "(SELECT count(*) FROM metrics_snapshots WHERE period_type = 'daily')"
            ).fetchone()
    except psycopg.Error:
        return False
    return row[0] >= GUILDS * OTHER_MEMBERS and row[1] == datetime.now(UTC).date() and row[2] > 0


def load(db_url: str, n_events: int) -> None:
    rng = random.Random(3)
    now = datetime.now(UTC)
    with psycopg.connect(db_url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute(
            "INSERT INTO guilds_guild (guild_id, name, member_count, features, "
            "premium_tier, premium_subscription_count, is_active, timezone, "
            "excluded_channel_ids, count_bots, created_at, updated_at) "
            "SELECT g, 'guild ' || g, 0, '[]', 0, 0, true, 'UTC', '[]', false, now(), "
            "now() FROM unnest(%s::bigint[]) g",
            [guild_ids()],
        )
        n = copy_rows(
            conn,
            "member_stats",
            [
                "guild_id",
                "user_id",
                "is_bot",
                "total_messages",
                "total_voice_seconds",
                "total_reactions_given",
                "total_reactions_received",
                "last_message_at",
                "last_voice_at",
                "last_seen",
                "joined_at",
                "created_at",
                "updated_at",
            ],
            [
                "int8",
                "int8",
                "bool",
                "int8",
                "int8",
                "int8",
                "int8",
                "timestamptz",
                "timestamptz",
                "timestamptz",
                "timestamptz",
                "timestamptz",
                "timestamptz",
            ],
            members(rng, now),
        )
        print(f"member_stats:        {n:,} rows", flush=True)
        today = now.date()
        n = copy_rows(
            conn,
            "member_daily_stats",
            [
                "guild_id",
                "day",
                "user_id",
                "messages",
                "voice_seconds",
                "reactions_given",
                "reactions_received",
            ],
            ["int8", "date", "int8", "int4", "int4", "int4", "int4"],
            daily(rng, today),
        )
        print(f"member_daily_stats:  {n:,} rows", flush=True)
        n = copy_rows(
            conn,
            "channel_daily_stats",
            ["guild_id", "day", "channel_id", "messages", "voice_seconds"],
            ["int8", "date", "int8", "int8", "int8"],
            channel_daily(rng, today),
        )
        print(f"channel_daily_stats: {n:,} rows", flush=True)
        conn.execute(
            "INSERT INTO guild_daily_stats (guild_id, day, messages, voice_seconds, reactions) "
            "SELECT guild_id, day, sum(messages), sum(voice_seconds), sum(reactions_given) "
            "FROM member_daily_stats GROUP BY guild_id, day"
        )  # what the processors keep in step with the member days
        n = copy_rows(
            conn,
            "events",
            [
                "batch_id",
                "type",
                "guild_id",
                "timestamp",
                "user_id",
                "channel_id",
                "message_id",
                "dedupe_key",
                "created_at",
            ],
            ["int8", "text", "int8", "timestamptz", "int8", "int8", "int8", "text", "timestamptz"],
            events(n_events, now),
        )
        print(f"events:              {n:,} rows", flush=True)
        n = load_snapshots(conn, now)
        print(f"metrics_snapshots:   {n:,} rows", flush=True)
        conn.execute("VACUUM ANALYZE")
        print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)


ENDPOINTS = {
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
}

REFRESHER = """
import os, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from stats.operations.summaries import refresh_summaries
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
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(  # a reused database: the previous runs' keys
            "DELETE FROM guilds_apikey_guilds WHERE apikey_id IN "
            "(SELECT id FROM guilds_apikey WHERE name = 'bench')"
        )
        conn.execute("DELETE FROM guilds_apikey WHERE name = 'bench'")
    key = manage(env, "create_api_key", "bench", "--guild", str(BIG_GUILD))
    refresher = None
    if not args.no_summaries:  # what Beat does in production (refresh-period-summaries)
        refresher = subprocess.Popen(
            [sys.executable, "-c", REFRESHER.format(every=20)], cwd=ROOT, env=env
        )
    server = start_server(env, args.port, 2)
    base = f"http://127.0.0.1:{args.port}/api/guilds/{BIG_GUILD}/stats"
    endpoints = {
        name: path.format(base=base) if "{base}" in path else f"http://127.0.0.1:{args.port}{path}"
        for name, path in ENDPOINTS.items()
        if re.search(args.only, name)
    }
    try:
        time.sleep(6)
        print(
            f"\n{args.connections} connections, API cache "
            f"{'off' if args.cache_seconds == 0 else f'{args.cache_seconds} s'}"
        )
        print(f"{'endpoint':<36} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8}")
        for name, url in endpoints.items():
            out = subprocess.run(
                [
                    "wrk",
                    f"-t{min(2, args.connections)}",
                    f"-c{args.connections}",
                    f"-d{args.duration}s",
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
                r"GUILDSTATS p50=([\d.]+) p95=([\d.]+) p99=([\d.]+) "
                r"requests=(\d+) errors=(\d+)",
                out,
            )
            p50, p95, p99, requests, errors = match.groups()
            rate = int(requests) / args.duration
            flag = "" if int(errors) == 0 else f"  ({errors} errors)"
            print(
                f"{name:<36} {float(p50):>8.1f} {float(p95):>8.1f} {float(p99):>8.1f} "
                f"{rate:>8.0f}{flag}",
                flush=True,
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        if refresher is not None:
            refresher.terminate()
            refresher.wait(timeout=30)
    return 0


def database_url(name: str) -> str:
    base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return urlparse(base)._replace(path=f"/{name}").geturl()


if __name__ == "__main__":
    sys.exit(main())
