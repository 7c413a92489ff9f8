"""Leave free space in counter pages so PostgreSQL can update rows in place (HOT updates).

Counter rows are updated far more often than inserted; when none of a row's indexed columns
change and its page has room, an update writes no index entries. SQLite has no such setting.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

COUNTER_TABLES = ("member_stats", "member_daily_stats", "channel_daily_stats", "voice_sessions")


def set_fillfactor(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in COUNTER_TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = 70)")


def reset_fillfactor(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in COUNTER_TABLES:
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("stats", "0001_initial")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
