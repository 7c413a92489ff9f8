"""Moderation cases through the ingest endpoint: one case per action, per-guild numbers, the
event + audit-log merge, and malformed payloads refused with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from moderation.models import ModerationCase
from tests.factories import (
    audit_entry,
    ban,
    event,
    member_remove,
    ms,
    snowflake,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]

ORIGIN = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)


def at(**delta: float) -> int:
    return ms(ORIGIN + timedelta(**delta))


def cases(guild: str) -> list[tuple[Any, ...]]:
    """(number, action, target, moderator, reason) of a guild's cases, by number."""
    return list(
        ModerationCase.objects.filter(guild_id=int(guild))
        .order_by("case_number")
        .values_list("case_number", "action", "target_user_id", "moderator_id", "reason")
    )


def accepted(ingest, events: list[dict[str, Any]]) -> None:
    status, ack = ingest(events)
    assert (status, ack["rejected"]) == (200, []), ack
    assert ack["accepted"] == len(events)


def test_a_ban_becomes_case_one_with_its_details(ingest):
    g, target, mod = snowflake(), snowflake(), snowflake()
    accepted(ingest, [ban(g, target, at(), moderator=mod, reason="spam")])
    case = ModerationCase.objects.get(guild_id=int(g))
    assert (case.case_number, case.action, case.target_user_id) == (1, "BAN", int(target))
    assert (case.moderator_id, case.moderator_username, case.reason) == (
        int(mod),
        f"mod{mod[-4:]}",
        "spam",
    )
    assert case.target_username == f"user{target[-4:]}"
    assert case.timestamp == ORIGIN
    assert case.raw["event"]["targetUserId"] == target
    assert case.audit_event_id is None and case.event_id is not None


def test_numbers_are_per_guild_consecutive_and_never_reused(ingest):
    g1, g2, a, b = snowflake(), snowflake(), snowflake(), snowflake()
    accepted(
        ingest,
        [
            ban(g1, a, at(minutes=0)),
            ban(g2, a, at(minutes=1)),
            ban(g1, a, at(minutes=2), removed=True),
            ban(g1, b, at(minutes=3)),
        ],
    )
    accepted(ingest, [member_remove(g1, b, at(minutes=4), kicked_by=a)])
    assert [c[:2] for c in cases(g1)] == [(1, "BAN"), (2, "UNBAN"), (3, "BAN"), (4, "KICK")]
    assert [c[:2] for c in cases(g2)] == [(1, "BAN")]


def test_a_replayed_frame_opens_no_case(ingest):
    g, target = snowflake(), snowflake()
    frame = [ban(g, target, at(), id="ban-1"), audit_entry(g, "MEMBER_KICK", at(), target=g)]
    ingest(frame)
    _status, ack = ingest(frame)
    assert (ack["accepted"], ack["duplicates"]) == (0, 2)
    assert len(cases(g)) == 2


@pytest.mark.parametrize("audit_first", [False, True], ids=["event-first", "audit-first"])
@pytest.mark.parametrize("same_frame", [True, False], ids=["one-frame", "two-frames"])
def test_ban_event_and_its_audit_entry_make_one_case(ingest, audit_first, same_frame):
    """The bot's ban event has no moderator (not found yet); the audit entry a few seconds
    later knows who and why: one case, completed by the audit log."""
    g, target, mod = snowflake(), snowflake(), snowflake()
    ban_event = ban(g, target, at(seconds=0 if not audit_first else 4))
    entry = audit_entry(
        g,
        "MEMBER_BAN_ADD",
        at(seconds=3 if not audit_first else 0),
        target=target,
        executor=mod,
        reason="raid",
        id=snowflake(),
    )
    frames = [[ban_event, entry]] if same_frame else [[ban_event], [entry]]
    if audit_first and not same_frame:
        frames.reverse()
    for frame in frames:
        accepted(ingest, frame)
    assert cases(g) == [(1, "BAN", int(target), int(mod), "raid")]
    case = ModerationCase.objects.get(guild_id=int(g))
    assert case.event_id is not None and case.audit_event_id is not None
    assert set(case.raw) == {"event", "audit"}


