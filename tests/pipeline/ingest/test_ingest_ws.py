"""The bot WebSocket through Channels' communicator: auth, acks, frame errors, durability."""

from __future__ import annotations

import msgspec
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from pipeline.models import Event
from stats.models import MemberStats
from tests.factories import message, ms, snowflake

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("consumer_connections_returned"),
]


def connect(token: str | None) -> WebsocketCommunicator:
    headers = [(b"authorization", f"Bot {token}".encode())] if token else []
    return WebsocketCommunicator(application, "/ws/bot/", headers=headers)


async def send(comm: WebsocketCommunicator, payload: object) -> dict:
    await comm.send_to(text_data=msgspec.json.encode(payload).decode())
    return msgspec.json.decode(await comm.receive_from(timeout=10))


@pytest.mark.parametrize("token", [None, "wrong"])
async def test_missing_or_wrong_token_closes_with_4401(token, bot_token):
    comm = connect(token)
    connected, _ = await comm.connect()
    assert connected
    closed = await comm.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_frames_are_acked_after_commit_and_counted(bot_token):
    guild, user, channel = snowflake(), snowflake(), snowflake()
    comm = connect(bot_token)
    assert (await comm.connect())[0]
    ack = await send(comm, [message(guild, user, channel, ms(ago=i)) for i in range(4)])
    assert (ack["type"], ack["accepted"], ack["duplicates"], ack["rejected"]) == ("ack", 4, 0, [])
    # by the time the ack arrives the events are committed (visible from another connection)
    assert await database_sync_to_async(Event.objects.count)() == 4
    stats = await database_sync_to_async(MemberStats.objects.get)(guild_id=int(guild))
    assert stats.total_messages == 4
    await comm.disconnect()


async def test_bad_frames_get_an_error_and_the_connection_stays_open(
    bot_token, guildstats_settings
):
    guildstats_settings(MAX_FRAME_BYTES=5000)
    comm = connect(bot_token)
    assert (await comm.connect())[0]
    await comm.send_to(text_data="{not json")
    reply = msgspec.json.decode(await comm.receive_from(timeout=5))
    assert reply["type"] == "error" and "not valid JSON" in reply["error"]
    reply = await send(comm, {"hello": "world"})
    assert reply["type"] == "error" and "JSON array" in reply["error"]
    reply = await send(
        comm, [{"type": "X", "guildId": "1", "timestamp": 1, "data": {"p": "x" * 6000}}]
    )
    assert reply["type"] == "error" and "exceeds the limit of 5000 bytes" in reply["error"]
    ack = await send(comm, [message(snowflake(), snowflake(), snowflake(), ms()), 42])
    assert ack["accepted"] == 1
    assert ack["rejected"] == [{"index": 1, "error": "event must be a JSON object"}]
    await comm.disconnect()


async def test_a_batch_replayed_after_reconnect_changes_nothing(bot_token):
    guild, user, channel = snowflake(), snowflake(), snowflake()
    batch = [message(guild, user, channel, ms(ago=i)) for i in range(10)]
    first = connect(bot_token)
    await first.connect()
    assert (await send(first, batch))["accepted"] == 10
    await first.disconnect()

    second = connect(bot_token)
    await second.connect()
    ack = await send(second, batch)
    assert (ack["accepted"], ack["duplicates"]) == (0, 10)
    await second.disconnect()
    stats = await database_sync_to_async(MemberStats.objects.get)(guild_id=int(guild))
    assert stats.total_messages == 10


async def test_binary_frames_are_read_like_text(bot_token):
    comm = connect(bot_token)
    await comm.connect()
    await comm.send_to(
        bytes_data=msgspec.json.encode([message(snowflake(), snowflake(), snowflake(), ms())])
    )
    ack = msgspec.json.decode(await comm.receive_from(timeout=5))
    assert ack["accepted"] == 1
    await comm.disconnect()


async def test_a_nul_character_in_a_text_frame_rejects_that_event_only(bot_token):
    guild, user, channel = snowflake(), snowflake(), snowflake()
    comm = connect(bot_token)
    assert (await comm.connect())[0]
    ack = await send(
        comm,
        [
            message(guild, user, channel, ms(), data={"content": "nul \x00 here"}),
            message(guild, user, channel, ms(ago=1)),
        ],
    )
    assert (ack["accepted"], ack["rejected"]) == (
        1,
        [{"index": 0, "error": "strings must not contain U+0000 (NUL)"}],
    )
    await comm.disconnect()


NASTY = [  # (how it is sent, the frame, the answer: an ack rejecting the event, or an error)
    ("bytes", b'[{"type":"X","guildId":"1","timestamp":1,"data":{"a":"\xff"}}]', "ack", "string"),
    ("text", "[" * 5000 + "]" * 5000, "error", "nested too deeply"),
    ("text", '[{"type":"X","guildId":"1","data":{"a":"\\ud800"}}]', "error", "not valid JSON"),
]


@pytest.mark.parametrize(
    ("kind", "frame", "answer", "reason"), NASTY, ids=["utf8", "depth", "surrogate"]
)
async def test_nasty_frames_get_a_reason_and_the_socket_stays_usable(
    bot_token, kind, frame, answer, reason
):
    comm = connect(bot_token)
    assert (await comm.connect())[0]
    if kind == "bytes":
        await comm.send_to(bytes_data=frame)
    else:
        await comm.send_to(text_data=frame)
    reply = msgspec.json.decode(await comm.receive_from(timeout=10))
    assert reply["type"] == answer
    error = reply["rejected"][0]["error"] if answer == "ack" else reply["error"]
    assert reason in error, error
    ack = await send(comm, [message(snowflake(), snowflake(), snowflake(), ms())])
    assert ack["type"] == "ack" and ack["accepted"] == 1
    await comm.disconnect()
