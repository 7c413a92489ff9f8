"""Property: whatever ingest accepts, processing applies without an exception (nothing is
quarantined) and its shard keeps no pending batch; no frame answers 500.

Runs in both suites; the PostgreSQL one is what the property is about (its columns refuse what
SQLite would store). Examples are derandomized so CI is repeatable; set
``GUILDSTATS_HYPOTHESIS_EXAMPLES`` (and ``GUILDSTATS_HYPOTHESIS_RANDOM=1``) to search wider.
"""

from __future__ import annotations

import os
import time

import msgspec
import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from guilds.services import create_bot_token
from pipeline.drain import drain_shard
from pipeline.models import IngestBatch, QuarantinedEvent
from stats.models import GuildDailyStats, MemberDailyStats, MetricsSnapshot
from stats.rollups.fill import fill_snapshots
from tests.core.strategies import BASE_MS, any_json, edge_events, events

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("GUILDSTATS_HYPOTHESIS_EXAMPLES", "300"))
PROFILE = hsettings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("GUILDSTATS_HYPOTHESIS_RANDOM") != "1",
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def post(monkeypatch):
    from pipeline import ingest as ingest_service

    # processing is driven by the test, shard by shard, so that its failures surface here
    monkeypatch.setattr(ingest_service, "_enqueue", lambda pending: None)
    _row, token = create_bot_token("fuzz")
    client = Client()

    def send(body: bytes):
        return client.post(
            "/api/ingest/events",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bot {token}",
        )

    return send


@PROFILE
@given(frame=st.lists(events(), min_size=1, max_size=20))
def test_whatever_ingest_accepts_processing_applies(post, frame):
    response = post(msgspec.json.encode(frame))
    assert response.status_code == 200, response.content
    ack = response.json()
    assert ack["accepted"] + ack["duplicates"] + len(ack["rejected"]) == len(frame)
    for rejection in ack["rejected"]:
        assert rejection["error"]  # a reason for each
    pending = IngestBatch.objects.filter(processed_at__isnull=True)
    for shard in set(pending.values_list("shard", flat=True)):
        drain_shard(shard)
    quarantined = list(QuarantinedEvent.objects.values_list("type", "error"))
    assert quarantined == [], (frame, quarantined)
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()


NASTY_FRAMES = [
    b"[" * 5000 + b"]" * 5000,
    b'[{"type":"MESSAGE_CREATE","data":' + b"[" * 3000 + b"]" * 3000 + b"}]",
    b'[{"type":"X","guildId":"1","timestamp":1,"data":{"a":"\xff\xfe"}}]',
    b'[{"type":"X","guildId":"1","timestamp":1,"data":{"a":"\\ud800"}}]',
    b'[{"type":"X","guildId":"1","timestamp":1,"data":{"a":1' + b"0" * 5000 + b"}}]",
    b'[{"type":"X","guildId":"1","timestamp":1,"data":{"a":1e400}}]',
    b'{"event":"to-backend","data":{"not":"a list"}}',
    b"\xef\xbb\xbf[]",
    b"",
    b"null",
    b"[]",
]


@pytest.mark.parametrize("body", NASTY_FRAMES, ids=range(len(NASTY_FRAMES)))
def test_nasty_frames_get_a_reason_not_a_500(post, body):
    response = post(body)
    assert response.status_code in (200, 400, 413), response.content
    answer = response.json()
    assert answer["type"] in ("ack", "error")
    if answer["type"] == "error":
        assert answer["error"]


@PROFILE
@given(body=st.binary(max_size=300) | any_json.map(msgspec.json.encode))
def test_any_body_gets_an_answer_not_a_500(post, body):
    response = post(body)
    assert response.status_code in (200, 400, 413), response.content
    assert response.json()["type"] in ("ack", "error")


def test_every_bound_edge_is_refused_at_ingest_or_applied(post):
    """Each field of each payload processors read, at and just past each bound, alone in an
    otherwise valid event: refused with a reason, or applied without an error."""
    sent = edge_events("815000000000000098", BASE_MS - 15 * 60_000)
    accepted = 0
    for start in range(0, len(sent), 500):
        frame = sent[start : start + 500]
        ack = post(msgspec.json.encode(frame)).json()
        accepted += ack["accepted"] + ack["duplicates"]
        assert all(r["error"] for r in ack["rejected"])
        for shard in set(
            IngestBatch.objects.filter(processed_at__isnull=True).values_list("shard", flat=True)
        ):
            drain_shard(shard)
    assert 0 < accepted < len(sent)  # both sides of the bounds were reached
    # the rollups read the same events (and the snapshots' parts): they fill without an error
    filled = fill_snapshots()
    assert filled["5min"] > 0 and MetricsSnapshot.objects.exists()
    bad = list(QuarantinedEvent.objects.values_list("type", "data", "error"))
    assert bad == [], "\n".join(map(repr, bad))
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()


def test_the_largest_bot_snapshots_add_up_without_overflow(post):
    """2,200 members at the largest count each: 2.2 billion messages in one bucket, more than a
    32-bit column holds. Counters are 64-bit; the bucket's snapshot total saturates."""
    five = 300_000  # the period and its event in one 5-minute bucket, a quarter hour ago
    period = (int(time.time() * 1000) - 15 * 60_000) // five * five
    members = {str(700_000_000_000_000_000 + i): 1_000_000 for i in range(2200)}
    snapshot = {
        "type": "METRICS_SNAPSHOT",
        "guildId": "815000000000000097",
        "timestamp": period + 60_000,
        "data": {
            "periodStart": period,
            "periodEnd": period + 60_000,
            "metrics": {"messages": {"total": 1_000_000, "byMember": members}},
        },
    }
    assert post(msgspec.json.encode([snapshot])).json()["accepted"] == 1
    for shard in range(8):
        drain_shard(shard)
    assert list(QuarantinedEvent.objects.values_list("error", flat=True)) == []
    daily = GuildDailyStats.objects.get(guild_id=815000000000000097)
    assert daily.messages == 2_200_000_000
    assert MemberDailyStats.objects.filter(guild_id=815000000000000097).count() == 2200
    fill_snapshots()
    bucket = MetricsSnapshot.objects.get(guild_id=815000000000000097, period_type="5min")
    assert bucket.total_messages == 2**31 - 1