def test_the_merge_keeps_what_the_first_report_said(ingest):
    g, target, mod, other = snowflake(), snowflake(), snowflake(), snowflake()
    accepted(ingest, [ban(g, target, at(), moderator=mod, reason="first reason")])
    accepted(
        ingest,
        [
            audit_entry(
                g, "MEMBER_BAN_ADD", at(seconds=2), target=target, executor=other, reason="x"
            )
        ],
    )
    assert cases(g) == [(1, "BAN", int(target), int(mod), "first reason")]


def test_reports_further_apart_than_the_window_are_two_cases(ingest):
    g, target, mod = snowflake(), snowflake(), snowflake()
    accepted(
        ingest,
        [
            ban(g, target, at()),
            audit_entry(g, "MEMBER_BAN_ADD", at(seconds=11), target=target, executor=mod),
        ],
    )
    assert cases(g) == [(1, "BAN", int(target), None, ""), (2, "BAN", int(target), int(mod), "")]


def test_an_audit_entry_never_merges_into_another_audit_entry(ingest):
    """Two role updates a second apart are two actions, not one reported twice."""
    g, target, mod = snowflake(), snowflake(), snowflake()
    changes = [{"key": "$add", "newValue": [{"id": "1", "name": "Muted"}]}]
    accepted(
        ingest,
        [
            audit_entry(
                g, "MEMBER_ROLE_UPDATE", at(), target=target, executor=mod, changes=changes
            ),
            audit_entry(g, "MemberRoleUpdate", at(seconds=1), target=target, executor=mod),
        ],
    )
    assert [c[:2] for c in cases(g)] == [(1, "ROLE_UPDATE"), (2, "ROLE_UPDATE")]
    first = ModerationCase.objects.get(guild_id=int(g), case_number=1)
    assert first.details["changes"] == [{"key": "$add", "newValue": [{"id": "1", "name": "Muted"}]}]


def test_the_same_audit_entry_sent_twice_is_one_case(ingest):
    g, target, mod, entry_id = snowflake(), snowflake(), snowflake(), snowflake()
    for client_id in ("a", "b"):  # two client ids: not a duplicate at ingest
        accepted(
            ingest,
            [
                audit_entry(g, "MEMBER_KICK", at(), target=target, executor=mod, id=entry_id)
                | {"id": client_id}
            ],
        )
    assert cases(g) == [(1, "KICK", int(target), int(mod), "")]


def test_manual_bans_and_kicks_seen_only_in_the_audit_log_are_cases(ingest):
    g, a, b, mod = snowflake(), snowflake(), snowflake(), snowflake()
    accepted(
        ingest,
        [
            audit_entry(g, "MEMBER_BAN_ADD", at(), target=a, executor=mod, reason="r1"),
            audit_entry(g, 20, at(minutes=1), target=b, executor=mod),  # Discord's numeric kick
            audit_entry(g, "MEMBER_BAN_REMOVE", at(minutes=2), target=a, executor=mod),
        ],
    )
    assert cases(g) == [
        (1, "BAN", int(a), int(mod), "r1"),
        (2, "KICK", int(b), int(mod), ""),
        (3, "UNBAN", int(a), int(mod), ""),
    ]


def test_kick_event_and_audit_entry_make_one_case_and_a_leave_makes_none(ingest):
    g, kicked, left, mod = snowflake(), snowflake(), snowflake(), snowflake()
    accepted(
        ingest,
        [
            member_remove(g, kicked, at(), kicked_by=mod, reason="rude"),
            audit_entry(g, "MEMBER_KICK", at(seconds=1), target=kicked, executor=mod),
            member_remove(g, left, at(minutes=1)),
        ],
    )
    assert cases(g) == [(1, "KICK", int(kicked), int(mod), "rude")]


