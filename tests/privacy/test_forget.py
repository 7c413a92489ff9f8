"""Erasing a member (``forget_member`` and the member-stats admin action): afterwards the id is
in no table but the audit; other members' counts, the snapshots (recomputed) and the case
numbers stay."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connections, transaction
from django.test import Client

from core.sql import try_lock
from invites.models import Invite, MemberJoin, MemberLifecycle
from moderation.models import ModerationCase
from pipeline.drain import LOCK_BASE
from pipeline.models import Event, QuarantinedEvent
from privacy.models import PrivacyAudit
from stats.models import BucketParts, MemberStats, MetricsSnapshot
from stats.rollups import fill as rollups
from tests.conftest import on_postgres
from tests.factories import (
    ban,
    invite_create,
    member_add,
    message,
    ms,
    reaction,
    voice_join,
    voice_leave,
)
from tests.privacy.scan import places_naming

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]

ORIGIN = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
G, X, Y, Z = "700000000000000001", "481516234200000042", "481516234200000077", "4815162342000099"
TEXT, VOICE = "300000000000000010", "300000000000000011"


def at(minutes: float) -> int:
    return ms(ORIGIN + timedelta(minutes=minutes))


def moment(minutes: float) -> datetime:
    return ORIGIN + timedelta(minutes=minutes)


@pytest.fixture
def activity(ingest):
    events = [
        invite_create(G, "abc", X, at(0)),
        member_add(G, X, at(0.5), inviter=Y),
        message(G, X, TEXT, at(1), data={"content": f"hi <@{Y}>"}),
        message(G, X, TEXT, at(2)),
        message(G, Y, TEXT, at(3), data={"content": f"hello <@{X}>"}),
        reaction(G, Y, X, at(4), channel=TEXT),  # Y reacts to X's message
        reaction(G, X, Y, at(5), channel=TEXT),
        member_add(G, Y, at(6), inviter=X, code="abc"),
        voice_join(G, X, VOICE, at(10)),
        voice_leave(G, X, VOICE, at(40)),
        ban(G, X, at(50), moderator=Y, reason=f"spam, see <@{X}>"),  # case 1: X is the target
        ban(G, Z, at(51), moderator=X, reason="raid"),  # case 2: X is the moderator
    ]
    with time_machine.travel(moment(150), tick=False):
        _status, ack = ingest(events)
        assert ack["accepted"] == len(events), ack
        rollups.fill_snapshots(moment(150))
    # a poison event of the member, as processing would have kept it
    stored = Event.objects.filter(user_id=int(X), type="MESSAGE_CREATE").first()
    QuarantinedEvent.objects.create(
        event_id=stored.id, batch_id=stored.batch_id, shard=0, type=stored.type,
        guild_id=int(G), user_id=int(X), channel_id=int(TEXT), timestamp=stored.timestamp,
        data={"authorId": X}, error="boom", quarantined_at=moment(150), last_attempt_at=moment(150),
    )  # fmt: skip
    theirs = Event.objects.filter(user_id=int(Y), type="MESSAGE_REACTION_ADD").get()
    QuarantinedEvent.objects.create(
        event_id=theirs.id, batch_id=theirs.batch_id, shard=0, type=theirs.type,
        guild_id=int(G), user_id=int(Y), timestamp=theirs.timestamp, data=theirs.data,
        error="boom", quarantined_at=moment(150), last_attempt_at=moment(150),
    )  # fmt: skip


def hour() -> MetricsSnapshot:
    return MetricsSnapshot.objects.get(guild_id=int(G), period_type="hourly", period_start=ORIGIN)


def test_forget_member_leaves_the_id_nowhere_but_the_audit(activity):
    before = hour()
    assert (before.total_messages, before.total_reactions, before.unique_active_users) == (3, 2, 2)
    assert before.total_voice_seconds == 1800
    if on_postgres():  # the SQL engine keeps per-bucket parts
        assert BucketParts.objects.filter(member_ids__contains=[int(X)]).exists()
    assert places_naming(int(X))  # the scan does find it before

    with time_machine.travel(moment(160), tick=False):
        call_command("forget_member", guild=int(G), user=int(X))

    assert places_naming(int(X)) == []
    # the snapshots were recomputed without them
    after = hour()
    assert (after.total_messages, after.total_reactions, after.total_voice_seconds) == (1, 1, 0)
    assert after.unique_active_users == 1
    assert [m["userId"] for m in after.data["topMembers"]] == [Y]
    # the other member keeps their counters and their join (without its inviter)
    other = MemberStats.objects.get(guild_id=int(G), user_id=int(Y))
    assert (other.total_messages, other.total_reactions_given) == (1, 1)
    join = MemberJoin.objects.get(guild_id=int(G), user_id=int(Y))
    assert (join.inviter_id, join.inviter_username) == (None, "")
    assert Invite.objects.get(guild_id=int(G), code="abc").inviter_id is None
    kept = QuarantinedEvent.objects.get()  # the other member's, without the id
    assert kept.user_id == int(Y) and kept.data["messageAuthorId"] is None
    # cases keep their number and action, not the member's id, name or words
    cases = {c.case_number: c for c in ModerationCase.objects.filter(guild_id=int(G))}
    assert (cases[1].action, cases[1].target_user_id, cases[1].target_username) == ("BAN", None, "")
    assert (cases[1].reason, cases[1].details, cases[1].raw) == ("", {"erased": "target"}, {})
    assert cases[1].moderator_id == int(Y)
    assert (cases[2].target_user_id, cases[2].moderator_id) == (int(Z), None)
    assert cases[2].reason == "raid"
    assert cases[2].details["moderatorErased"] is True
    audit = PrivacyAudit.objects.get()
    assert (audit.action, audit.actor, audit.guild_id, audit.user_id) == (
        "erase",
        "command",
        int(G),
        int(X),
    )
    assert audit.details["events"] == 7 and audit.details["cases_as_target"] == 1


def test_forgetting_twice_finds_nothing_the_second_time(activity):
    with time_machine.travel(moment(160), tick=False):
        call_command("forget_member", guild=int(G), user=int(X))
        call_command("forget_member", guild=int(G), user=int(X))
    assert places_naming(int(X)) == []
    assert PrivacyAudit.objects.count() == 2
    assert PrivacyAudit.objects.order_by("at", "id").last().details["events"] == 0


@pytest.mark.parametrize(
    ("page", "model"),
    [("stats/memberstats", MemberStats), ("invites/memberlifecycle", MemberLifecycle)],
)
def test_admin_action_erases_the_selected_member(activity, page, model):
    User.objects.create_superuser("root", "root@example.org", "pw")
    client = Client()
    client.login(username="root", password="pw")
    row = model.objects.get(guild_id=int(G), user_id=int(X))
    with time_machine.travel(moment(160), tick=False):
        response = client.post(
            f"/admin/{page}/",
            {"action": "erase", "_selected_action": [row.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert b"1 member(s) erased" in response.content
    assert places_naming(int(X)) == []
    assert PrivacyAudit.objects.get().actor == "root"


def test_moderators_cannot_erase(activity):
    from guilds.models import GuildAccess

    mod = User.objects.create_user("mod", password="pw", is_staff=True)
    GuildAccess.objects.create(user=mod, guild_id=int(G))
    client = Client()
    client.login(username="mod", password="pw")
    row = MemberStats.objects.get(guild_id=int(G), user_id=int(X))
    client.post("/admin/stats/memberstats/", {"action": "erase", "_selected_action": [row.pk]})
    assert MemberStats.objects.filter(pk=row.pk).exists()
    assert not PrivacyAudit.objects.exists()


@pytest.mark.postgres
def test_erase_waits_for_the_shard_being_processed(activity):
    """A drain of the guild's shard holds its lock: the erasure waits until it commits."""
    held, release = threading.Event(), threading.Event()

    def drain() -> None:
        try:
            with transaction.atomic():
                try_lock(LOCK_BASE + int(G) % settings.GUILDSTATS["PROCESSING_SHARDS"], wait=True)
                held.set()
                release.wait(10)
        finally:
            connections.close_all()

    def erase() -> None:
        try:
            call_command("forget_member", guild=int(G), user=int(X))
        finally:
            connections.close_all()

    with time_machine.travel(moment(160), tick=False):
        holder = threading.Thread(target=drain)
        holder.start()
        assert held.wait(10)
        eraser = threading.Thread(target=erase)
        eraser.start()
        time.sleep(0.5)
        assert eraser.is_alive()
        assert Event.objects.filter(user_id=int(X)).exists()
        release.set()
        holder.join(10)
        eraser.join(30)
    assert not eraser.is_alive()
    assert places_naming(int(X)) == []
