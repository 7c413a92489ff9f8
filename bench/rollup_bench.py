"""Rollup benchmark (issue 3): fill every 5-minute, hourly and daily bucket of one day of
10M raw events from 1,000 guilds, from scratch, on PostgreSQL.

Loads a scratch database with COPY: 1,000 guilds of skewed sizes in a mix of time zones (one
with a DST change that day, one at +05:30), 10M events over 24 hours (messages, reactions with
emojis, voice transitions, a few other types), the voice sessions the processors would have
logged, member rows with some bots, and excluded channels. Then runs the fill the way Beat does
(``stats.rollups.fill.fill_snapshots``) and prints the time per granularity and events/s.

    python bench/rollup_bench.py [--events 10000000] [--keep]

Environment: BENCH_DATABASE_URL (server to create the scratch database on; default the local
PostgreSQL), BENCH_REUSE=1 to reuse an already loaded database.
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
from bench.common import manage, scratch_database, service_env

DB_NAME = "guildstats_bench_rollup"
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
    with psycopg.connect(url) as conn:
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
    args = parser.parse_args()

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
        cursor.execute(
            "TRUNCATE metrics_snapshots, fill_state, stale_buckets, rollup_members, "
            "rollup_channels, rollup_counts"
        )
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
    print(f"  total : {total:7.1f} s  = {args.events / total:,.0f} events/s (target < 120 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