def test_timeouts_added_and_removed(ingest):
    g, target, mod = snowflake(), snowflake(), snowflake()
    until = "2026-03-28T10:00:00.000Z"
    accepted(
        ingest,
        [
            audit_entry(g, "MEMBER_TIMEOUT_ADD", at(), target=target, executor=mod, reason="calm"),
            audit_entry(
                g,
                "MEMBER_UPDATE",  # what Discord itself writes for a timeout
                at(minutes=5),
                target=target,
                executor=mod,
                changes=[{"key": "communication_disabled_until", "newValue": until}],
            ),
            audit_entry(
                g,
                "MEMBER_TIMEOUT_REMOVE",
                at(minutes=10),
                target=target,
                executor=mod,
            ),
            audit_entry(  # a nickname change: not a moderation case
                g,
                "MEMBER_UPDATE",
                at(minutes=11),
                target=target,
                executor=mod,
                changes=[{"key": "nick", "oldValue": "a", "newValue": "b"}],
            ),
            audit_entry(g, "CHANNEL_CREATE", at(minutes=12), executor=mod),
        ],
    )
    assert [c[:2] for c in cases(g)] == [(1, "TIMEOUT"), (2, "TIMEOUT"), (3, "TIMEOUT_REMOVE")]
    assert ModerationCase.objects.get(guild_id=int(g), case_number=2).details["until"] == until


def test_message_deletes_by_a_moderator_are_cases_self_deletes_are_not(ingest):
    g, author, mod, channel = snowflake(), snowflake(), snowflake(), snowflake()
    msg = snowflake()
    data = {
        "messageId": msg,
        "channelId": channel,
        "authorId": author,
        "authorUsername": "author",
        "content": "bad words",
        "hasAttachments": False,
        "attachmentCount": 0,
    }
    accepted(
        ingest,
        [
            event(
                "MESSAGE_DELETE",
                g,
                at(),
                channel=channel,
                data=data | {"deletedBy": {"userId": mod, "username": "mod"}},
            ),
            event("MESSAGE_DELETE", g, at(minutes=1), channel=channel, data=data),
            event(
                "MESSAGE_DELETE",
                g,
                at(minutes=2),
                data=data | {"deletedBy": {"userId": author, "username": "author"}},
            ),
            event(
                "MESSAGE_DELETE_BULK",
                g,
                at(minutes=3),
                channel=channel,
                data={"messageIds": [snowflake(), snowflake()], "moderatorId": mod},
            ),
        ],
    )
    assert cases(g) == [
        (1, "MESSAGE_DELETE", int(author), int(mod), ""),
        (2, "MESSAGE_DELETE_BULK", None, int(mod), ""),
    ]
    single, bulk = ModerationCase.objects.filter(guild_id=int(g)).order_by("case_number")
    assert single.details == {"messageId": msg, "channelId": channel, "content": "bad words"}
    assert bulk.details["count"] == 2 and bulk.details["channelId"] == channel


def test_a_bulk_delete_and_its_audit_entry_make_one_case(ingest):
    g, channel, mod = snowflake(), snowflake(), snowflake()
    accepted(
        ingest,
        [
            event("MESSAGE_DELETE_BULK", g, at(), channel=channel, data={"count": 40}),
            audit_entry(
                g,
                "MESSAGE_BULK_DELETE",
                at(seconds=2),
                executor=mod,
                targetId=channel,
                targetType="channel",
            ),
        ],
    )
    assert cases(g) == [(1, "MESSAGE_DELETE_BULK", None, int(mod), "")]


def test_auto_moderation_is_a_case_without_moderator(ingest):
    g, user, rule = snowflake(), snowflake(), snowflake()
    accepted(
        ingest,
        [
            event(
                "AUTO_MODERATION_ACTION_EXECUTION",
                g,
                at(),
                user=user,
                data={
                    "ruleId": rule,
                    "ruleName": "no links",
                    "ruleTriggerType": 1,
                    "action": {"type": 1},
                    "matchedKeyword": "http",
                    "content": "http://spam",
                },
            )
        ],
    )
    assert cases(g) == [(1, "AUTOMOD", int(user), None, "auto-moderation rule no links")]
    assert ModerationCase.objects.get().details["matchedKeyword"] == "http"


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


# --- review fixes: bounded names, bulk-delete audit targets, resent reports ------------------
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


