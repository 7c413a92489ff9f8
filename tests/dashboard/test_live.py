"""Live updates: processing a guild's events pushes to its group after commit, at most once per
guild per second, never for a rolled-back chunk; the socket admits only callers who may see the
guild and relays the push."""

from __future__ import annotations

import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.db import transaction

from core.events import StoredEvent
from dashboard.live import (
    group_name,
    guilds_changed,
    on_chunk,
    push_key,
    watch_key,
    watching,
)
from dashboard.models import GuildPageSettings
from dashboard.selectors import generation_key
from guilds.models import Guild
from tests.dashboard.conftest import ALICE, CHANNEL, GUILD, OTHER, ago, client_for
from tests.factories import message


def drain(layer: Any, channel: str, wait: float = 0.3) -> list[dict]:
    """Every message waiting on ``channel`` (the in-memory or Redis layer)."""
    import asyncio

    async def take() -> list[dict]:
        out = []
        while True:
            try:
                out.append(await asyncio.wait_for(layer.receive(channel), wait))
            except TimeoutError:
                return out

    return async_to_sync(take)()


@pytest.fixture
def listener() -> Any:
    """``listen()`` adds a new channel to the guild's group and returns a function that drains
    it. A new channel each time: the Redis layer binds a channel's receive buffer to the event
    loop of its first receive, and every ``async_to_sync`` call runs its own loop."""
    layer = get_channel_layer()
    for guild in (GUILD, OTHER):
        cache.delete_many([push_key(int(guild)), watch_key(int(guild))])
    channels: list[str] = []

    def listen() -> Any:
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(group_name(int(GUILD)), channel)
        watching(int(GUILD))  # as the socket's consumer does when it joins
        channels.append(channel)
        return lambda: drain(layer, channel)

    yield listen
    for channel in channels:
        async_to_sync(layer.group_discard)(group_name(int(GUILD)), channel)


@pytest.mark.django_db(transaction=True)
def test_processing_pushes_to_the_guilds_group_once_per_second(listener, ingest):
    before = cache.get(generation_key(int(GUILD)))
    received = listener()
    status, _ = ingest([message(GUILD, ALICE, CHANNEL, ago(minutes=1))])
    assert status == 200
    pushes = received()
    assert [p["type"] for p in pushes] == ["guild.changed"] and pushes[0]["guild"] == GUILD
    moved = cache.get(generation_key(int(GUILD)))
    assert moved is not None and moved != before  # pages read fresh figures
    # within the second: the page's figures move, no second push
    received = listener()
    ingest([message(GUILD, ALICE, CHANNEL, ago(minutes=1))])
    assert received() == []
    assert cache.get(generation_key(int(GUILD))) != moved
    time.sleep(1.1)
    received = listener()
    ingest([message(GUILD, ALICE, CHANNEL, ago(minutes=1))])
    assert len(received()) == 1
    # another guild's events are not pushed to this group
    cache.delete(push_key(int(GUILD)))
    received = listener()
    ingest([message(OTHER, ALICE, CHANNEL, ago(minutes=1))])
    assert received() == []


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_chunk_pushes_nothing(listener):
    event = StoredEvent.__new__(StoredEvent)
    event.guild_id = int(GUILD)
    received = listener()
    with transaction.atomic():
        try:
            with transaction.atomic():
                on_chunk([event])
                raise RuntimeError("poison")
        except RuntimeError:
            pass
    assert received() == []
    received = listener()
    with transaction.atomic():
        on_chunk([event])
    assert len(received()) == 1


def test_a_failing_channel_layer_never_fails_processing(monkeypatch, caplog):
    class Broken:
        async def group_send(self, *args: Any) -> None:
            raise ConnectionError("redis down")

    monkeypatch.setattr("dashboard.live.get_channel_layer", lambda: Broken())
    cache.delete(push_key(int(GUILD)))
    watching(int(GUILD))
    assert guilds_changed([int(GUILD)]) == []
    assert "live push for guild" in caplog.text


