from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
import time_machine
from guildstats_collector.config import BatchPolicy, Settings

from collector.tests.gateway import Gateway

# A pinned origin: events without a Discord time of their own are stamped with it.
ORIGIN = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
ORIGIN_MS = int(ORIGIN.timestamp() * 1000)


# Listener tests look at what is produced, not at when: every type is sent at once.
LISTENER_SETTINGS = Settings(default_policy=BatchPolicy(1, 0.0), heartbeat_interval=60)


@pytest.fixture
def frozen():
    with time_machine.travel(ORIGIN, tick=False) as traveller:
        yield traveller


@pytest_asyncio.fixture
async def gateway(tmp_path, frozen) -> AsyncIterator[Gateway]:
    running = await Gateway(LISTENER_SETTINGS, tmp_path / "spool.sqlite3").start()
    try:
        yield running
    finally:
        await running.close()
