"""The API benchmark's data: 1,000 guilds, 1M member rows (the largest guild 100k members),
30 days of daily counters, raw events and the snapshot rows a fill would have left, by COPY."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta

import psycopg
from common import psycopg_url

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
    mark_filled(conn, now)
    return conn.execute("SELECT count(*) FROM metrics_snapshots").fetchone()[0]


def mark_filled(conn: psycopg.Connection, now: datetime) -> None:
    """The fill's watermarks (``fill_state``) as Beat would have left them at ``now``: 5-minute
    buckets done up to the grace delay, hours up to the last whole hour, days up to midnight.
    Without them, the activity endpoints would recompute the last hour from raw events on every
    read (``provisional_buckets``), where production recomputes only the stretch after the
    5-minute watermark. Set again on each run of a reused database (its snapshots end where
    they were loaded: the few buckets since then read as empty, as a stalled fill would)."""
    filled_until = floor_5min(now - timedelta(minutes=2))
    this_hour = filled_until.replace(minute=0)
    today = filled_until.replace(hour=0, minute=0)
    conn.execute(
        "INSERT INTO fill_state (granularity, end_time, state, updated_at) VALUES "
        "('5min', %s, 'done', now()), ('hourly', %s, 'done', now()), "
        "('daily', %s, 'done', now()) ON CONFLICT (granularity) DO UPDATE SET "
        "end_time = excluded.end_time, state = excluded.state, updated_at = now()",
        [filled_until, this_hour, today],
    )


def floor_5min(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


def loaded(db_url: str) -> bool:
    """Whether ``db_url`` already holds a complete load of today (``--reuse``)."""
    try:
        with psycopg.connect(psycopg_url(db_url), autocommit=True) as conn:
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
    with psycopg.connect(psycopg_url(db_url), autocommit=True) as conn:
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
        has_directory = conn.execute("SELECT to_regclass('directory_members')").fetchone()
        if has_directory and has_directory[0]:  # names for the big guild's members (issue 24)
            n = copy_rows(
                conn,
                "directory_members",
                [
                    "guild_id",
                    "user_id",
                    "username",
                    "global_name",
                    "nick",
                    "avatar",
                    "guild_avatar",
                    "bot",
                    "present",
                    "updated_at",
                    "snapshot_id",
                ],
                [
                    "int8",
                    "int8",
                    "text",
                    "text",
                    "text",
                    "text",
                    "text",
                    "bool",
                    "bool",
                    "timestamptz",
                    "text",
                ],
                (
                    (
                        BIG_GUILD,
                        2 * 10**17 + i,
                        f"member_{i}",
                        f"Member {i}",
                        "",
                        f"{i:032x}",
                        "",
                        False,
                        True,
                        now,
                        "bench",
                    )
                    for i in range(BIG_MEMBERS)
                ),
            )
            print(f"directory_members:   {n:,} rows", flush=True)
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
            ["int8", "date", "int8", "int8", "int8", "int8", "int8"],
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
