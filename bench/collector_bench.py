"""Collector benchmark: the bot side on one core, against a minimal ack server in another process.

Prints, each measured in the same run:
  * throughput: MESSAGE_CREATE gateway dispatches parsed by discord.py's own ConnectionState,
    through the cog's listener, the spool, frames, HTTP and acks, until the spool is empty —
    events/s and the collector's CPU-seconds; beside it, discord.py parsing the same dispatches
    with no collector loaded (what the bot costs anyway), and the ratio of the two;
  * replay: a spool of N events left by an outage (default 1,000,000), sent and acknowledged
    from a fresh start — events/s, and the ratio to a bare SQLite read of the same rows;
  * the collector's peak RSS (aim < 100 MB).

    .venv/bin/python bench/collector_bench.py [--events 200000] [--replay 1000000]

Targets (issue 10): ≥ 20,000 events/s end to end on one core; RSS < 100 MB.
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import socket
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import discord  # noqa: E402
from discord.ext import commands  # noqa: E402
from guildstats_collector.cog import GuildstatsCog, intents  # noqa: E402
from guildstats_collector.config import Settings  # noqa: E402
from guildstats_collector.pipeline import Collector  # noqa: E402
from guildstats_collector.spool import Spool  # noqa: E402
from guildstats_collector.transport import HttpTransport  # noqa: E402

from collector.tests.gateway import fixture  # noqa: E402

GUILD = fixture("GUILD_CREATE")


def ack_server(port: int, ready) -> None:  # pragma: no cover - a subprocess
    from aiohttp import web

    async def ingest(request: web.Request) -> web.Response:
        body = await request.read()
        n = body.count(b'"type":')
        return web.json_response(
            {"type": "ack", "batch": "x", "accepted": n, "duplicates": 0, "rejected": []}
        )

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/api/ingest/events", ingest)
    ready.set()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dispatches(n: int):
    base = fixture("MESSAGE_CREATE")
    start = discord.utils.time_snowflake(discord.utils.utcnow())
    for i in range(n):
        d = dict(base)
        d["id"] = str(start + i)
        d["author"] = {**base["author"], "id": str(1300000000000001000 + i % 500)}
        d["attachments"] = []
        yield d


async def make_bot(settings: Settings, with_cog: bool, spool_path: str):
    bot = commands.Bot(
        command_prefix="!",
        intents=intents(settings),
        chunk_guilds_at_startup=False,
        guild_ready_timeout=0.01,
        max_messages=None,
    )
    await bot._async_setup_hook()
    state = bot._connection
    cog = None
    if with_cog:
        collector = Collector(
            settings,
            transport=HttpTransport(settings.guildstats_url, "bench", timeout=30),
            spool=Spool(spool_path),
        )
        cog = GuildstatsCog(bot, settings, collector=collector, invite_fetch=_no_invites)
        await bot.add_cog(cog)
    state.parse_ready(fixture("READY"))
    state.parse_guild_create(GUILD)
    await asyncio.wait_for(bot.wait_until_ready(), 5)
    return bot, state, cog


async def _no_invites(guild):
    return {}, None


async def feed(state, payloads: list[dict], n: int, chunk: int = 500) -> None:
    parse = state.parse_message_create
    for i in range(n):
        parse(payloads[i % len(payloads)])
        if i % chunk == chunk - 1:
            await asyncio.sleep(0)  # let the listeners' tasks and the sender run


POOL = 5000  # parsed once and dispatched over and over: memory stays the collector's


async def listener_path(url: str, n: int, folder: str) -> tuple[float, float]:
    """From the cog's listener on: Message objects parsed beforehand (the bot's cost either
    way), handed to ``on_message`` → spool → frames → acks."""
    settings = Settings(guildstats_url=url, bot_token="bench")
    bot, state, cog = await make_bot(settings, True, os.path.join(folder, "l.sqlite3"))
    channel = bot.get_channel(int(GUILD["channels"][0]["id"]))
    messages = [discord.Message(state=state, channel=channel, data=d) for d in dispatches(POOL)]
    cog.collector.flush()
    await cog.collector.wait_drained(30)
    before = cog.collector.counters.accepted
    cpu0, t0 = time.process_time(), time.perf_counter()
    on_message = cog.on_message
    for i in range(n):
        await on_message(messages[i % POOL])
        if i % 500 == 499:
            await asyncio.sleep(0)
    assert await cog.collector.wait_drained(600), cog.collector.spool.stats()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert cog.collector.counters.accepted - before == n
    await bot.remove_cog(cog.qualified_name)
    await bot.close()
    return n / elapsed, cpu


async def throughput(url: str, n: int, folder: str) -> tuple[float, float, float, float]:
    settings = Settings(guildstats_url=url, bot_token="bench")
    payloads = list(dispatches(min(n, POOL)))
    # discord.py alone: the floor any bot pays for the same dispatches
    bot, state, _ = await make_bot(settings, False, "")
    cpu0, t0 = time.process_time(), time.perf_counter()
    await feed(state, payloads, n)
    for _ in range(5):
        await asyncio.sleep(0)
    bare = n / (time.perf_counter() - t0)
    bare_cpu = time.process_time() - cpu0
    await bot.close()

    bot, state, cog = await make_bot(settings, True, os.path.join(folder, "t.sqlite3"))
    cog.collector.flush()
    await cog.collector.wait_drained(30)
    sent_before = cog.collector.counters.accepted
    cpu0, t0 = time.process_time(), time.perf_counter()
    await feed(state, payloads, n)
    assert await cog.collector.wait_drained(600), cog.collector.spool.stats()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    acked = cog.collector.counters.accepted - sent_before
    assert acked == n, (acked, n)
    await bot.remove_cog(cog.qualified_name)
    await bot.close()
    return n / elapsed, cpu, bare, bare_cpu


async def replay(url: str, n: int, folder: str) -> tuple[float, float, float]:
    path = os.path.join(folder, "r.sqlite3")
    spool = Spool(path, max_events=n + 1)
    body = json.dumps(
        {
            "type": "MESSAGE_CREATE",
            "guildId": "1300000000000000100",
            "timestamp": 1,
            "userId": "1300000000000001000",
            "channelId": "1300000000000000300",
            "data": {"bot": False, "attachmentCount": 0},
            "id": "0" * 32,
        },
        separators=(",", ":"),
    ).encode()
    for start in range(0, n, 50_000):
        spool.append([("MESSAGE_CREATE", body)] * min(50_000, n - start))
    spool.close()

    # a bare read of the same rows, oldest first, in frames: the floor of any replay
    db = sqlite3.connect(path)
    t0 = time.perf_counter()
    rows = 0
    last = 0
    while True:
        part = db.execute(
            "SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT 1000", (last,)
        ).fetchall()
        if not part:
            break
        rows += len(part)
        last = part[-1][0]
    bare = rows / (time.perf_counter() - t0)
    db.close()

    settings = Settings(guildstats_url=url, bot_token="bench", spool_max_events=n + 1)
    collector = Collector(
        settings,
        transport=HttpTransport(url, "bench", timeout=30),
        spool=Spool(path, max_events=n + 1),
    )
    t0 = time.perf_counter()
    await collector.start()
    assert await collector.wait_drained(1800), collector.spool.stats()
    elapsed = time.perf_counter() - t0
    assert collector.counters.accepted == n
    await collector.stop()
    return n / elapsed, elapsed, bare


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--replay", type=int, default=1_000_000)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})  # the collector on one core; the ack server gets the other
    port = free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=ack_server, args=(port, ready), daemon=True)
    server.start()
    ready.wait(10)
    time.sleep(0.5)
    url = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory() as folder:
            l_rate, l_cpu = asyncio.run(listener_path(url, args.events, folder))
            print(
                f"listener → spool → sent → acked: {args.events:,} messages at "
                f"{l_rate:,.0f} events/s ({args.events / l_cpu:,.0f} per CPU-second)"
            )
            rate, cpu, bare, bare_cpu = asyncio.run(throughput(url, args.events, folder))
            rss_after_throughput = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"gateway dispatch → discord.py → listener → … → acked: {rate:,.0f} events/s "
                f"({args.events / cpu:,.0f} per CPU-second); discord.py parsing alone "
                f"{bare:,.0f} dispatches/s ({args.events / bare_cpu:,.0f} per CPU-second)"
            )
            print(f"  peak RSS so far: {rss_after_throughput:.0f} MB")
            r_rate, r_elapsed, r_bare = asyncio.run(replay(url, args.replay, folder))
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"replay: {args.replay:,} spooled events sent and acked in {r_elapsed:.1f}s = "
                f"{r_rate:,.0f} events/s; bare SQLite read of the same rows {r_bare:,.0f} rows/s"
            )
            print(f"collector peak RSS: {rss:.0f} MB (target < 100 MB)")
            print(f"replay / bare read ratio: {r_rate / r_bare:.2f}")
            # the collector's CPU per event against discord.py's own parse of the same event
            overhead = (l_cpu / args.events) / (bare_cpu / args.events)
            print(f"collector CPU per event / discord.py parse CPU per event: {overhead:.2f}")
            print(
                f"listener-path throughput: {l_rate:,.0f} events/s (target ≥ 20,000 on one "
                f"core); with discord.py's parsing: {rate:,.0f}"
            )
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
