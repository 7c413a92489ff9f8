"""The directory through ingest and processing: snapshots, changes in and out of order,
deletions, role history, opt-outs, erase and bad entries."""

from __future__ import annotations

import pytest

from directory.models import Channel, Member, Role, RoleSpan
from privacy.services.erase import erase_member
from privacy.services.optouts import add_opt_out
from tests.directory.factories import (
    channel,
    channel_delete,
    channel_event,
    directory,
    member_update,
    person,
    role,
    role_event,
)
from tests.factories import member_add, member_remove, ms

pytestmark = pytest.mark.django_db(transaction=True)

G = "100000000000000001"
ALICE, BOB = "200000000000000001", "200000000000000002"
GENERAL, VOICE, CATEGORY = "300000000000000001", "300000000000000002", "300000000000000003"
MOD, VIP = "400000000000000001", "400000000000000002"
T0 = ms(ago=3600)


def at(seconds: float) -> int:
    return T0 + round(seconds * 1000)


def channels() -> list[tuple[int, str, int, int | None, bool]]:
    return sorted(Channel.objects.values_list("channel_id", "name", "type", "parent_id", "deleted"))


def members() -> list[tuple[int, str, str, str, bool]]:
    return sorted(
        Member.objects.values_list("user_id", "username", "global_name", "nick", "present")
    )


def spans() -> list[tuple[int, int, bool]]:
    return sorted(
        (u, r, until is None)
        for u, r, until in RoleSpan.objects.values_list("user_id", "role_id", "until")
    )


def snapshot(ts: int, snapshot_id: str = "s1", **lists) -> dict:
    return directory(G, ts, snapshot=snapshot_id, **lists)


def test_a_snapshot_names_channels_roles_and_members(ingest):
    status, ack = ingest(
        [
            snapshot(
                at(0),
                channels=[
                    channel(CATEGORY, "Talk", type_=4),
                    channel(GENERAL, "general", parent=CATEGORY),
                    channel(VOICE, "Lounge", type_=2, parent=CATEGORY),
                ],
                roles=[role(MOD, "Moderator", color=0x3498DB), role(VIP, "VIP")],
                emojis=[{"id": "500000000000000001", "name": "party", "animated": True}],
                members=[
                    person(ALICE, "alice", global_name="Alice A.", nick="Ali", roles=[MOD]),
                    person(BOB, "bob", roles=[VIP, MOD]),
                ],
            )
        ]
    )
    assert (status, ack["accepted"], ack["rejected"]) == (200, 1, [])
    assert channels() == [
        (int(GENERAL), "general", 0, int(CATEGORY), False),
        (int(VOICE), "Lounge", 2, int(CATEGORY), False),
        (int(CATEGORY), "Talk", 4, None, False),
    ]
    assert sorted(Role.objects.values_list("name", "color")) == [
        ("Moderator", 0x3498DB),
        ("VIP", 0),
    ]
    assert members() == [
        (int(ALICE), "alice", "Alice A.", "Ali", True),
        (int(BOB), "bob", "", "", True),
    ]
    assert spans() == [
        (int(ALICE), int(MOD), True),
        (int(BOB), int(MOD), True),
        (int(BOB), int(VIP), True),
    ]


def test_updates_apply_in_time_order_whatever_order_they_arrive_in(ingest):
    ingest([snapshot(at(0), channels=[channel(GENERAL, "general")], members=[person(ALICE, "a")])])
    newer = channel_event("CHANNEL_UPDATE", G, at(20), channel(GENERAL, "chat"))
    older = channel_event("CHANNEL_UPDATE", G, at(10), channel(GENERAL, "talk"))
    ingest([newer])
    ingest([older])  # late: never overwrites the newer name
    ingest([newer])  # a resend: counted once, changes nothing
    assert channels() == [(int(GENERAL), "chat", 0, None, False)]
    ingest([member_update(G, at(30), person(ALICE, "a", nick="Boss", roles=[MOD]))])
    ingest([member_update(G, at(25), person(ALICE, "a", nick="Old"))])
    assert members() == [(int(ALICE), "a", "", "Boss", True)]
    assert spans() == [(int(ALICE), int(MOD), True)]


def test_a_snapshot_marks_what_it_does_not_list_and_never_resurrects(ingest):
    ingest([snapshot(at(0), channels=[channel(GENERAL, "general"), channel(VOICE, "v")])])
    ingest([channel_delete(G, at(30), GENERAL)])
    # taken before the delete (a slow snapshot): GENERAL stays deleted; VOICE is not listed
    ingest(
        [
            directory(G, at(20), snapshot="s2", part=1, parts=2, channels=[]),
            directory(G, at(21), snapshot="s2", part=0, parts=2, channels=[channel(GENERAL, "g")]),
        ]
    )
    assert channels() == [
        (int(GENERAL), "general", 0, None, True),
        (int(VOICE), "v", 0, None, True),
    ]


