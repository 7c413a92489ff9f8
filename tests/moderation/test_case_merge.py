"""Moderation cases through the ingest endpoint: the merge of a bot event and the audit-log
entry reporting the same action into one case."""

from __future__ import annotations

import pytest

from moderation.models import ModerationCase
from tests.factories import audit_entry, ban, member_remove, snowflake
from tests.moderation.helpers import accepted, at, cases

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


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
