"""The collector streaming to the real server (uvicorn, a Celery worker and Beat on a private
PostgreSQL and Redis: ``tests/outage/stack.py``): the web process is killed with SIGKILL
mid-stream and restarted, later stopped for 30 s and started again, while gateway dispatches
keep arriving. Afterwards every member's message count equals a recount of what was fed, and
the server stored each message once: nothing lost, nothing doubled.
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

from tests.collector.gateway import GUILD_ID, Gateway
from tests.outage.stack import Stack, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.outage, pytest.mark.asyncio]

RATE = 40  # messages per second
SECONDS = 50
KILL_AT, STOP_AT, STOP_FOR = 8, 20, 30
MEMBERS = [1300000000000001000 + n for n in range(12)]
CHANNELS = [1300000000000000300, 1300000000000000303]


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
    )
    transport = HttpTransport(stack.base, stack.bot_token, timeout=5.0)
    gateway = await Gateway(settings, tmp_path / "spool.sqlite3", transport).start()
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
        assert await gateway.collector.wait_drained(120), gateway.collector.spool.stats()
        assert gateway.collector.spool.dead_letters() == []

        expected = {(GUILD_ID, user): n for user, n in fed.items()}
        wait_for(
            lambda: stack.pending_batches() == 0 and stack.message_counts([GUILD_ID]) == expected,
            90,
            "member statistics equal to the recount",
        )
        assert stored_messages(stack) == sum(fed.values())
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
