"""A GiST index on each logged voice session's span, for the rollups' "sessions overlapping this
range" (``stats.rollups.engine_sql``). The btree on ``ended_at`` alone finds every session that
ends after the range's start and filters the rest: each piece of a catch-up or refill scanned
every later session (quadratic over a day or a month). ``greatest`` keeps the range valid for a
row whose end precedes its start. Built CONCURRENTLY (so this migration is not atomic): on a
month of logged sessions it takes minutes, during which processing keeps inserting. SQLite has
no such index: its reference engine reads the sessions through the ORM.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

SPAN = "tstzrange(started_at, greatest(started_at, ended_at), '[]')"


def create_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS voice_log_span "
        f"ON voice_session_log USING gist ({SPAN})"
    )


def drop_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS voice_log_span")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [("stats", "0018_events_dedupe_time_first")]

    operations = [migrations.RunPython(create_index, drop_index)]
