"""POST /api/ingest/events: acks, per-event rejections, duplicates, frame errors, auth."""

from __future__ import annotations

import time

import msgspec
import pytest
from django.db import OperationalError
from django.utils import timezone

from guilds.models import BotToken
from pipeline.models import Event, IngestBatch
from tests.factories import event, message, ms, snowflake

pytestmark = pytest.mark.django_db(transaction=True)


def test_valid_batch_is_stored_and_acknowledged(ingest):
    guild, user, channel = snowflake(), snowflake(), snowflake()
    events = [message(guild, user, channel, ms(ago=i)) for i in range(3)]
    status, ack = ingest(events)
    assert status == 200
    assert ack == {
        "type": "ack",
        "batch": ack["batch"],
        "accepted": 3,
        "duplicates": 0,
        "rejected": [],
    }
    assert len(ack["batch"]) == 32
    stored = list(
        Event.objects.order_by("timestamp").values_list("type", "guild_id", "user_id", "channel_id")
    )
    assert stored == [("MESSAGE_CREATE", int(guild), int(user), int(channel))] * 3
    assert set(IngestBatch.objects.values_list("frame_id", flat=True)) == {
        IngestBatch.objects.first().frame_id
    }


def test_envelope_form_is_accepted(ingest):
    guild = snowflake()
    status, ack = ingest(
        {"event": "to-backend", "data": [message(guild, snowflake(), snowflake(), ms())]}
    )
    assert (status, ack["accepted"]) == (200, 1)


def test_each_bad_event_is_rejected_with_its_index_and_the_rest_is_stored(
    ingest, guildstats_settings
):
    guild, user, channel = snowflake(), snowflake(), snowflake()
    now = ms()
    batch = [
        message(guild, user, channel, now),  # 0 ok
        "not an object",  # 1
        {"type": "MESSAGE_CREATE", "timestamp": now, "userId": user},  # 2 no guildId
        event("MESSAGE_CREATE", "12ab", now, user=user, channel=channel),  # 3 bad snowflake
        event("MESSAGE_CREATE", guild, "yesterday", user=user, channel=channel),  # 4 ts type
        event("MESSAGE_CREATE", guild, now + 600_000, user=user, channel=channel),  # 5 future
        event("MESSAGE_CREATE", guild, now - 31 * 86_400_000, user=user, channel=channel),  # 6 old
        event("MESSAGE_CREATE", guild, now, user=user, channel=channel, data=[1, 2]),  # 7 data
        event("MESSAGE_CREATE", guild, now),  # 8 no userId
        event("message create", guild, now, user=user),  # 9 bad type name
        event("MESSAGE_CREATE", guild, now, user=user, channel=channel, id="x" * 65),  # 10 id
        event("MESSAGE_CREATE", guild, now, user=123, channel=channel),  # 11 int user
        event("GUILD_SYNC", guild, now, data={"guilds": [{"name": "no id"}]}),  # 12 data schema
        event("MESSAGE_CREATE", "0", now, user=user, channel=channel),  # 13 zero id
        event("MESSAGE_CREATE", "99999999999999999999", now, user=user, channel=channel),  # 14
        message(guild, user, channel, now - 1000),  # 15 ok
    ]
    status, ack = ingest(batch)
    assert status == 200
    assert ack["accepted"] == 2
    assert ack["duplicates"] == 0
    errors = {r["index"]: r["error"] for r in ack["rejected"]}
    assert sorted(errors) == list(range(1, 15))
    assert errors[1] == "event must be a JSON object"
    assert "guildId" in errors[2] and "missing" in errors[2]
    assert "guildId" in errors[3]
    assert "timestamp" in errors[4]
    assert "in the future" in errors[5]
    assert "older than the raw-event retention" in errors[6]
    assert "data" in errors[7]
    assert errors[8] == "MESSAGE_CREATE requires userId"
    assert "type" in errors[9]
    assert "id" in errors[10]
    assert "userId" in errors[11]
    assert "$.data.guilds[0]" in errors[12] and "id" in errors[12]
    assert errors[13] == "guildId is not a valid snowflake"
    assert errors[14] == "guildId is not a valid snowflake"
    assert Event.objects.count() == 2


def test_unknown_types_are_stored_raw_but_not_processed(ingest):
    guild = snowflake()
    status, ack = ingest([event("SOMETHING_NEW", guild, ms(), user=snowflake(), data={"a": 1})])
    assert (status, ack["accepted"], ack["rejected"]) == (200, 1, [])
    stored = Event.objects.get()
    assert (stored.type, stored.data) == ("SOMETHING_NEW", {"a": 1})
    from stats.models import MemberStats

    assert not MemberStats.objects.exists()


def test_a_resent_batch_is_acknowledged_as_duplicates(ingest):
    guild, user, channel = snowflake(), snowflake(), snowflake()
    events = [message(guild, user, channel, ms(ago=i)) for i in range(5)]
    events.append(event("MESSAGE_CREATE", guild, ms(), user=user, channel=channel, id="client-1"))
    assert ingest(events)[1]["accepted"] == 6
    status, ack = ingest(events)
    assert (status, ack["accepted"], ack["duplicates"]) == (200, 0, 6)
    assert Event.objects.count() == 6


