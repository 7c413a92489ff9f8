"""The ASGI handler (config.handler): the middleware chain runs synchronously in one hop to a
thread, and answers exactly as Django's own ASGI handler (and the test client) do."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref import sync
from django.core.handlers.asgi import ASGIHandler
from django.test import Client

from config.asgi import django_asgi_app
from config.handler import SyncChainASGIHandler
from guilds.models import Guild
from guilds.services import create_api_key
from tests.api.conftest import GUILD

# the view runs on another thread than the test: its connection must see committed rows
pytestmark = pytest.mark.django_db(transaction=True)

PATHS = [
    ("/api/whoami", True),
    ("/api/whoami", False),  # 401
    (f"/api/guilds/{GUILD}/stats/dashboard?period=week", True),
    (f"/api/guilds/{GUILD}/stats/activity?period=today&granularity=hour&format=csv", True),
    (f"/api/guilds/{GUILD}/stats/leaderboard?period=bad", True),  # 400
    ("/api/guilds/1/stats/overview", True),  # 404, outside the key's scope
    ("/api/nothing-here", True),  # the JSON 404 of no route
]


def call(app: Any, url: str, key: str | None) -> tuple[int, dict[str, str], bytes]:
    path, _, query = url.partition("?")
    headers = [(b"host", b"testserver")]
    if key:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    messages: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # no disconnect: the handler cancels this wait
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    asyncio.run(app(scope, receive, send))
    start = messages[0]
    body = b"".join(m.get("body", b"") for m in messages[1:])
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, body


@pytest.fixture
def key() -> str:
    Guild.objects.create(guild_id=int(GUILD), name="g")
    return create_api_key("asgi", [int(GUILD)])[1]


@pytest.mark.parametrize(("url", "with_key"), PATHS)
def test_answers_as_djangos_handler_and_the_test_client(key, url, with_key):
    caller = key if with_key else None
    ours = call(django_asgi_app, url, caller)
    stock = call(ASGIHandler(), url, caller)
    assert ours == stock
    headers = {"HTTP_AUTHORIZATION": f"Bearer {caller}"} if caller else {}
    client = Client().get(url, **headers)
    assert ours[0] == client.status_code
    assert ours[2] == client.content
    assert ours[1]["content-type"] == client["Content-Type"]


def test_the_middleware_chain_is_one_hop_to_a_thread(key, monkeypatch):
    """Django's handler runs each middleware's process_request and process_response through
    sync_to_async (and WhiteNoise, sync only, back through async_to_sync): 16 hops a request.
    Here: Django's request_started signal, the whole chain with the view, response.close()."""
    assert isinstance(django_asgi_app, SyncChainASGIHandler)
    hops = []
    original = sync.SyncToAsync.__call__

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counting)
    assert call(django_asgi_app, "/api/whoami", key)[0] == 200
    assert len(hops) == 3, hops
    hops.clear()
    assert call(ASGIHandler(), "/api/whoami", key)[0] == 200
    assert len(hops) > 10  # what the stock handler does, for comparison
