"""Opt-outs: a member a guild does not track has their events refused at ingest ("opted out",
counted in /metrics), one lookup per frame at most; adding and removing them in the admin is
audited, and the audit is read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pipeline.models import Event
from privacy.models import MemberOptOut, PrivacyAudit
from privacy.services.optouts import add_opt_out
from tests.factories import message, ms, snowflake
from tests.ops.test_health_metrics import metric

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client(db: None) -> Client:
    User.objects.create_superuser("root", "root@example.org", "pw")
    client = Client()
    client.login(username="root", password="pw")
    return client


def frame(guild: str, *users: str) -> list[dict]:
    return [message(guild, user, "300000000000000010", ms()) for user in users]


def test_opted_out_members_are_refused_per_event(ingest, admin_client):
    g, quiet, chatty = snowflake(), snowflake(), snowflake()
    ingest(frame(g, quiet))  # the guild's (empty) list is cached now
    response = admin_client.post(
        "/admin/privacy/memberoptout/add/", {"guild_id": g, "user_id": quiet}
    )
    assert response.status_code == 302, response.content
    before = Client().get("/metrics").content.decode()

    status, ack = ingest(frame(g, chatty, quiet, chatty, quiet))

    assert status == 200
    assert ack["accepted"] == 2
    assert ack["rejected"] == [
        {"index": 1, "error": "opted out"},
        {"index": 3, "error": "opted out"},
    ]
    after = Client().get("/metrics").content.decode()
    name = 'guildstats_ingest_rejected_total{reason="opted_out"}'
    assert metric(after, name) - metric(before, name) == 2
    assert Event.objects.filter(guild_id=int(g), user_id=int(quiet)).count() == 1  # the first
    audit = PrivacyAudit.objects.get()
    assert (audit.action, audit.actor, audit.guild_id, audit.user_id) == (
        "opt_out",
        "root",
        int(g),
        int(quiet),
    )


def test_removing_the_opt_out_tracks_them_again(ingest, admin_client):
    g, member = snowflake(), snowflake()
    opt_out = add_opt_out(int(g), int(member), actor="command")
    assert ingest(frame(g, member))[1]["accepted"] == 0
    response = admin_client.post(
        f"/admin/privacy/memberoptout/{opt_out.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not MemberOptOut.objects.exists()
    assert ingest(frame(g, member))[1]["accepted"] == 1
    actions = list(PrivacyAudit.objects.order_by("at", "id").values_list("action", "actor"))
    assert actions == [("opt_out", "command"), ("opt_in", "root")]


def test_an_opt_out_applies_to_its_guild_only(ingest):
    g, other, member = snowflake(), snowflake(), snowflake()
    add_opt_out(int(g), int(member), actor="command")
    _status, ack = ingest([*frame(g, member), *frame(other, member)])
    assert (ack["accepted"], ack["rejected"]) == (1, [{"index": 0, "error": "opted out"}])


def test_one_lookup_per_frame_at_most(ingest):
    guilds = [snowflake() for _ in range(3)]
    add_opt_out(int(guilds[0]), 42, actor="command")
    events = [e for g in guilds for e in frame(g, *(snowflake() for _ in range(20)))]
    with CaptureQueriesContext(connection) as first:
        assert ingest(events)[1]["accepted"] == 60
    with CaptureQueriesContext(connection) as second:
        assert ingest(frame(guilds[1], snowflake()))[1]["accepted"] == 1
    lookups = [q for q in first.captured_queries if "member_opt_outs" in q["sql"]]
    assert len(lookups) == 1
    assert not [q for q in second.captured_queries if "member_opt_outs" in q["sql"]]  # cached


def test_the_audit_is_read_only(admin_client):
    add_opt_out(1, 2, actor="command")
    entry = PrivacyAudit.objects.get()
    assert admin_client.get("/admin/privacy/privacyaudit/").status_code == 200
    assert admin_client.get("/admin/privacy/privacyaudit/add/").status_code == 403
    page = admin_client.get(f"/admin/privacy/privacyaudit/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="actor"' not in page.content
    assert (
        admin_client.post(
            f"/admin/privacy/privacyaudit/{entry.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )


def test_a_frame_reads_its_guilds_lists_once_per_opt_out_change(ingest, monkeypatch):
    """Each process keeps the lists it read while the shared opt-out version stands: a frame
    of known guilds reads no list again; an opt-out (in any process) moves the version, and
    the next frame reads the lists afresh and refuses the member."""
    from django.core.cache import cache

    guilds = [snowflake() for _ in range(5)]
    member = snowflake()

    def everyone() -> list[dict]:  # new events each time (a resent one is a duplicate)
        return [event for g in guilds for event in frame(g, member)]

    assert ingest(everyone())[1]["accepted"] == 5  # reads and keeps the five lists
    asked: list[list[str]] = []
    get_many = cache.get_many

    def spy(keys, *args, **kwargs):
        lists = sorted(key for key in keys if key.startswith("privacy:"))
        if lists:
            asked.append(lists)
        return get_many(keys, *args, **kwargs)

    monkeypatch.setattr(cache, "get_many", spy)
    assert ingest(everyone())[1]["accepted"] == 5
    assert asked == []
    add_opt_out(int(guilds[0]), int(member), actor="command")
    _status, ack = ingest(everyone())
    assert (ack["accepted"], ack["rejected"]) == (4, [{"index": 0, "error": "opted out"}])
    assert asked == [sorted(f"privacy:optouts:{g}" for g in guilds)]


def test_a_redis_outage_drops_the_process_copy_of_the_lists(ingest, monkeypatch):
    """While the opt-out version cannot be read, an opt-out cannot move it either: the copy
    read before the outage must not be trusted after it (only the shared cache's own expiry
    bounds a list then, as before there was a copy)."""
    from django.core.cache import cache

    from privacy.selectors import opt_out_cache_key

    g, member = snowflake(), snowflake()
    assert ingest(frame(g, member))[1]["accepted"] == 1  # the empty list is kept
    with monkeypatch.context() as outage:  # the cache answers as a degraded Redis does
        outage.setattr(cache, "get", lambda *args, **kwargs: None)
        outage.setattr(cache, "add", lambda *args, **kwargs: False)
        outage.setattr(cache, "get_many", lambda *args, **kwargs: {})
        outage.setattr(cache, "set_many", lambda data, *args, **kwargs: list(data))
        assert ingest(frame(g, member))[1]["accepted"] == 1
        MemberOptOut.objects.create(guild_id=int(g), user_id=int(member))
        _status, ack = ingest(frame(g, member))  # read from the database meanwhile
        assert ack["rejected"] == [{"index": 0, "error": "opted out"}]
    cache.delete(opt_out_cache_key(int(g)))  # the shared list expired; the version is unmoved
    _status, ack = ingest(frame(g, member))
    assert (ack["accepted"], ack["rejected"]) == (0, [{"index": 0, "error": "opted out"}])
