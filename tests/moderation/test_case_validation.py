"""Moderation events through the ingest endpoint: malformed or oversized payloads refused
with a reason, and stored events that no longer fit their schema isolated at processing."""

from __future__ import annotations

import pytest
from django.db import transaction

from moderation.models import ModerationCase
from tests.factories import ban, event, snowflake
from tests.moderation.helpers import ORIGIN, accepted, at, cases

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


BAD_PAYLOADS = [
    ("GUILD_BAN_ADD", {}, "targetUserId"),
    ("GUILD_BAN_ADD", {"targetUserId": "abc"}, "targetUserId is not a valid snowflake"),
    ("GUILD_BAN_REMOVE", {"targetUserId": 123}, "$.data.targetUserId"),
    ("GUILD_BAN_ADD", {"targetUserId": "1", "reason": 5}, "$.data.reason"),
    ("GUILD_MEMBER_REMOVE", {"wasKicked": "yes"}, "$.data.wasKicked"),
    ("GUILD_MEMBER_REMOVE", {"moderatorId": "-1"}, "moderatorId is not a valid snowflake"),
    ("GUILD_MEMBER_REMOVE", {"joinedAt": "yesterday"}, "$.data.joinedAt"),
    ("MESSAGE_DELETE", {"deletedBy": {"username": "x"}}, "userId"),
    ("MESSAGE_DELETE", {"attachmentCount": -1}, "$.data.attachmentCount"),
    ("MESSAGE_DELETE_BULK", {"messageIds": ["1", "x"]}, "messageIds"),
    ("MESSAGE_DELETE_BULK", {"count": "3"}, "$.data.count"),
    ("GUILD_AUDIT_LOG_ENTRY_CREATE", {}, "action"),
    ("GUILD_AUDIT_LOG_ENTRY_CREATE", {"action": ""}, "$.data.action"),
    ("GUILD_AUDIT_LOG_ENTRY_CREATE", {"action": "X", "changes": [{}]}, "key"),
    ("GUILD_AUDIT_LOG_ENTRY_CREATE", {"action": "X", "targetId": "1.5"}, "targetId"),
    ("AUTO_MODERATION_ACTION_EXECUTION", {"ruleId": "r"}, "ruleId"),
    ("AUTO_MODERATION_ACTION_EXECUTION", {"action": []}, "$.data.action"),
]


@pytest.mark.parametrize(("type_", "data", "reason"), BAD_PAYLOADS)
def test_malformed_moderation_events_are_rejected_with_a_reason(ingest, type_, data, reason):
    g = snowflake()
    good = ban(g, snowflake(), at())
    bad = event(type_, g, at(), user=snowflake(), data=data)
    status, ack = ingest([good, bad])
    assert status == 200
    assert ack["accepted"] == 1
    [rejection] = ack["rejected"]
    assert rejection["index"] == 1
    assert rejection["error"].startswith("data: ")
    assert reason in rejection["error"]
    assert [c[:2] for c in cases(g)] == [(1, "BAN")]


def test_a_data_that_is_not_an_object_or_missing_is_rejected(ingest):
    g = snowflake()
    _status, ack = ingest(
        [
            event("GUILD_BAN_ADD", g, at(), user=snowflake()),  # no data at all
            event("GUILD_BAN_ADD", g, at(), user=snowflake(), data=[1]),
            event("AUTO_MODERATION_ACTION_EXECUTION", g, at(), data={}),  # no userId
        ]
    )
    assert ack["accepted"] == 0
    assert [r["index"] for r in ack["rejected"]] == [0, 1, 2]
    assert "targetUserId" in ack["rejected"][0]["error"]
    assert "userId" in ack["rejected"][2]["error"]


def test_a_stored_event_that_no_longer_fits_its_schema_is_quarantined_not_fatal(ingest):
    """Rows stored before validation existed must not wedge the shard: processing isolates
    them (to be quarantined), and the rest of the chunk is applied."""
    from core.events import StoredEvent
    from pipeline.drain import apply_isolating

    g = int(snowflake())
    events = [
        StoredEvent(1, "GUILD_BAN_ADD", g, None, None, ORIGIN, {"targetUserId": 5}),
        StoredEvent(2, "GUILD_AUDIT_LOG_ENTRY_CREATE", g, None, None, ORIGIN, None),
        StoredEvent(3, "GUILD_BAN_ADD", g, None, None, ORIGIN, {"targetUserId": "7"}),
    ]
    with transaction.atomic():  # as in processing: one transaction per chunk
        failed = apply_isolating(events)
    assert [(event.id, type(exc).__name__) for event, exc in failed] == [
        (1, "ValidationError"),
        (2, "ValidationError"),
    ]
    assert cases(str(g)) == [(1, "BAN", 7, None, "")]


LONG_NAME = "x" * 256  # the name columns are varchar(255)
OVERSIZED_PAYLOADS = [
    ("GUILD_BAN_ADD", {"targetUserId": "1", "targetUsername": LONG_NAME}, "targetUsername"),
    ("GUILD_BAN_ADD", {"targetUserId": "1", "moderatorUsername": LONG_NAME}, "moderatorUsername"),
    ("GUILD_MEMBER_REMOVE", {"username": LONG_NAME, "wasKicked": True}, "$.data.username"),
    ("GUILD_MEMBER_REMOVE", {"moderatorUsername": LONG_NAME}, "moderatorUsername"),
    ("GUILD_MEMBER_REMOVE", {"joinedAt": "2026-01-01T00:00:00"}, "$.data.joinedAt"),
    ("MESSAGE_DELETE", {"authorUsername": LONG_NAME}, "authorUsername"),
    ("MESSAGE_DELETE", {"deletedBy": {"userId": "1", "username": LONG_NAME}}, "username"),
    ("MESSAGE_DELETE", {"attachmentCount": 2**31}, "$.data.attachmentCount"),
    ("MESSAGE_DELETE_BULK", {"moderatorUsername": LONG_NAME}, "moderatorUsername"),
    ("MESSAGE_DELETE_BULK", {"count": 2**31}, "$.data.count"),
    ("GUILD_AUDIT_LOG_ENTRY_CREATE", {"action": 22, "executorUsername": LONG_NAME}, "executor"),
    ("GUILD_AUDIT_LOG_ENTRY_CREATE", {"action": 22, "targetUsername": LONG_NAME}, "targetUser"),
    ("AUTO_MODERATION_ACTION_EXECUTION", {"username": LONG_NAME}, "$.data.username"),
]


@pytest.mark.parametrize(("type_", "data", "reason"), OVERSIZED_PAYLOADS)
def test_values_too_long_or_large_for_their_columns_are_rejected_at_ingest(
    ingest, type_, data, reason
):
    """On PostgreSQL such a value failed the event at processing (varchar(255), integer) and,
    with it, the whole chunk and every later one of the shard."""
    test_malformed_moderation_events_are_rejected_with_a_reason(ingest, type_, data, reason)


def test_names_at_the_column_length_are_accepted(ingest):
    g, target, mod = snowflake(), snowflake(), snowflake()
    name = "é" * 255  # characters, as varchar(255) counts them
    accepted(
        ingest,
        [
            ban(g, target, at(), moderator=mod)
            | {
                "data": {
                    "targetUserId": target,
                    "targetUsername": name,
                    "moderatorId": mod,
                    "moderatorUsername": name,
                }
            }
        ],
    )
    case = ModerationCase.objects.get(guild_id=int(g))
    assert (case.target_username, case.moderator_username) == (name, name)
