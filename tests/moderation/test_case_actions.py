"""Moderation cases through the ingest endpoint: what each kind of action (ban, kick,
timeout, message deletes, auto-moderation) makes of its case."""

from __future__ import annotations

import pytest

from moderation.models import ModerationCase
from tests.factories import audit_entry, ban, event, snowflake
from tests.moderation.helpers import ORIGIN, accepted, at, cases

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


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