def test_an_incomplete_snapshot_marks_nothing(ingest):
    ingest([snapshot(at(0), channels=[channel(GENERAL, "general"), channel(VOICE, "v")])])
    ingest([directory(G, at(10), snapshot="s2", part=0, parts=2, channels=[channel(VOICE, "v")])])
    assert [row[4] for row in channels()] == [False, False]


def test_members_who_left_and_roles_taken_away(ingest):
    ingest([snapshot(at(0), members=[person(ALICE, "a", roles=[MOD, VIP]), person(BOB, "b")])])
    ingest([member_update(G, at(10), person(ALICE, "a", roles=[VIP]))])
    ingest([role_event("ROLE_DELETE", G, at(20), {"id": VIP})])
    ingest([member_remove(G, BOB, at(30))])
    assert spans() == [(int(ALICE), int(MOD), False), (int(ALICE), int(VIP), False)]
    assert [row[4] for row in members()] == [True, False]
    assert Role.objects.get(role_id=int(VIP)).deleted


def test_a_join_names_a_member_the_directory_has_not_seen(ingest):
    ingest([member_add(G, ALICE, at(0))])
    assert members() == [(int(ALICE), f"user{ALICE[-4:]}", "", "", True)]


def test_bad_entries_are_dropped_or_cleaned_alone(ingest):
    status, ack = ingest(
        [
            snapshot(
                at(0),
                channels=[
                    channel(GENERAL, "gen\u0007eral\u200b" + "x" * 200),
                    {"id": "not-a-snowflake", "name": "bad"},
                    {"id": VOICE},  # no name
                ],
                members=[person(ALICE, "a", roles=["nope"]), person(BOB, "b\u001bob\u0085")],
            )
        ]
    )
    assert (status, ack["accepted"]) == (200, 1)
    [(channel_id, name, *_)] = channels()
    assert channel_id == int(GENERAL) and name.startswith("gen") and len(name) == 100
    assert "\u0007" not in name
    assert members() == [(int(BOB), "bob", "", "", True)]


def test_opted_out_members_are_not_stored(ingest):
    add_opt_out(int(G), int(BOB), actor="test")
    ingest([snapshot(at(0), members=[person(ALICE, "a"), person(BOB, "b")])])
    assert [row[0] for row in members()] == [int(ALICE)]


def test_erase_takes_the_names_out_everywhere(ingest):
    ingest([snapshot(at(0), members=[person(ALICE, "alice"), person(BOB, "bob", roles=[MOD])])])
    ingest([member_update(G, at(10), person(BOB, "bobby"))])
    report = erase_member(int(G), int(BOB), actor="test")
    assert (report["directory_members"], report["directory_role_spans"]) == (1, 1)
    assert [row[0] for row in members()] == [int(ALICE)]
    from pipeline.models import Event

    stored = " ".join(str(data) for data in Event.objects.values_list("data", flat=True))
    assert "bob" not in stored and BOB not in stored and "alice" in stored


def test_two_snapshots_interleaved_each_complete_and_the_newer_wins(ingest):
    old = dict(snapshot="a", parts=2)
    new = dict(snapshot="b", parts=2)
    ingest(
        [
            directory(G, at(0), part=0, channels=[channel(GENERAL, "old-general")], **old),
            directory(G, at(10), part=0, channels=[channel(GENERAL, "general")], **new),
            directory(G, at(1), part=1, channels=[channel(VOICE, "gone-later")], **old),
            directory(G, at(11), part=1, channels=[], **new),
        ]
    )
    # "a" listed VOICE, "b" (newer, complete) did not: deleted; GENERAL has b's name
    assert channels() == [
        (int(GENERAL), "general", 0, None, False),
        (int(VOICE), "gone-later", 0, None, True),
    ]


def test_an_update_for_a_member_never_seen_adds_them(ingest):
    ingest([member_update(G, at(0), person(BOB, "bob", nick="B"))])
    assert members() == [(int(BOB), "bob", "", "B", True)]


def test_archived_threads_are_not_swept(ingest):
    thread = "300000000000000009"
    ingest([snapshot(at(0), channels=[channel(GENERAL, "g"), channel(thread, "t", type_=11)])])
    ingest([directory(G, at(10), snapshot="s2", channels=[channel(GENERAL, "g")])])
    assert [(c[0], c[4]) for c in channels()] == [(int(GENERAL), False), (int(thread), False)]
