from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from guilds.services import create_api_key

ORIGIN = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # a Friday
GUILD = "700000000000000001"
OTHER_GUILD = "700000000000000002"


@pytest.fixture
def frozen() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(ORIGIN, tick=False) as traveller:
        yield traveller


@pytest.fixture
def api(db: None):
    """A client factory: ``api(key)`` sends ``Authorization: Bearer key`` on every request."""

    def make(key: str | None = None) -> Client:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
        return Client(**headers)

    return make


@pytest.fixture
def key_for_guild(db: None) -> str:
    return create_api_key("dashboard", [int(GUILD)])[1]