def test_guilds_nobody_watches_move_their_pages_but_are_not_pushed(listener):
    """A chunk touches up to a thousand guilds: only those with an open socket are pushed to
    (a group send costs Redis round trips even to an empty group); every page still reads
    fresh figures (the generation moves)."""
    received = listener()  # watches GUILD
    before = cache.get(generation_key(int(OTHER)))
    assert guilds_changed([int(GUILD), int(OTHER)]) == [int(GUILD)]
    assert [p["guild"] for p in received()] == [GUILD]
    assert cache.get(generation_key(int(OTHER))) not in (None, before)
    assert cache.get(push_key(int(OTHER))) is None  # no push mark for an unwatched guild
    # the watch mark is the gate: without it (expired with the layer's groups), no push
    received = listener()
    cache.delete_many([watch_key(int(GUILD)), push_key(int(GUILD))])
    assert guilds_changed([int(GUILD)]) == []
    assert received() == []


def test_a_failed_push_does_not_hold_back_the_next_one(monkeypatch, listener):
    calls: list[int] = []

    class Broken:
        async def group_send(self, *args: Any) -> None:
            calls.append(1)
            raise ConnectionError("redis down")

    monkeypatch.setattr("dashboard.live.get_channel_layer", lambda: Broken())
    watching(int(GUILD))
    assert guilds_changed([int(GUILD)]) == []
    assert calls == [1]
    monkeypatch.undo()
    received = listener()  # the layer is back, within the same second
    assert guilds_changed([int(GUILD)]) == [int(GUILD)]
    assert len(received()) == 1


def test_a_push_from_a_thread_running_an_event_loop_is_delivered(listener):
    """Processing applied eagerly from async code calls the hook inside a running loop, where
    ``async_to_sync`` refuses to run (a browser test's server, the embedded mode)."""
    import asyncio

    received = listener()

    async def from_a_loop() -> list[int]:
        return guilds_changed([int(GUILD)])  # synchronous call, as the on-commit hook makes it

    assert asyncio.run(from_a_loop()) == [int(GUILD)]
    assert [p["guild"] for p in received()] == [GUILD]


def _cookie_headers(user: Any) -> list[tuple[bytes, bytes]]:
    client = client_for(user)
    session = client.cookies["sessionid"].value if user is not None else ""
    return [(b"cookie", f"sessionid={session}".encode()), (b"origin", b"http://testserver")]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("consumer_connections_returned")
async def test_the_socket_admits_viewers_and_relays_pushes(people):
    from config.asgi import application

    await database_sync_to_async(Guild.objects.create)(guild_id=int(GUILD), name="G")
    headers = await database_sync_to_async(_cookie_headers)(people["moderator"])
    socket = WebsocketCommunicator(application, f"/ws/guilds/{GUILD}/live/", headers=headers)
    connected, _ = await socket.connect()
    assert connected
    assert await socket.receive_json_from() == {"type": "hello", "guild": GUILD}
    await database_sync_to_async(cache.delete)(push_key(int(GUILD)))
    await database_sync_to_async(guilds_changed)([int(GUILD)])
    pushed = await socket.receive_json_from(timeout=2)
    assert pushed["type"] == "changed" and pushed["guild"] == GUILD
    # the page's ping renews the guild's watch mark (the cache may have dropped it)
    await database_sync_to_async(cache.delete)(watch_key(int(GUILD)))
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from() == {"type": "pong"}
    assert await database_sync_to_async(cache.get)(watch_key(int(GUILD))) is not None
    await socket.disconnect()

    # a stranger is refused at the handshake; anyone once the guild is public
    stranger = await database_sync_to_async(_cookie_headers)(people["stranger"])
    refused = WebsocketCommunicator(application, f"/ws/guilds/{GUILD}/live/", headers=stranger)
    assert (await refused.connect())[0] is False
    anonymous = [(b"origin", b"http://testserver")]
    refused = WebsocketCommunicator(application, f"/ws/guilds/{GUILD}/live/", headers=anonymous)
    assert (await refused.connect())[0] is False
    await database_sync_to_async(GuildPageSettings.objects.create)(
        guild_id=int(GUILD), level="public"
    )
    from dashboard.access import forget_settings

    await database_sync_to_async(forget_settings)(int(GUILD))
    admitted = WebsocketCommunicator(application, f"/ws/guilds/{GUILD}/live/", headers=anonymous)
    assert (await admitted.connect())[0] is True
    await admitted.disconnect()
    # a page of another site may not open it (cross-site WebSocket hijacking)
    foreign = [(b"cookie", headers[0][1]), (b"origin", b"https://evil.example")]
    refused = WebsocketCommunicator(application, f"/ws/guilds/{GUILD}/live/", headers=foreign)
    assert (await refused.connect())[0] is False
