"""Ingest benchmark: WebSocket frames of 1,000 events → acked → member stats applied.

Runs on PostgreSQL + Redis (a scratch database is created and dropped), with the real ASGI server
(uvicorn) and real Celery workers as subprocesses. Prints:
  * end-to-end events/s: first frame sent → every batch applied to member statistics;
  * the rate of a raw COPY of the same rows into the same table (the median of three), and the
    ratio of the two;
  * the Celery worker's peak RSS (largest process, and the whole worker: parent + children).

    .venv/bin/python bench/ingest_bench.py [--events 1000000] [--connections 4] [--workers 2]

Not a test: it prints figures. Environment: BENCH_DATABASE_URL (server to create the scratch
database on, default postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (default
redis://127.0.0.1:6379/9, the benchmarks' own database, flushed: it says so when it starts).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from itertools import accumulate
from pathlib import Path

import msgspec
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PY, ROOT, manage, scratch_database, service_env, start_server
from procstats import RssSampler, cpu_seconds_by_role, machine_cpu

SCRATCH_DB = "guildstats_bench"


def make_frames(total: int, frame_size: int, guilds: int, seed: int = 7) -> list[bytes]:
    """Realistic mix: 70% messages, 20% reactions, 10% voice (join/move/leave chains).

    Activity is heavy-tailed, as on Discord: guild traffic follows a Zipf law (s=0.8) and, within
    a guild, so does member activity (s=1.1 over 200 members).
    """
    rng = random.Random(seed)
    now = int(time.time() * 1000)
    start = now - 20 * 3_600_000
    guild_ids = [str(10**17 + g * 7919) for g in range(guilds)]
    members = {
        g: [str(2 * 10**17 + i * 104729 + int(g) % 1000) for i in range(200)] for g in guild_ids
    }
    channels = {
        g: [str(3 * 10**17 + i + int(g) % 100000 * 10) for i in range(5)] for g in guild_ids
    }
    voice_state: dict[tuple[str, str], str] = {}
    events: list[dict] = []
    step = (now - start) / total
    guild_weights = list(accumulate(1 / (rank + 1) ** 0.8 for rank in range(guilds)))
    member_weights = list(accumulate(1 / (rank + 1) ** 1.1 for rank in range(200)))
    picked_guilds = rng.choices(guild_ids, cum_weights=guild_weights, k=total)
    picked_ranks = rng.choices(range(200), cum_weights=member_weights, k=total)
    for i in range(total):
        ts = int(start + i * step)
        g = picked_guilds[i]
        user = members[g][picked_ranks[i]]
        roll = rng.random()
        if roll < 0.7:
            events.append(
                {
                    "type": "MESSAGE_CREATE",
                    "guildId": g,
                    "userId": user,
                    "channelId": rng.choice(channels[g]),
                    "messageId": str(4 * 10**17 + i),
                    "timestamp": ts,
                }
            )
        elif roll < 0.9:
            events.append(
                {
                    "type": "MESSAGE_REACTION_ADD",
                    "guildId": g,
                    "userId": user,
                    "channelId": rng.choice(channels[g]),
                    "messageId": str(5 * 10**17 + i),
                    "timestamp": ts,
                    "data": {"emoji": "👍", "messageAuthorId": rng.choice(members[g])},
                }
            )
        else:
            key = (g, user)
            current = voice_state.get(key)
            if current is None:
                channel = rng.choice(channels[g])
                voice_state[key] = channel
                events.append(
                    {
                        "type": "VOICE_CHANNEL_JOIN",
                        "guildId": g,
                        "userId": user,
                        "channelId": channel,
                        "timestamp": ts,
                    }
                )
            elif rng.random() < 0.3:
                target = rng.choice(channels[g])
                voice_state[key] = target
                events.append(
                    {
                        "type": "VOICE_CHANNEL_MOVE",
                        "guildId": g,
                        "userId": user,
                        "channelId": target,
                        "timestamp": ts,
                        "data": {"oldChannelId": current, "newChannelId": target},
                    }
                )
            else:
                del voice_state[key]
                events.append(
                    {
                        "type": "VOICE_CHANNEL_LEAVE",
                        "guildId": g,
                        "userId": user,
                        "channelId": current,
                        "timestamp": ts,
                    }
                )
    return [msgspec.json.encode(events[i : i + frame_size]) for i in range(0, total, frame_size)]


async def send_frames(
    url: str, token: str, frames: list[bytes], connections: int, rate: float | None
) -> tuple[int, int]:
    """Send every frame, ``connections`` at a time; with ``rate`` (events/s), paced to it."""
    import websockets

    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for frame in frames:
        queue.put_nowait(frame)
    totals = [0, 0]
    loop = asyncio.get_running_loop()
    begin = loop.time()
    sent_events = [0]

    async def client() -> None:
        async with websockets.connect(
            url, additional_headers={"Authorization": f"Bot {token}"}, max_size=None
        ) as ws:
            while not queue.empty():
                frame = queue.get_nowait()
                if rate:
                    due = begin + sent_events[0] / rate
                    sent_events[0] += frame.count(b'"type"')
                    await asyncio.sleep(max(0.0, due - loop.time()))
                await ws.send(frame.decode())
                ack = msgspec.json.decode(await ws.recv())
                assert ack["type"] == "ack", ack
                totals[0] += ack["accepted"]
                totals[1] += len(ack["rejected"])

    await asyncio.gather(*(client() for _ in range(connections)))
    return totals[0], totals[1]


def raw_copy_rates(db_url: str, repeats: int = 3) -> tuple[int, list[float]]:
    """Rows/s of raw COPYs of the very rows the run stored, into the same ``events`` table.

    The rows are read back with COPY TO (dedupe keys rehashed so they do not collide with the
    originals), then timed going in with COPY FROM, ``repeats`` times, each in one transaction
    that is rolled back, so the table, its indexes and its size are those the ingest wrote into.
    One COPY alone is a noisy yardstick on a shared machine: right after the run PostgreSQL may
    be flushing the run's writes (a checkpoint), and on 2026-12-05 single COPYs of the same rows
    ranged from 64k to 113k rows/s minutes apart. The ratio uses the median of the repeats.
    """
    cols = (
        "batch_id, type, guild_id, timestamp, user_id, channel_id, message_id, role_id, "
        "shard_id, data, client_event_id, dedupe_key, created_at"
    )
    source = cols.replace("dedupe_key", "md5(dedupe_key || 'copy')")
    rates: list[float] = []
    with psycopg.connect(db_url) as conn:
        buffer = bytearray()
        with conn.cursor().copy(f"COPY (SELECT {source} FROM events) TO STDOUT") as copy:
            for block in copy:
                buffer += block
        rows = buffer.count(b"\n")
        conn.commit()
        view = memoryview(buffer)
        for _ in range(repeats):
            started = time.perf_counter()
            with conn.cursor().copy(f"COPY events ({cols}) FROM STDIN") as copy:
                for offset in range(0, len(view), 1 << 20):
                    copy.write(view[offset : offset + (1 << 20)])
            rates.append(rows / (time.perf_counter() - started))
            conn.rollback()
    return rows, rates


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--frame-size", type=int, default=1000)
    parser.add_argument("--guilds", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker concurrency")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--rate", type=float, default=None, help="pace sending to this many events/s (latency run)"
    )
    parser.add_argument("--web-workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--copy-repeats", type=int, default=3, help="raw COPYs timed; the ratio uses the median"
    )
    args = parser.parse_args()
    if args.copy_repeats < 1:
        parser.error("--copy-repeats must be at least 1 (the ratio needs a COPY to divide by)")

    db_url = scratch_database(SCRATCH_DB)
    env = service_env(db_url)
    import redis

    print(f"Redis: {env['REDIS_URL']} (the benchmark's own database, flushed)", flush=True)
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    manage(env, "migrate", "-v0")
    token = manage(env, "create_bot_token", "bench")

    print(f"generating {args.events:,} events for {args.guilds} guilds …", flush=True)
    frames = make_frames(args.events, args.frame_size, args.guilds)

    server = start_server(
        env,
        args.port,
        args.web_workers,
        "--ws-max-size",
        "16777216",
        "--ws-per-message-deflate",
        "false",
    )
    worker = subprocess.Popen(
        [
            PY,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-c",
            str(args.workers),
            "-l",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env={**env, "GUILDSTATS_DB_POOL_MAX": "0"},  # as in the Procfile: one connection each
    )
    sampler = RssSampler(worker.pid)
    try:
        time.sleep(4)
        sampler.start()
        with psycopg.connect(db_url, autocommit=True) as conn:
            print(f"sending {len(frames):,} frames …", flush=True)
            cpu_before = cpu_seconds_by_role(server.pid, worker.pid)
            machine_before = machine_cpu()
            started = time.perf_counter()
            accepted, rejected = asyncio.run(
                send_frames(
                    f"ws://127.0.0.1:{args.port}/ws/bot/",
                    token,
                    frames,
                    args.connections,
                    args.rate,
                )
            )
            acked = time.perf_counter() - started
            pending_sql = "SELECT count(*) FROM ingest_batches WHERE processed_at IS NULL"
            while conn.execute(pending_sql).fetchone()[0]:
                if time.perf_counter() - started > 600:
                    raise SystemExit("batches still pending after 600 s: processing is stuck")
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            latency = conn.execute(
                "SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY s), max(s) "
                "FROM (SELECT extract(epoch FROM processed_at - received_at) AS s "
                "FROM ingest_batches) t"
            ).fetchone()
            counted = conn.execute(
                "SELECT sum(total_messages) + sum(total_reactions_given) FROM member_stats"
            ).fetchone()[0]
        cpu_after = cpu_seconds_by_role(server.pid, worker.pid)
        machine = [a - b for a, b in zip(machine_cpu(), machine_before, strict=True)]
        sampler.stop = True
        sampler.join()
        e2e = accepted / elapsed
        copied, copy_rates = raw_copy_rates(db_url, args.copy_repeats)
        copy_rate = statistics.median(copy_rates)
        print(
            f"events sent:           {args.events:,} in frames of {args.frame_size} over "
            f"{args.connections} connections ({rejected} rejected)"
        )
        print(f"acked in:              {acked:.1f} s ({accepted / acked:,.0f} events/s)")
        print(
            f"applied end to end in: {elapsed:.1f} s -> {e2e:,.0f} events/s "
            f"(messages+reactions counted: {counted:,})"
        )
        (p50, p95, p99), worst = latency[0], latency[1]
        print(
            f"ack -> applied:        p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {worst * 1000:.0f} ms (per batch)"
        )
        print(
            f"raw COPY of same rows: {copy_rate:,.0f} rows/s, the median of "
            + " / ".join(f"{rate:,.0f}" for rate in copy_rates)
            + f" ({copied:,} rows, same table)"
        )
        used = {role: cpu_after[role] - cpu_before[role] for role in cpu_after}
        print(
            "CPU seconds used:      "
            + ", ".join(f"{role} {value:.1f}" for role, value in used.items())
            + f" (of {elapsed * (os.cpu_count() or 1):.1f} available)"
        )
        print(
            f"machine CPU:           busy {machine[0]:.1f} s, idle {machine[1]:.1f} s, "
            f"stolen by the hypervisor {machine[2]:.1f} s"
        )
        print(
            f"worker peak RSS:       {sampler.peak_process / 2**20:.0f} MB largest process, "
            f"{sampler.peak_total / 2**20:.0f} MB summed over the parent and {args.workers} "
            f"children, {sampler.peak_pss / 2**20:.0f} MB PSS (shared pages counted once)"
        )
        # the ratio last (issue 13): both rates measured in this run, minutes apart
        print(f"ratio end-to-end/COPY: {e2e / copy_rate:.2f} (target ≥ 0.5)")
    finally:
        for proc in (server, worker):
            proc.send_signal(signal.SIGTERM)
        for proc in (server, worker):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
