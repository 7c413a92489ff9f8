"""The collector streaming to the real server (uvicorn, a Celery worker and Beat on a private
PostgreSQL and Redis: ``tests/outage/stack.py``): the web process is killed with SIGKILL
mid-stream and restarted, later stopped for 30 s and started again, while gateway dispatches
keep arriving; the collector itself crashes and restarts while two members are in voice (one
of them leaves during the gap). Afterwards every member's message count equals a recount of what
was fed, the server stored each message once (nothing lost, nothing doubled), and voice is
credited only for what was known: the member who stayed has one continuous session, the one
who left is credited up to the collector's last heartbeat before the crash.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections import Counter

import discord
import pytest
from guildstats_collector.config import Settings
from guildstats_collector.transport import HttpTransport

from collector.tests.gateway import GUILD_ID, Gateway, guild_create, in_voice
from tests.outage.stack import Stack, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.outage, pytest.mark.asyncio]

RATE = 40  # messages per second
SECONDS = 50
KILL_AT, STOP_AT, STOP_FOR = 8, 20, 30
COLLECTOR_CRASH_AT = 14  # seconds; it starts again at once on the same spool
MEMBERS = [1300000000000001000 + n for n in range(12)]
CHANNELS = [1300000000000000300, 1300000000000000303]
VOICE = 1300000000000000301
STAYS, LEAVES = MEMBERS[0], MEMBERS[1]  # in voice at the start; LEAVES leaves during the gap


def voice_rows(stack: Stack) -> tuple[list[tuple[int, dict]], int, dict[int, int]]:
    """The GUILD_STATE rosters (timestamp ms, data) stored, the voice leave's timestamp, and
    member_stats' voice seconds."""
    with stack.pg.connect() as conn:
        states = conn.execute(
            "SELECT (extract(epoch FROM timestamp) * 1000)::bigint, data FROM events"
            " WHERE guild_id = %s AND type = 'GUILD_STATE' AND data ? 'voice'"
            " ORDER BY timestamp",
            [GUILD_ID],
        ).fetchall()
        (leave,) = conn.execute(
            "SELECT (extract(epoch FROM timestamp) * 1000)::bigint FROM events"
            " WHERE guild_id = %s AND type = 'VOICE_CHANNEL_LEAVE'",
            [GUILD_ID],
        ).fetchone()
        seconds = conn.execute(
            "SELECT user_id, total_voice_seconds FROM member_stats"
            " WHERE guild_id = %s AND total_voice_seconds > 0",
            [GUILD_ID],
        ).fetchall()
    return [(int(t), d) for t, d in states], int(leave), {int(u): int(s) for u, s in seconds}


def stored_messages(stack: Stack) -> int:
    with stack.pg.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM events WHERE guild_id = %s AND type = 'MESSAGE_CREATE'",
            [GUILD_ID],
        ).fetchone()
    return int(row[0])


async def test_nothing_lost_nothing_doubled_across_a_kill_and_a_stop(stack, tmp_path):
    settings = Settings(
        guildstats_url=stack.base,
        bot_token=stack.bot_token,
        backoff_cap=2.0,  # seed defaults otherwise (50 events or 10 s); a quick test recovery
        request_timeout=5.0,
        heartbeat_interval=2.0,  # the gap after the crash starts at the last one
    )
    spool = tmp_path / "spool.sqlite3"
    transport = HttpTransport(stack.base, stack.bot_token, timeout=5.0)
    in_voice_now = [(STAYS, "stays", VOICE), (LEAVES, "leaves", VOICE)]
    gateway = await Gateway(settings, spool, transport).start(
        guild_create=guild_create(*in_voice_now)
    )
    crashed = False
    fed: Counter[int] = Counter()
    counter = itertools.count()
    started = time.monotonic()
    events: list[str] = []

    async def chaos() -> None:
        await asyncio.sleep(KILL_AT)
        stack.kill("web", signal.SIGKILL)
        events.append(f"web killed at {time.monotonic() - started:.1f}s")
        stack.respawn("web")
        await asyncio.sleep(STOP_AT - KILL_AT)
        stack.kill("web", signal.SIGTERM)
        events.append(f"web stopped at {time.monotonic() - started:.1f}s")
        await asyncio.sleep(STOP_FOR)
        stack.respawn("web")
        events.append(f"web started at {time.monotonic() - started:.1f}s")

    chaos_task = asyncio.create_task(chaos())
    try:
        while time.monotonic() - started < SECONDS:
            if not crashed and time.monotonic() - started >= COLLECTOR_CRASH_AT:
                # a crash: the sender stops where it is, no coverage stop, nothing flushed
                # beyond what the spool already holds; the same spool serves the next run
                crashed = True
                task = gateway.cog.coverage._task
                if task is not None:
                    task.cancel()  # no heartbeat after the crash
                await gateway.collector.stop(drain_timeout=0)
                gateway = await Gateway(
                    settings, spool, HttpTransport(stack.base, stack.bot_token, timeout=5.0)
                ).start(guild_create=guild_create(in_voice_now[0]), settle=False)
                events.append(f"collector restarted at {time.monotonic() - started:.1f}s")
            for _ in range(RATE // 10):
                n = next(counter)
                author = MEMBERS[n % len(MEMBERS)]
                message_id = discord.utils.time_snowflake(discord.utils.utcnow()) + n % 4096
                gateway.feed(
                    "MESSAGE_CREATE",
                    id=str(message_id),
                    channel_id=str(CHANNELS[n % 2]),
                    author={
                        "id": str(author),
                        "username": f"m{author % 100}",
                        "discriminator": "0",
                        "avatar": None,
                    },
                )
                fed[author] += 1
            await asyncio.sleep(0.1)
        await chaos_task
        gateway.feed("VOICE_STATE_UPDATE", in_voice(STAYS, "stays", None))
        assert await gateway.collector.wait_drained(120), gateway.collector.spool.stats()
        assert gateway.collector.spool.dead_letters() == []

        expected = {(GUILD_ID, user): n for user, n in fed.items()}
        wait_for(
            lambda: stack.pending_batches() == 0 and stack.message_counts([GUILD_ID]) == expected,
            90,
            "member statistics equal to the recount",
        )
        assert stored_messages(stack) == sum(fed.values())

        def mark(epoch_ms: int) -> int:  # whole seconds, rounded half up, as the server counts
            return (epoch_ms + 500) // 1000

        wait_for(lambda: stack.pending_batches() == 0, 60, "processing done")
        states, leave, voice = voice_rows(stack)
        (first, _), (second, after) = states
        assert after["reason"] == "ready" and first <= after["gapSince"] <= second
        assert voice == {
            STAYS: mark(leave) - mark(first),  # one continuous session across the crash
            LEAVES: mark(after["gapSince"]) - mark(first),  # up to the last heartbeat
        }
        counters = gateway.collector.counters
        print(
            f"\nfed {sum(fed.values())} messages; {'; '.join(events)}; frames {counters.frames},"
            f" accepted {counters.accepted}, duplicates {counters.duplicates},"
            f" retries {counters.retries}"
        )
        stack.check_alive()
    finally:
        chaos_task.cancel()
        if stack.processes["web"].poll() is not None:
            stack.respawn("web")
        await gateway.close()
        await transport.close()
