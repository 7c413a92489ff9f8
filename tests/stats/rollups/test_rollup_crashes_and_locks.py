"""Snapshots under failure and contention: a crash mid-range redone not doubled, a range
spread over helper connections (PostgreSQL) and redone whole, and one run at a time (an
advisory lock on PostgreSQL, a Redis or file lock elsewhere)."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from django.db import OperationalError

from stats.models import FillState, MetricsSnapshot
from stats.rollups import fill as rollups
from tests.stats.rollups.helpers import EXPECTED, EXPECTED_HOURLY, moment, states, table

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]


def test_a_crash_mid_range_is_redone_not_doubled(activity, guildstats_settings):
    guildstats_settings(ROLLUP_WORKERS=1)  # one range, one transaction (pieces: below)
    calls = {"n": 0}

    def crash_on_second(granularity, after, until, now, guild_ids):
        written = rollups.compute_snapshots(granularity, after, until, now, guild_ids)
        calls["n"] += 1
        if calls["n"] == 2:  # the second 5-minute range, written but not committed
            raise RuntimeError("worker killed")
        return written

    with pytest.raises(RuntimeError):
        rollups.fill_snapshots(moment(150), compute=crash_on_second)
    assert states() == {"5min": (moment(120), FillState.STARTED)}
    assert table() == {k: v for k, v in EXPECTED.items() if k < "11:00"}  # rolled back
    rollups.fill_snapshots(moment(150))
    assert table() == {k: v for k, v in EXPECTED.items() if k < "12:25"}
    assert table("hourly") == EXPECTED_HOURLY


def assert_filled_at_12_30() -> None:
    """The activity's whole fill at 12:30: 5-minute buckets to 12:25, hours to 12:00."""
    assert table() == {k: v for k, v in EXPECTED.items() if k < "12:25"}
    assert table("hourly") == EXPECTED_HOURLY
    assert states() == {
        "5min": (moment(145), FillState.DONE),
        "hourly": (moment(120), FillState.DONE),
        "daily": (moment(135), FillState.DONE),
    }


@pytest.mark.postgres
def test_postgresql_spreads_a_range_over_two_connections_and_redoes_it_whole_after_a_failure(
    activity,
):
    from django.db import connection

    pieces: list[tuple[str, datetime, datetime, int]] = []
    together = threading.Barrier(2, timeout=30)

    def fail_in_one_piece(granularity, after, until, now, guild_ids):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pieces.append((granularity.name, after, until, cursor.fetchone()[0]))
        if len(pieces) <= 2:
            together.wait()  # only if the first two pieces run at once
        if granularity.name == "5min" and after == moment(90):
            raise RuntimeError("worker killed")
        return rollups.compute_snapshots(granularity, after, until, now, guild_ids)

    with pytest.raises(RuntimeError, match="worker killed"):
        rollups.fill_snapshots(moment(150), compute=fail_in_one_piece)
    # each hour in quarters that two connections of their own take in turn (the failed piece
    # is tried again on the run's own connection, once the helpers are done)
    assert sorted({p[1:3] for p in pieces}) == [
        (moment(m), moment(m + 15)) for m in range(0, 120, 15)
    ]
    assert [p[1] for p in pieces].count(moment(90)) == 2
    assert len({p[3] for p in pieces[:2]}) == 2
    assert states() == {"5min": (moment(120), FillState.STARTED)}
    # the pieces that committed show early; the failed one has nothing
    failed = {"11:30", "11:35", "11:40"}
    assert table() == {k: v for k, v in EXPECTED.items() if k < "12:00" and k not in failed}
    rollups.fill_snapshots(moment(150))
    assert_filled_at_12_30()


@pytest.mark.postgres
def test_a_piece_a_helper_connection_fails_is_done_by_the_run_itself(activity):
    main = threading.current_thread()
    failed_on_helper: list[datetime] = []

    def helper_without_database(granularity, after, until, now, guild_ids):
        if threading.current_thread() is not main and not failed_on_helper:
            failed_on_helper.append(after)
            raise OperationalError("connection pool exhausted")
        return rollups.compute_snapshots(granularity, after, until, now, guild_ids)

    rollups.fill_snapshots(moment(150), compute=helper_without_database)
    assert len(failed_on_helper) == 1
    assert_filled_at_12_30()


@pytest.mark.postgres
def test_a_concurrent_run_is_excluded_by_the_lock(activity):
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [rollups.ROLLUP_LOCK])
        assert rollups.fill_snapshots(moment(150)) == {
            "5min": 0,
            "hourly": 0,
            "daily": 0,
            "stale": 0,
        }
        assert MetricsSnapshot.objects.count() == 0
    finally:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [rollups.ROLLUP_LOCK])
        other.close()
    assert rollups.fill_snapshots(moment(150))["5min"] == 29


def test_without_postgresql_a_concurrent_run_is_excluded_by_a_redis_or_file_lock():
    from django.db import connection

    from core.sql import session_lock

    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL uses an advisory lock (test_a_concurrent_run_is_excluded…)")
    with session_lock(rollups.ROLLUP_LOCK) as first, session_lock(rollups.ROLLUP_LOCK) as second:
        assert (first, second) == (True, False)
        assert rollups.fill_snapshots(moment(150)) == {
            "5min": 0,
            "hourly": 0,
            "daily": 0,
            "stale": 0,
        }
    with session_lock(rollups.ROLLUP_LOCK) as again:
        assert again
