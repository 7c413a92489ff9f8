"""Moderation cases through the ingest endpoint: per-guild consecutive numbers, and one case
per action however often it is sent (replays, resends under new client ids)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import audit_entry, ban, event, member_remove, snowflake
from tests.moderation.helpers import accepted, at, cases

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


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
