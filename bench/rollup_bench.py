"""Rollup benchmark (issue 3): fill every 5-minute, hourly and daily bucket of one day of
10M raw events from 1,000 guilds, from scratch, on PostgreSQL.

Loads a scratch database with COPY: 1,000 guilds of skewed sizes in a mix of time zones (one
with a DST change that day, one at +05:30), 10M events over 24 hours (messages, reactions with
emojis, voice transitions, a few other types), the voice sessions the processors would have
logged, member rows with some bots, and excluded channels. Then runs the fill the way Beat does
(``stats.rollups.fill.fill_snapshots``) and prints the time per granularity and events/s.

    python bench/rollup_bench.py [--events 10000000] [--steady 288]

Also measured in the same run, side by side (issue 13):
  * one pass grouping the raw events by guild, 5-minute bucket, type and member (the least work
    any 5-minute rollup must do), and the ratio fill time / that pass (target ≤ 2.0);
  * the steady state: each 5-minute bucket of the day filled again on its own, as Beat does
    every 5 minutes (``--steady`` buckets, evenly spread; 0 skips), p50 / p95 (target < 1 s);
  * with ``BENCH_DATABASE_URL=timescale://…``: the continuous aggregate a TimescaleDB user would
    define instead (counts and distinct users per guild, 5-minute bucket and type), its refresh
    over the day, and the ratio our fill / its refresh.
The ratios are printed last.

Environment: BENCH_DATABASE_URL (server to create the scratch database on; default the local
PostgreSQL), BENCH_REUSE=1 to reuse an already loaded database, BENCH_ROLLUP_DB (its name,
default guildstats_bench_rollup: another name keeps a second data set, or the previous
version's schema, beside it).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import manage, psycopg_url, scratch_database, service_env

DB_NAME = os.environ.get("BENCH_ROLLUP_DB", "guildstats_bench_rollup")
GUILDS = 1000
DAY_START = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # Europe's DST change
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Asia/Tokyo"]
EMOJIS = ["👍", "❤️", "😂", "🎉", "🔥", "👀"]
BASE = 10**17


def guild_weights(rng: random.Random) -> list[float]:
    """Zipf-like sizes: a few large guilds, a long tail of small ones."""
    return [1 / (rank + 1) ** 0.8 for rank in range(GUILDS)]


def events(count: int, rng: random.Random, sessions: list[tuple]):
    """Rows for COPY into events; appends the voice sessions it implies to ``sessions``."""
    weights = guild_weights(rng)
    guild_of = rng.choices(range(GUILDS), weights=weights, k=200_000)
    step = timedelta(days=1) / count
    open_voice: dict[tuple[int, int], tuple[int, datetime]] = {}
    received = DAY_START + timedelta(days=1, hours=1)
    for i in range(count):
        ts = DAY_START + step * i
        g = guild_of[i % len(guild_of)]
        guild = BASE + g
        user = 2 * BASE + g * 10_000 + int(rng.paretovariate(1.2)) % 5000
        roll = rng.random()
        data = None
        if roll < 0.72:
            type_, channel = "MESSAGE_CREATE", 3 * BASE + g * 100 + rng.randrange(12)
        elif roll < 0.88:
            type_, channel = "MESSAGE_REACTION_ADD", 3 * BASE + g * 100 + rng.randrange(12)
            data = Jsonb({"emoji": rng.choice(EMOJIS), "messageAuthorId": str(user + 1)})
        elif roll < 0.96:
            channel = 3 * BASE + g * 100 + 50 + rng.randrange(4)
            key = (guild, user)
            if key in open_voice:
                type_ = "VOICE_CHANNEL_LEAVE"
                joined_channel, joined = open_voice.pop(key)
                sessions.append((guild, user, joined_channel, joined, ts))
                channel = joined_channel
            else:
                type_ = "VOICE_CHANNEL_JOIN"
                open_voice[key] = (channel, ts)
        else:
            type_, channel = rng.choice(["MESSAGE_UPDATE", "GUILD_MEMBER_ADD", "TYPING"]), None
        yield (1 + i // 1000, type_, guild, ts, user, channel, data, f"{i:032x}", received)


def load(url: str, count: int) -> None:
    rng = random.Random(42)
    sessions: list[tuple] = []
    started = time.perf_counter()
    with psycopg.connect(psycopg_url(url)) as conn:
        with conn.cursor().copy(
            "COPY guilds_guild (guild_id, name, icon, owner_id, member_count, features, "
            "premium_tier, premium_subscription_count, timezone, "
            "excluded_channel_ids, count_bots, is_active, created_at, updated_at) "
            "FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(
                [
                    "int8",
                    "text",
                    "text",
                    "int8",
                    "int4",
                    "jsonb",
                    "int2",
                    "int4",
                    "text",
                    "jsonb",
                    "bool",
                    "bool",
                    "timestamptz",
                    "timestamptz",
                ]
            )
            for g in range(GUILDS):
                excluded = [str(3 * BASE + g * 100 + 11)] if g % 10 == 0 else []
                copy.write_row(
                    (
                        BASE + g,
                        f"guild {g}",
                        None,
                        None,
                        0,
                        Jsonb([]),
                        0,
                        0,
                        ZONES[g % len(ZONES)],
                        Jsonb(excluded),
                        False,
                        True,
                        DAY_START,
                        DAY_START,
                    )
                )
        with conn.cursor().copy(
            "COPY events (batch_id, type, guild_id, timestamp, user_id, channel_id, data, "
            "dedupe_key, created_at) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(
                [
                    "int8",
                    "text",
                    "int8",
                    "timestamptz",
                    "int8",
                    "int8",
                    "jsonb",
                    "text",
                    "timestamptz",
                ]
            )
            for row in events(count, rng, sessions):
                copy.write_row(row)
        with conn.cursor().copy(
            "COPY voice_session_log (guild_id, user_id, channel_id, started_at, ended_at) "
            "FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "int8", "int8", "timestamptz", "timestamptz"])
            for row in sessions:
                copy.write_row(row)
        with conn.cursor().copy(
            "COPY member_stats (guild_id, user_id, total_messages, total_voice_seconds, "
            "total_reactions_given, total_reactions_received, is_bot, created_at, updated_at) "
            "FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(
                [
                    "int8",
                    "int8",
                    "int8",
                    "int8",
                    "int8",
                    "int8",
                    "bool",
                    "timestamptz",
                    "timestamptz",
                ]
            )
            for g in range(GUILDS):
                for k in range(3):  # a few bot accounts per guild (they post often)
                    copy.write_row(
                        (
                            BASE + g,
                            2 * BASE + g * 10_000 + 1 + k,
                            0,
                            0,
                            0,
                            0,
                            True,
                            DAY_START,
                            DAY_START,
                        )
                    )
        conn.execute("ANALYZE")
    print(
        f"loaded {count:,} events and {len(sessions):,} voice sessions "
        f"in {time.perf_counter() - started:.0f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--steady", type=int, default=288)
    args = parser.parse_args()
    timescale = os.environ.get("BENCH_DATABASE_URL", "").startswith("timescale://")

    if os.environ.get("BENCH_REUSE"):
        base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        url = base.rsplit("/", 1)[0] + f"/{DB_NAME}"
        manage(service_env(url), "migrate", "--noinput")
    else:
        url = scratch_database(DB_NAME)
        manage(service_env(url), "migrate", "--noinput")
        load(url, args.events)

    os.environ.update(service_env(url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from stats.models import MetricsSnapshot
    from stats.rollups import buckets
    from stats.rollups import fill as rollups

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE metrics_snapshots, fill_state, stale_buckets, rollup_parts")
    now = DAY_START + timedelta(days=1, hours=1)
    timings = {}
    total_started = time.perf_counter()
    for granularity in buckets.GRANULARITIES:
        started = time.perf_counter()
        target = rollups._target(granularity, now)
        assert target is not None
        rollups._fill(granularity, target, now, rollups.compute_snapshots)
        timings[granularity.name] = time.perf_counter() - started
    total = time.perf_counter() - total_started
    rows = {
        g.name: MetricsSnapshot.objects.filter(period_type=g.name).count()
        for g in buckets.GRANULARITIES
    }
    print(f"events: {args.events:,} over 24 h, {GUILDS:,} guilds")
    for name, seconds in timings.items():
        print(f"  {name:>6}: {seconds:7.1f} s  {rows[name]:>9,} snapshot rows")
    print(f"  total : {total:7.1f} s  = {args.events / total:,.0f} events/s")

    one_pass = baseline_pass(connection)
    print(f"one GROUP BY guild, 5-minute bucket, type, member over the day: {one_pass:.1f} s")
    steady = steady_state(args.steady, now) if args.steady else []
    if steady:
        steady.sort()
        p50, p95 = steady[len(steady) // 2], steady[min(len(steady) - 1, len(steady) * 95 // 100)]
        print(
            f"steady state, one 5-minute bucket at a time ({len(steady)} buckets): "
            f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (target < 1 s)"
        )
    cagg = continuous_aggregate(connection) if timescale else None
    if cagg is not None:
        print(
            f"TimescaleDB continuous aggregate (counts, distinct users per guild, 5-minute "
            f"bucket, type) refreshed over the day: {cagg:.1f} s"
        )
    print(
        f"ratio fill (all granularities) / one pass: {total / one_pass:.2f} (target ≤ 2.0); "
        f"5-minute fill / one pass: {timings['5min'] / one_pass:.2f}"
    )
    if cagg is not None:
        print(f"ratio our fill / continuous aggregate refresh: {total / cagg:.2f} (target < 1)")
    return 0


def baseline_pass(connection) -> float:
    """The least work any 5-minute rollup must do: one pass grouping the day's raw events by
    guild, 5-minute bucket, type and member (counted server-side, nothing sent back)."""
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        started = time.perf_counter()
        cursor.execute(
            "SELECT count(*) FROM (SELECT guild_id, date_bin('5 minutes', timestamp, "
            "timestamptz '1970-01-01'), type, user_id, count(*) FROM events "
            "WHERE timestamp >= %s AND timestamp < %s GROUP BY 1, 2, 3, 4) q",
            [DAY_START, DAY_START + timedelta(days=1)],
        )
        cursor.fetchone()
        seconds = time.perf_counter() - started
        cursor.execute("COMMIT")
    return seconds


def steady_state(samples: int, now: datetime) -> list[float]:
    """Each sampled 5-minute bucket refilled alone (delete and redo, as a stale bucket is)."""
    from django.db import transaction

    from stats.rollups import buckets
    from stats.rollups import fill as rollups

    step = max(1, 288 // samples)
    times = []
    for k in range(0, 288, step):
        after = DAY_START + timedelta(minutes=5 * k)
        started = time.perf_counter()
        with transaction.atomic():
            rollups._replace(
                buckets.FIVE_MIN,
                after,
                after + timedelta(minutes=5),
                rollups.compute_snapshots,
                now,
            )
        times.append(time.perf_counter() - started)
    return times


def continuous_aggregate(connection) -> float:
    """What a TimescaleDB user would define instead of our 5-minute rollup."""
    with connection.cursor() as cursor:
        cursor.execute("DROP MATERIALIZED VIEW IF EXISTS bench_cagg")
        cursor.execute(
            "CREATE MATERIALIZED VIEW bench_cagg WITH (timescaledb.continuous) AS "
            "SELECT guild_id, time_bucket('5 minutes', timestamp) AS bucket, type, "
            "count(*) AS n, count(DISTINCT user_id) AS users FROM events "
            "GROUP BY guild_id, bucket, type WITH NO DATA"
        )
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "CALL refresh_continuous_aggregate('bench_cagg', %s, %s)",
            [DAY_START, DAY_START + timedelta(days=1)],
        )
        return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