@pytest.mark.parametrize("target_type", [None, "channel", "user", "CHANNEL"])
def test_a_bulk_delete_audit_entry_targets_the_channel_whatever_its_target_type(
    ingest, target_type
):
    g, channel, mod, author = snowflake(), snowflake(), snowflake(), snowflake()
    extra = {} if target_type is None else {"targetType": target_type}
    accepted(
        ingest,
        [
            event(
                "MESSAGE_DELETE_BULK",
                g,
                at(),
                data={"channelId": channel, "messageIds": ["1", "2"], "authorIds": [author]},
            ),
            audit_entry(
                g, "MESSAGE_BULK_DELETE", at(seconds=1), executor=mod, targetId=channel, **extra
            ),
        ],
    )
    assert cases(g) == [(1, "MESSAGE_DELETE_BULK", int(author), int(mod), "")]
    assert ModerationCase.objects.get(guild_id=int(g)).details["channelId"] == channel


def test_an_audit_only_bulk_delete_has_no_target_user(ingest):
    g, channel, mod = snowflake(), snowflake(), snowflake()
    accepted(ingest, [audit_entry(g, 73, at(), executor=mod, targetId=channel, targetType="user")])
    assert cases(g) == [(1, "MESSAGE_DELETE_BULK", None, int(mod), "")]
    assert ModerationCase.objects.get(guild_id=int(g)).details["channelId"] == channel


def test_a_report_resent_under_a_new_client_id_is_one_case(ingest):
    """A bot resending after a reconnect: same source, same data, new client ids."""
    g, target, mod, channel = snowflake(), snowflake(), snowflake(), snowflake()
    first = [
        ban(g, target, at(), moderator=mod, reason="spam") | {"id": "ban-1"},
        audit_entry(g, "MEMBER_KICK", at(), target=snowflake(), executor=mod) | {"id": "kick-1"},
        event("MESSAGE_DELETE_BULK", g, at(), channel=channel, data={"count": 3})
        | {"id": "purge-1"},
    ]
    accepted(ingest, first)
    resent = [
        ev | {"id": ev["id"].replace("-1", "-2"), "timestamp": ev["timestamp"] + 3000}
        for ev in first
    ]
    accepted(ingest, resent)
    assert [c[1] for c in cases(g)] == ["BAN", "KICK", "MESSAGE_DELETE_BULK"]
    # and the audit entry of the ban still merges into its case
    accepted(
        ingest,
        [
            audit_entry(
                g, "MEMBER_BAN_ADD", at(seconds=4), target=target, executor=mod, reason="spam"
            )
        ],
    )
    assert cases(g)[0] == (1, "BAN", int(target), int(mod), "spam")
    assert len(cases(g)) == 3


def test_same_source_reports_that_differ_are_distinct_cases(ingest):
    """Different reason, moderator or details (another message, other role changes, another
    Discord audit entry id) make another case, as does auto-moderation firing twice, and a
    resend later than the window."""
    g, target, mod, other = snowflake(), snowflake(), snowflake(), snowflake()
    author, channel = snowflake(), snowflake()

    def deleted(message_id: str, ts: int) -> dict[str, Any]:
        return event(
            "MESSAGE_DELETE",
            g,
            ts,
            data={
                "messageId": message_id,
                "channelId": channel,
                "authorId": author,
                "deletedBy": {"userId": mod},
            },
        )

    automod = event(
        "AUTO_MODERATION_ACTION_EXECUTION",
        g,
        at(),
        user=author,
        data={"ruleName": "no links", "action": {"type": 1}, "content": "http://x"},
    )
    accepted(
        ingest,
        [
            ban(g, target, at(), moderator=mod, reason="spam"),
            ban(g, target, at(seconds=1), moderator=mod, reason="raid") | {"id": "b2"},
            ban(g, target, at(seconds=2), moderator=other, reason="spam") | {"id": "b3"},
            ban(g, target, at(seconds=11), moderator=mod, reason="spam") | {"id": "b4"},
            deleted(snowflake(), at()),
            deleted(snowflake(), at(seconds=1)),
            audit_entry(g, 25, at(), target=target, executor=mod, id=snowflake()),
            audit_entry(g, 25, at(seconds=1), target=target, executor=mod, id=snowflake()),
            automod,
            automod | {"timestamp": at(seconds=1), "id": "automod-2"},
        ],
    )
    actions = [c[1] for c in cases(g)]
    assert actions.count("BAN") == 4
    assert actions.count("MESSAGE_DELETE") == 2
    assert actions.count("ROLE_UPDATE") == 2
    assert actions.count("AUTOMOD") == 2
