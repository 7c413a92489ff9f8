"""Moving models between apps changes no table and no row (issue 23: the ledger to ``pipeline``,
opt-outs and the audit to ``privacy``, worker heartbeats to ``ops``).

A database is taken back to the last state before the move, filled there through the old
models (``stats.Event`` …) with a permission granted on one of them, and migrated to the head:
every table holds the same rows before and after, apart from the moved models' content types,
which now name their new app and keep their ids (so permissions follow).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("stats", "0019_voice_log_span")
MOVED = {
    "event": "pipeline",
    "ingestbatch": "pipeline",
    "quarantinedevent": "pipeline",
    "memberoptout": "privacy",
    "privacyaudit": "privacy",
    "workerheartbeat": "ops",
}
AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _migrate(targets: list[tuple[str, str | None]]) -> Any:
    """Migrate to ``targets``; the models as they stand there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def _every_table() -> dict[str, list[tuple[Any, ...]]]:
    tables = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if table == "django_migrations":
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            tables[table] = sorted(cursor.fetchall(), key=repr)
    return tables


def _fill(apps: Any) -> None:
    batch = apps.get_model("stats", "IngestBatch").objects.create(
        frame_id=uuid.UUID(int=7), shard=1, transport="http", received_at=AT, processed_at=AT
    )
    apps.get_model("stats", "Event").objects.create(
        batch_id=batch.pk,
        type="MESSAGE_CREATE",
        guild_id=100000000000000001,
        timestamp=AT,
        user_id=200000000000000002,
        channel_id=300000000000000003,
        data={"bot": False},
        client_event_id="m-1",
        dedupe_key="d" * 32,
    )
    apps.get_model("stats", "QuarantinedEvent").objects.create(
        event_id=9,
        batch_id=batch.pk,
        shard=1,
        type="VOICE_JOIN",
        guild_id=100000000000000001,
        timestamp=AT,
        error="boom",
        quarantined_at=AT,
        last_attempt_at=AT,
    )
    apps.get_model("stats", "WorkerHeartbeat").objects.create(name="celery@a", seen_at=AT)
    apps.get_model("stats", "MemberOptOut").objects.create(
        guild_id=100000000000000001, user_id=200000000000000004
    )
    apps.get_model("stats", "PrivacyAudit").objects.create(
        actor="admin",
        action="erase",
        guild_id=100000000000000001,
        user_id=200000000000000005,
        details={"events": 3},
    )
    content_types = apps.get_model("contenttypes", "ContentType").objects
    event_type, _ = content_types.get_or_create(app_label="stats", model="event")
    permission, _ = apps.get_model("auth", "Permission").objects.get_or_create(
        content_type=event_type, codename="view_event", defaults={"name": "Can view event"}
    )
    user = apps.get_model("auth", "User").objects.create(username="auditor")
    user.user_permissions.add(permission)


def test_moving_the_models_changes_no_table_and_keeps_permissions():
    executor = MigrationExecutor(connection)
    heads = executor.loader.graph.leaf_nodes()
    new_apps = {"pipeline", "privacy", "ops"}
    others = [node for node in heads if node[0] not in new_apps | {"stats"}]
    old = _migrate([BEFORE, *others, *((app, None) for app in sorted(new_apps))])
    try:
        _fill(old)
        before = _every_table()
    finally:
        _migrate(heads)
    after = _every_table()

    assert set(after) == set(before)  # no table created or dropped
    for table in before:
        if table != "django_content_type":
            assert after[table] == before[table], table
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, app_label, model FROM django_content_type")
        now = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
        cursor.execute(
            "SELECT ct.app_label, ct.model, p.codename FROM auth_user_user_permissions up "
            "JOIN auth_permission p ON p.id = up.permission_id "
            "JOIN django_content_type ct ON ct.id = p.content_type_id"
        )
        granted = cursor.fetchall()
    with connection.cursor() as cursor:
        columns = [
            c.name
            for c in connection.introspection.get_table_description(cursor, "django_content_type")
        ]
    id_at, app_at, model_at = (columns.index(c) for c in ("id", "app_label", "model"))
    expected = {}
    for row in before["django_content_type"]:
        app, model = row[app_at], row[model_at]
        moved = app == "stats" and model in MOVED
        expected[row[id_at]] = (MOVED[model] if moved else app, model)
    assert now == expected
    assert ("stats", "event") not in now.values()
    assert granted == [("pipeline", "event", "view_event")]