def test_client_ids_identify_duplicates_even_when_the_body_differs(ingest):
    guild, user, channel = snowflake(), snowflake(), snowflake()
    ts = ms()
    first = event("MESSAGE_CREATE", guild, ts, user=user, channel=channel, id="evt-9")
    again = dict(first, data={"edited": True})
    assert ingest([first])[1]["accepted"] == 1
    assert ingest([again])[1]["duplicates"] == 1
    # the same client id in another guild is another event
    other = dict(first, guildId=snowflake())
    assert ingest([other])[1]["accepted"] == 1


def test_duplicates_inside_one_batch_are_counted_once(ingest):
    guild = snowflake()
    one = message(guild, snowflake(), snowflake(), ms())
    _status, ack = ingest([one, one, one])
    assert (ack["accepted"], ack["duplicates"]) == (1, 2)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"type": "MESSAGE_CREATE"}', "JSON array"),
        (b'"hello"', "JSON array"),
        (b"", "not valid JSON"),
    ],
)
def test_unreadable_bodies_answer_400(ingest, raw, fragment):
    status, body = ingest(None, raw=raw)
    assert status == 400
    assert body["type"] == "error" and fragment in body["error"]


def test_oversized_bodies_answer_413(ingest, guildstats_settings):
    guildstats_settings(MAX_FRAME_BYTES=2000, MAX_BATCH_EVENTS=3)
    guild = snowflake()
    big = [message(guild, snowflake(), snowflake(), ms(), data={"pad": "x" * 3000})]
    status, body = ingest(big)
    assert status == 413 and "exceeds the limit of 2000 bytes" in body["error"]
    many = [{"type": "X", "guildId": "1", "timestamp": 1}] * 4
    status, body = ingest(many)
    assert status == 413 and "4 events exceeds the limit of 3" in body["error"]
    assert not Event.objects.exists()


def test_bad_or_revoked_tokens_answer_401(ingest, bot_token):
    events = [message(snowflake(), snowflake(), snowflake(), ms())]
    assert ingest(events, token=None)[0] == 401
    assert ingest(events, token="not-a-token")[0] == 401
    BotToken.objects.update(revoked_at=timezone.now())
    assert ingest(events, token=bot_token)[0] == 401
    assert not Event.objects.exists()


def test_storage_failure_answers_503_and_stores_nothing(ingest, monkeypatch):
    from pipeline import ingest as ingest_service

    def broken(*args, **kwargs):
        raise OperationalError("database is down")

    monkeypatch.setattr(ingest_service, "bulk_insert", broken)
    status, body = ingest([message(snowflake(), snowflake(), snowflake(), ms())])
    assert status == 503 and "retry" in body["error"]
    assert not IngestBatch.objects.exists()


def test_token_last_use_is_recorded(ingest):
    ingest([message(snowflake(), snowflake(), snowflake(), ms())])
    assert BotToken.objects.get().last_used_at is not None


def test_a_replay_serialised_differently_is_still_a_duplicate(ingest):
    guild, user, channel, ts = snowflake(), snowflake(), snowflake(), ms()
    first = (
        f'[{{"type":"MESSAGE_REACTION_ADD","guildId":"{guild}","userId":"{user}",'
        f'"channelId":"{channel}","timestamp":{ts},"data":{{"emoji":"x","messageAuthorId":"1"}}}}]'
    ).encode()
    reordered = (
        f'[ {{ "data": {{ "messageAuthorId": "1", "emoji": "x" }}, "timestamp": {ts}, '
        f'"channelId": "{channel}", "userId": "{user}", "guildId": "{guild}", '
        f'"type": "MESSAGE_REACTION_ADD" }} ]'
    ).encode()
    assert ingest(None, raw=first)[1]["accepted"] == 1
    assert ingest(None, raw=reordered)[1]["duplicates"] == 1
    changed = reordered.replace(b'"emoji": "x"', b'"emoji": "y"')
    assert ingest(None, raw=changed)[1]["accepted"] == 1  # a different event


def test_a_nul_character_is_rejected_per_event_not_as_a_storage_failure(ingest):
    """PostgreSQL cannot store U+0000 in text or jsonb: the event is refused with a reason and
    the rest of the batch is stored (not a 503 that the bot would retry forever)."""
    g, user, channel = snowflake(), snowflake(), snowflake()
    now = int(time.time() * 1000)
    body = (
        b"["
        + msgspec.json.encode(message(g, user, channel, now, data={"content": "a\x00b"}))
        + b","
        + msgspec.json.encode(message(g, user, channel, now, data={"content": "a\\u0000b"}))
        + b"]"
    )
    assert b"\\u0000" in body
    status, ack = ingest(None, raw=body)
    assert status == 200
    assert ack["accepted"] == 1
    assert ack["rejected"] == [{"index": 0, "error": "strings must not contain U+0000 (NUL)"}]
    assert Event.objects.get().data == {"content": "a\\u0000b"}
